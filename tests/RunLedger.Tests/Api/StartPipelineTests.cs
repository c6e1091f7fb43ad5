using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

public sealed partial class StartPipelineTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    [GeneratedRegex("^RUN_[0-9]{8}_[0-9]{6}(_[0-9]{4})?$")]
    private static partial Regex RunIdFormat();

    [GeneratedRegex("^DOSS_[0-9]{8}_[0-9]{4}$")]
    private static partial Regex DossierIdFormat();

    [Fact]
    public async Task StartCreatesQueuedRunWithGeneratedIdsAndSendsTheJob()
    {
        var response = await Client.PostJsonAsync("/api/pipelines",
            """{"clientId":"CLT_ROGER_ACRES_001","triggeredBy":"Make.com","seedData":{"lead_url":"https://example.com/lead"},"config":{"tone":"warm"}}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var run = await response.JsonAsync();
        var runId = (string)run["runId"]!;
        Assert.Matches(RunIdFormat(), runId);
        Assert.Matches(DossierIdFormat(), (string)run["dossierId"]!);
        Assert.Equal("CLT_ROGER_ACRES_001", (string)run["projectId"]!);
        Assert.Equal("queued", (string)run["status"]!);
        Assert.Equal("make.com", (string)run["triggeredBy"]!);
        Assert.Equal("https://example.com/lead", (string)run["seedData"]!["lead_url"]!);
        Assert.Equal("warm", (string)run["configSnapshot"]!["tone"]!);
        Assert.Equal($"/api/projects/CLT_ROGER_ACRES_001/runs/{runId}", response.Headers.Location!.OriginalString);
        Assert.NotNull(response.Headers.ETag);

        var job = Assert.Single(await DrainJobsAsync("CLT_ROGER_ACRES_001"));
        Assert.Equal(runId, (string)job["runId"]!);
        Assert.Equal("CLT_ROGER_ACRES_001", (string)job["projectId"]!);
        Assert.Equal((string)run["dossierId"]!, (string)job["dossierId"]!);
        Assert.Equal("https://example.com/lead", (string)job["seedData"]!["lead_url"]!);
        Assert.Equal("warm", (string)job["config"]!["tone"]!);
    }

    [Fact]
    public async Task JobMessageIsBase64OnTheQueueAsTheFunctionsTriggerExpects()
    {
        await StartAsync($$"""{"projectId":"{{P}}"}""");
        var peeked = Assert.Single((await App.Raw(App.JobsQueue).PeekMessagesAsync(1)).Value);
        var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(peeked.MessageText));
        Assert.Equal($"{P}", (string)JsonNode.Parse(decoded)!["projectId"]!);
    }

    [Fact]
    public async Task RetryWithSameIdempotencyKeyReturnsTheFirstRunAndCreatesNothingNew()
    {
        var body = $$$"""{"projectId":"{{{P}}}","seedData":{"n":1}}""";
        var first = await StartAsync(body, idempotencyKey: "make-exec-42");
        var second = await StartAsync(body, idempotencyKey: "make-exec-42");

        Assert.Equal((string)first["runId"]!, (string)second["runId"]!);
        Assert.Equal((string)first["dossierId"]!, (string)second["dossierId"]!);
        Assert.Single(await DrainJobsAsync());
        var list = await (await Client.GetAsync($"/api/projects/{P}/runs")).JsonAsync();
        Assert.Single(list["items"]!.AsArray());
    }

    [Fact]
    public async Task SameIdempotencyKeyWithDifferentBodyIs422()
    {
        await StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{"n":1}}""", idempotencyKey: "k1");
        var response = await Client.PostJsonAsync("/api/pipelines", $$$"""{"projectId":"{{{P}}}","seedData":{"n":2}}""", "k1");
        Assert.Contains("Idempotency-Key", await response.AssertProblemAsync(422), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdempotencyKeyMatchesBodiesThatDifferOnlyInMemberOrder()
    {
        var first = await StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{"a":1,"b":2}}""", idempotencyKey: "k1");
        var second = await StartAsync($$"""{ "seedData": {"b":2, "a":1}, "projectId": "{{P}}" }""", idempotencyKey: "k1");
        Assert.Equal((string)first["runId"]!, (string)second["runId"]!);
    }

    [Fact]
    public async Task RetryResendsTheJobWhenTheFirstAttemptFailedAfterCreatingTheRun()
    {
        await Client.GetAsync("/api/health"); // start the app so it creates its queues
        await App.Jobs.DeleteAsync();          // the queue is gone: the job cannot be sent

        var failed = await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}"}""", "k-retry");
        var detail = await failed.AssertProblemAsync(500); // storage refused unexpectedly: not the client's fault
        Assert.DoesNotContain("QueueNotFound", detail, StringComparison.Ordinal);

        await App.Jobs.CreateIfNotExistsAsync();
        var run = await StartAsync($$"""{"projectId":"{{P}}"}""", "k-retry");
        var job = Assert.Single(await DrainJobsAsync());
        Assert.Equal((string)run["runId"]!, (string)job["runId"]!);

        // Once sent, a further retry sends nothing more.
        await StartAsync($$"""{"projectId":"{{P}}"}""", "k-retry");
        Assert.Empty(await DrainJobsAsync());
        var list = await (await Client.GetAsync($"/api/projects/{P}/runs")).JsonAsync();
        Assert.Single(list["items"]!.AsArray());
    }

    [Fact]
    public async Task SuppliedRunIdWithSameBodyReturnsTheExistingRun()
    {
        var body = $$$"""{"projectId":"{{{P}}}","runId":"RUN_20260115_181206","seedData":{"x":true}}""";
        var first = await StartAsync(body);
        var second = await StartAsync(body);
        Assert.Equal("RUN_20260115_181206", (string)second["runId"]!);
        Assert.Equal((string)first["createdAt"]!, (string)second["createdAt"]!);
        Assert.Single(await DrainJobsAsync());
    }

    [Fact]
    public async Task SuppliedRunIdWithDifferentBodyIs409AndLeavesTheRunAlone()
    {
        await StartAsync($$$"""{"projectId":"{{{P}}}","runId":"r1","seedData":{"x":1}}""");
        var response = await Client.PostJsonAsync("/api/pipelines", $$$"""{"projectId":"{{{P}}}","runId":"r1","seedData":{"x":2}}""");
        Assert.Contains("'r1'", await response.AssertProblemAsync(409), StringComparison.Ordinal);
        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/r1")).JsonAsync();
        Assert.Equal(1, (int)run["seedData"]!["x"]!);
    }

    [Fact]
    public async Task ConcurrentStartsInTheSameSecondGetDistinctRunIds()
    {
        var starts = Enumerable.Range(0, 20).Select(i => StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{"i":{{{i}}}}}"""));
        var runs = await Task.WhenAll(starts);

        var ids = runs.Select(r => (string)r["runId"]!).ToList();
        Assert.Equal(20, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches(RunIdFormat(), id));
        var seeds = new HashSet<int>();
        foreach (var id in ids)
        {
            var stored = await (await Client.GetAsync($"/api/projects/{P}/runs/{id}")).JsonAsync();
            seeds.Add((int)stored["seedData"]!["i"]!);
        }
        Assert.Equal(20, seeds.Count); // no run overwrote another
        Assert.Equal(20, (await DrainJobsAsync()).Count);
    }

    [Fact]
    public async Task ConfigSnapshotIsStoredConfigDeepMergedWithRequestConfigAndFrozen()
    {
        var put = await Client.PutAsync($"/api/projects/{P}/config", Json("""{"pipeline":{"finalAgent":"publisher","steps":["voice","music"]},"invoice":{"markupRate":0.2},"voice":{"voiceId":"rachel","speed":1}}"""));
        put.EnsureSuccessStatusCode();

        var run = await StartAsync($$$"""{"projectId":"{{{P}}}","config":{"voice":{"speed":1.2},"invoice":null}}""");
        var snapshot = run["configSnapshot"]!;
        Assert.Equal("publisher", (string)snapshot["pipeline"]!["finalAgent"]!);
        Assert.Equal("rachel", (string)snapshot["voice"]!["voiceId"]!);
        Assert.Equal(1.2m, (decimal)snapshot["voice"]!["speed"]!);
        Assert.Null(snapshot["invoice"]);

        (await Client.PutAsync($"/api/projects/{P}/config", Json("""{"pipeline":{"finalAgent":"video"}}"""))).EnsureSuccessStatusCode();
        var again = await (await Client.GetAsync($"/api/projects/{P}/runs/{run["runId"]}")).JsonAsync();
        Assert.Equal("publisher", (string)again["configSnapshot"]!["pipeline"]!["finalAgent"]!);
        var config = await (await Client.GetAsync($"/api/projects/{P}/config")).JsonAsync();
        Assert.Equal("video", (string)config["pipeline"]!["finalAgent"]!);
    }

    [Theory]
    [InlineData("""{"invoice":{"markupRate":"20%"}}""", "'invoice.markupRate' must be a number from 0 to 10")]
    [InlineData("""{"invoice":{"markupRate":10.01}}""", "'invoice.markupRate' must be a number from 0 to 10")]
    [InlineData("""{"invoice":0.2}""", "'invoice' must be a JSON object")]
    public async Task InvalidConfigIs400AndNotStored(string config, string detail)
    {
        var response = await Client.PutAsync($"/api/projects/{P}/config", Json(config));
        Assert.Contains(detail, await response.AssertProblemAsync(400), StringComparison.Ordinal);
        await (await Client.GetAsync($"/api/projects/{P}/config")).AssertProblemAsync(404);
    }

    [Fact]
    public async Task ConfigOfAProjectWithoutOneIs404()
    {
        await (await Client.GetAsync("/api/projects/p-none/config")).AssertProblemAsync(404);
    }

    [Theory]
    [InlineData("""{"seedData":{}}""", "'projectId' is required")]
    [InlineData("""{"projectId":"has space"}""", "'projectId' may contain only")]
    [InlineData("""{"projectId":"o'brien"}""", "'projectId' may contain only")]
    [InlineData("""{"projectId":"p1","runId":"a/b"}""", "'runId' may contain only")]
    [InlineData("""{"projectId":"p1","runId":"latest"}""", "reserved")]
    [InlineData("""{"projectId":"p1","clientId":"p2"}""", "differ")]
    [InlineData("""{"projectId":"p1","triggeredBy":"zapier"}""", "'triggeredBy' must be one of make.com, api, manual")]
    [InlineData("""{"projectId":"p1","seedData":"text"}""", "'seedData' must be a JSON object")]
    [InlineData("""{"projectId":42}""", "'projectId' must be a string")]
    [InlineData("""{"projectId":"p1","config":{"invoice":{"markupRate":"lots"}}}""", "'config.invoice.markupRate' must be a number from 0 to 10")]
    [InlineData("""{"projectId":"p1","config":{"invoice":{"markupRate":-0.1}}}""", "'config.invoice.markupRate' must be a number from 0 to 10")]
    [InlineData("""{"projectId":"p1","config":{"invoice":{"markupRate":1e20}}}""", "'config.invoice.markupRate' must be a number from 0 to 10")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    [InlineData("""{"projectId":""", "not valid JSON")]
    public async Task InvalidStartIs400WithAPreciseDetailAndWritesNothing(string body, string detail)
    {
        var response = await Client.PostJsonAsync("/api/pipelines", body);
        Assert.Contains(detail, await response.AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Empty(await DrainJobsAsync());
    }

    [Fact]
    public async Task ProjectIdLongerThan128CharactersIs400()
    {
        var response = await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{new string('a', 129)}}"}""");
        Assert.Contains("longer than 128", await response.AssertProblemAsync(400), StringComparison.Ordinal);
        var ok = await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{new string('a', 128)}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
    }

    [Fact]
    public async Task BodyOver1MiBIs413()
    {
        var response = await Client.PostJsonAsync("/api/pipelines", $$$"""{"projectId":"{{{P}}}","seedData":{"blob":"{{{new string('x', 1024 * 1024)}}}"}}""");
        await response.AssertProblemAsync(413);
    }

    [Fact]
    public async Task SeedDataOf256KiBRoundTripsIntactAndTheJobPointsAtTheRun()
    {
        var blob = string.Concat(Enumerable.Range(0, 256 * 1024 / 8).Select(i => i.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)));
        var run = await StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{"transcript":"{{{blob}}}","unicode":"ünïcødé 日本 🎬"}}""");

        var stored = await (await Client.GetAsync($"/api/projects/{P}/runs/{run["runId"]}")).JsonAsync();
        Assert.Equal(blob, (string)stored["seedData"]!["transcript"]!);
        Assert.Equal("ünïcødé 日本 🎬", (string)stored["seedData"]!["unicode"]!);

        // Too big for a queue message: the job carries the ids and agents read the run.
        var job = Assert.Single(await DrainJobsAsync());
        Assert.True((bool)job["payloadOmitted"]!);
        Assert.Null(job["seedData"]);
        Assert.Equal($"/api/projects/{P}/runs/{run["runId"]}", (string)job["statusUrl"]!);
    }

    [Fact]
    public async Task RunBeyondTheEntityLimitIs413AndNothingIsWritten()
    {
        var half = new string('c', 600 * 1024);
        (await Client.PutAsync($"/api/projects/{P}/config", Json($$"""{"notes":"{{half}}"}"""))).EnsureSuccessStatusCode();

        var response = await Client.PostJsonAsync("/api/pipelines", $$$"""{"projectId":"{{{P}}}","seedData":{"notes":"{{{half}}}"}}""");
        await response.AssertProblemAsync(413);
        var list = await (await Client.GetAsync($"/api/projects/{P}/runs")).JsonAsync();
        Assert.Empty(list["items"]!.AsArray());
        Assert.Empty(await DrainJobsAsync());
    }

    [Fact]
    public async Task NonJsonContentTypeIs415()
    {
        var response = await Client.PostAsync("/api/pipelines", new StringContent($"projectId={P}", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        await response.AssertProblemAsync(415);
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
