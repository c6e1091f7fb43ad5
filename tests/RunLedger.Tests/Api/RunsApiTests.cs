using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

public sealed class RunsApiTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    private async Task<string> NewRunAsync(string? projectId = null, string? runId = null)
    {
        var body = new JsonObject { ["projectId"] = projectId ?? P };
        if (runId is not null) body["runId"] = runId;
        return (string)(await StartAsync(body.ToJsonString()))["runId"]!;
    }

    [Fact]
    public async Task GetReturnsTheRunWithAnETag()
    {
        var runId = await NewRunAsync();
        var response = await Client.GetAsync($"/api/projects/{P}/runs/{runId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(response.Headers.ETag);
        Assert.Equal(runId, (string)(await response.JsonAsync())["runId"]!);
    }

    [Fact]
    public async Task GetOfAMissingRunIs404ProblemNamingIt()
    {
        var detail = await (await Client.GetAsync($"/api/projects/{P}/runs/RUN_nope")).AssertProblemAsync(404);
        Assert.Contains("'RUN_nope'", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/projects/bad%27id/runs/r1", "'projectId' may contain only")]
    [InlineData("/api/projects/p1/runs/r%20un", "'runId' may contain only")]
    [InlineData("/api/projects/p1/runs/%C3%BC", "'runId' may contain only")]
    public async Task InvalidKeysInTheUrlAre400BeforeTouchingStorage(string url, string detail)
    {
        Assert.Contains(detail, await (await Client.GetAsync(url)).AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Contains(detail, await (await Client.PatchJsonAsync(url, "{}")).AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PatchDeepMergesNestedMetadataAndReplacesScalars()
    {
        var runId = await NewRunAsync();
        var url = $"/api/projects/{P}/runs/{runId}";
        (await Client.PatchJsonAsync(url, """{"status":"running","step":"voice","message":"Generating narration...","voice":{"voiceId":"rachel","characters":1500}}""")).EnsureSuccessStatusCode();
        var response = await Client.PatchJsonAsync(url, """{"step":"music","voice":{"costCents":45},"music":{"bpm":120},"custom":{"a":{"b":1}}}""");
        response.EnsureSuccessStatusCode();
        (await Client.PatchJsonAsync(url, """{"custom":{"a":{"c":2}}}""")).EnsureSuccessStatusCode();

        var run = await (await Client.GetAsync(url)).JsonAsync();
        Assert.Equal("music", (string)run["step"]!);
        Assert.Equal("Generating narration...", (string)run["message"]!);
        Assert.Equal("rachel", (string)run["voice"]!["voiceId"]!);
        Assert.Equal(1500, (int)run["voice"]!["characters"]!);
        Assert.Equal(45, (int)run["voice"]!["costCents"]!);
        Assert.Equal(120, (int)run["music"]!["bpm"]!);
        Assert.Equal(1, (int)run["custom"]!["a"]!["b"]!);
        Assert.Equal(2, (int)run["custom"]!["a"]!["c"]!);
    }

    [Fact]
    public async Task PatchStampsUpdatedAtAndTheTransitionTimes()
    {
        var runId = await NewRunAsync();
        var url = $"/api/projects/{P}/runs/{runId}";
        var created = await (await Client.GetAsync(url)).JsonAsync();
        Assert.Null(created["startedAt"]);

        var running = await (await Client.PatchJsonAsync(url, """{"status":"running"}""")).JsonAsync();
        Assert.NotNull(running["startedAt"]);
        Assert.Null(running["completedAt"]);
        Assert.True(string.CompareOrdinal((string)running["updatedAt"]!, (string)created["updatedAt"]!) >= 0);

        var done = await (await Client.PatchJsonAsync(url, """{"status":"Complete"}""")).JsonAsync();
        Assert.Equal("completed", (string)done["status"]!);
        Assert.Equal((string)running["startedAt"]!, (string)done["startedAt"]!);
        Assert.NotNull(done["completedAt"]);
    }

    [Theory]
    [InlineData("pending", "queued")]
    [InlineData("RUNNING", "running")]
    [InlineData("done", "completed")]
    [InlineData("Succeeded", "completed")]
    [InlineData("error", "failed")]
    public async Task StatusAliasesAreStoredCanonically(string alias, string canonical)
    {
        var runId = await NewRunAsync();
        var run = await (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", $$"""{"status":"{{alias}}"}""")).JsonAsync();
        Assert.Equal(canonical, (string)run["status"]!);
    }

    [Theory]
    [InlineData("""{"status":"paused"}""", "'status' must be queued, running, completed, failed or cancelled")]
    [InlineData("""{"status":null}""", "'status' must be")]
    [InlineData("""{"progress":101}""", "'progress' must be a number from 0 to 100")]
    [InlineData("""{"progress":"45"}""", "'progress' must be a number")]
    [InlineData("""{"runId":"other"}""", "'runId' is set by the ledger")]
    [InlineData("""{"totalCost":1}""", "'totalCost' is set by the ledger")]
    [InlineData("""{"voice":{"characters":"many"}}""", "'voice.characters' must be number")]
    [InlineData("""{"music":"loud"}""", "'music' must be a JSON object")]
    [InlineData("""{"videoUrl":5}""", "'videoUrl' must be a string")]
    public async Task InvalidPatchIs400AndChangesNothing(string patch, string detail)
    {
        var runId = await NewRunAsync();
        var url = $"/api/projects/{P}/runs/{runId}";
        var before = await (await Client.GetAsync(url)).Content.ReadAsStringAsync();
        Assert.Contains(detail, await (await Client.PatchJsonAsync(url, patch)).AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Equal(before, await (await Client.GetAsync(url)).Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("running", "queued")]
    [InlineData("completed", "running")]
    [InlineData("completed", "failed")]
    [InlineData("failed", "completed")]
    [InlineData("failed", "queued")]
    [InlineData("cancelled", "completed")]
    public async Task BackwardsOrPastTerminalStatusIs409(string reached, string attempted)
    {
        var runId = await NewRunAsync();
        var url = $"/api/projects/{P}/runs/{runId}";
        (await Client.PatchJsonAsync(url, $$"""{"status":"{{reached}}"}""")).EnsureSuccessStatusCode();
        var detail = await (await Client.PatchJsonAsync(url, $$"""{"status":"{{attempted}}","message":"late"}""")).AssertProblemAsync(409);
        Assert.Contains($"'{reached}'", detail, StringComparison.Ordinal);
        var run = await (await Client.GetAsync(url)).JsonAsync();
        Assert.Equal(reached, (string)run["status"]!);
        Assert.NotEqual("late", (string?)run["message"]);
    }

    [Fact]
    public async Task PatchWithStaleIfMatchIs412AndCurrentIfMatchSucceeds()
    {
        var runId = await NewRunAsync();
        var url = $"/api/projects/{P}/runs/{runId}";
        var etag = (await Client.GetAsync(url)).Headers.ETag!.ToString();

        var first = await Client.PatchJsonAsync(url, """{"step":"voice"}""", etag);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var newEtag = first.Headers.ETag!.ToString();
        Assert.NotEqual(etag, newEtag);

        await (await Client.PatchJsonAsync(url, """{"step":"music"}""", etag)).AssertProblemAsync(412);
        Assert.Equal(HttpStatusCode.OK, (await Client.PatchJsonAsync(url, """{"step":"music"}""", newEtag)).StatusCode);
    }

    [Fact]
    public async Task ConcurrentPatchesWithoutIfMatchLoseNoUpdate()
    {
        var runId = await NewRunAsync();
        var url = $"/api/projects/{P}/runs/{runId}";
        var patches = Enumerable.Range(0, 12).Select(i => Client.PatchJsonAsync(url, $$$"""{"agents":{"a{{{i}}}":{{{i}}}}}"""));
        foreach (var response in await Task.WhenAll(patches)) response.EnsureSuccessStatusCode();

        var agents = (await (await Client.GetAsync(url)).JsonAsync())["agents"]!.AsObject();
        Assert.Equal(12, agents.Count);
    }

    [Fact]
    public async Task PatchOfAMissingRunIs404()
    {
        await (await Client.PatchJsonAsync($"/api/projects/{P}/runs/RUN_missing", """{"step":"x"}""")).AssertProblemAsync(404);
    }

    [Fact]
    public async Task ListIsNewestFirstAndPagesWithContinuationTokens()
    {
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add(await NewRunAsync(runId: $"r{i}"));
            await Task.Delay(5); // distinct creation times
        }
        ids.Reverse();

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var url = $"/api/projects/{P}/runs?limit=3" + (token is null ? "" : $"&continuationToken={Uri.EscapeDataString(token)}");
            var page = await (await Client.GetAsync(url)).JsonAsync();
            seen.AddRange(page["items"]!.AsArray().Select(r => (string)r!["runId"]!));
            token = (string?)page["continuationToken"];
            pages++;
        }
        while (token is not null);

        Assert.Equal(ids, seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task ListShowsOnlyTheSummaryFieldsButGetHasEverything()
    {
        await StartAsync($$$"""{"projectId":"{{{P}}}","runId":"r1","seedData":{"big":"x"},"config":{"c":1}}""");
        (await Client.PatchJsonAsync($"/api/projects/{P}/runs/r1",
            """{"status":"running","step":"voice","progress":40,"voice":{"voiceId":"rachel"},"artifacts":{"a":"x.mp3"}}""")).EnsureSuccessStatusCode();

        var item = (await (await Client.GetAsync($"/api/projects/{P}/runs")).JsonAsync())["items"]![0]!.AsObject();
        var full = await (await Client.GetAsync($"/api/projects/{P}/runs/r1")).JsonAsync();

        Assert.Equal("r1", (string)item["runId"]!);
        Assert.Equal("running", (string)item["status"]!);
        Assert.Equal("voice", (string)item["step"]!);
        Assert.Equal(40, (int)item["progress"]!);
        Assert.All(item, field => Assert.Contains(field.Key, RunLedger.Runs.RunStore.IndexFields));
        Assert.Null(item["seedData"]);
        Assert.Null(item["configSnapshot"]);
        Assert.Null(item["voice"]);
        Assert.Equal("x", (string)full["seedData"]!["big"]!);
        Assert.Equal("rachel", (string)full["voice"]!["voiceId"]!);
    }

    [Fact]
    public async Task ListFiltersByStatusAndOnlyShowsTheProject()
    {
        await NewRunAsync(runId: "a");
        await NewRunAsync(runId: "b");
        await NewRunAsync(runId: "c");
        await NewRunAsync(projectId: "other", runId: "d");
        (await Client.PatchJsonAsync($"/api/projects/{P}/runs/b", """{"status":"running"}""")).EnsureSuccessStatusCode();

        var running = await (await Client.GetAsync($"/api/projects/{P}/runs?status=running")).JsonAsync();
        Assert.Equal(["b"], running["items"]!.AsArray().Select(r => (string)r!["runId"]!));
        var queued = await (await Client.GetAsync($"/api/projects/{P}/runs?status=PENDING")).JsonAsync();
        Assert.Equal(["c", "a"], queued["items"]!.AsArray().Select(r => (string)r!["runId"]!));
    }

    [Theory]
    [InlineData("limit=0", "'limit' must be from 1 to 100")]
    [InlineData("limit=101", "'limit' must be from 1 to 100")]
    [InlineData("limit=ten", "'limit' must be from 1 to 100")]
    [InlineData("status=paused", "'status' must be")]
    [InlineData("continuationToken=bm90LW91cnM", "'continuationToken' is not one this service issued")]
    public async Task BadListParametersAre400(string query, string detail)
    {
        Assert.Contains(detail, await (await Client.GetAsync($"/api/projects/{P}/runs?{query}")).AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LatestIsTheMostRecentRun()
    {
        await NewRunAsync(runId: "older");
        await Task.Delay(5);
        await NewRunAsync(runId: "newer");
        var response = await Client.GetAsync($"/api/projects/{P}/runs/latest");
        Assert.NotNull(response.Headers.ETag);
        var latest = await response.JsonAsync();
        Assert.Equal("newer", (string)latest["runId"]!);
        Assert.NotNull(latest["seedData"]);
    }

    [Fact]
    public async Task LatestOfAProjectWithoutRunsIs404()
    {
        await (await Client.GetAsync("/api/projects/empty/runs/latest")).AssertProblemAsync(404);
    }

    [Fact]
    public async Task AFinalRunChangesNoMoreByPatchButARetryOfTheFinishingPatchIsAnsweredAsBefore()
    {
        var runId = await NewRunAsync();
        var url = $"/api/projects/{P}/runs/{runId}";
        const string finish = """{"status":"completed","step":"done","message":"Published","progress":100}""";
        var finished = await Client.PatchJsonAsync(url, finish);
        finished.EnsureSuccessStatusCode();
        var final = await (await Client.GetAsync(url)).Content.ReadAsStringAsync();

        var retry = await Client.PatchJsonAsync(url, finish);
        var change = await Client.PatchJsonAsync(url, """{"message":"changed after the end","progress":50}""");

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Contains("final", await change.AssertProblemAsync(409), StringComparison.Ordinal);
        Assert.Equal(final, await (await Client.GetAsync(url)).Content.ReadAsStringAsync());
    }
}
