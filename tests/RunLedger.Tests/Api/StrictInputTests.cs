using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Api;

/// <summary>
/// Input an outside probe found to cause 500s or to be stored and break reads later: duplicate
/// member names, unpaired surrogates, deep nesting, ids with a trailing newline. Each is a 400
/// problem+json that names the fault, and nothing is written.
/// </summary>
public sealed class StrictInputTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    private static string Nested(int depth) =>
        string.Concat(Enumerable.Repeat("""{"a":""", depth - 1)) + "1" + new string('}', depth - 1);

    private async Task<(string RunId, string Before)> RunAsync()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        return (runId, await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}"));
    }

    private async Task AssertUnchangedAsync(string runId, string before) =>
        Assert.Equal(before, await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}"));

    [Theory]
    [InlineData("""{"message":"a","message":"b"}""", "not valid JSON")]
    [InlineData("""{"voice":{"id":1,"id":2}}""", "not valid JSON")]
    [InlineData("""{"message":"\uD800"}""", "unpaired UTF-16 surrogate")]
    [InlineData("""{"custom":{"\uDC00":1}}""", "unpaired UTF-16 surrogate")]
    public async Task AnAmbiguousOrUnencodablePatchIs400AndChangesNothing(string patch, string detail)
    {
        var (runId, before) = await RunAsync();

        var response = await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", patch);

        Assert.Contains(detail, await response.AssertProblemAsync(400), StringComparison.Ordinal);
        await AssertUnchangedAsync(runId, before);
    }

    [Fact]
    public async Task DuplicateMembersAndUnpairedSurrogatesAre400OnEveryJsonEndpoint()
    {
        var (runId, before) = await RunAsync();
        string[] bodies = [$$"""{"projectId":"{{P}}","projectId":"{{P}}"}""", $$"""{"projectId":"{{P}}","triggeredBy":"\uD800"}"""];

        foreach (var body in bodies)
        {
            await (await Client.PostJsonAsync("/api/pipelines", body)).AssertProblemAsync(400);
            await (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", body.Replace("triggeredBy", "agent", StringComparison.Ordinal))).AssertProblemAsync(400);
            var put = new HttpRequestMessage(HttpMethod.Put, $"/api/projects/{P}/config") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            await (await Client.SendAsync(put)).AssertProblemAsync(400);
        }

        await AssertUnchangedAsync(runId, before);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/api/projects/{P}/config")).StatusCode);
        var list = await (await Client.GetAsync($"/api/projects/{P}/runs")).JsonAsync();
        Assert.Single(list["items"]!.AsArray());
    }

    [Fact]
    public async Task NestingBeyondTheLimitIs400AndNestingWithinItStaysReadableEverywhere()
    {
        var (runId, before) = await RunAsync();

        var tooDeep = await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", $$"""{"custom":{{Nested(Http.JsonInput.MaxDepth)}}}""");
        Assert.Contains("nested deeper than", await tooDeep.AssertProblemAsync(400), StringComparison.Ordinal);
        await AssertUnchangedAsync(runId, before);

        (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", $$"""{"custom":{{Nested(Http.JsonInput.MaxDepth - 1)}}}""")).EnsureSuccessStatusCode();
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress",
            $$$"""{"agent":"voice","metadata":{"deep":{{{Nested(Http.JsonInput.MaxDepth - 2)}}}},"usage":{"model":"gpt-4o","inputTokens":1}}""")).EnsureSuccessStatusCode();
        foreach (var url in new[] { $"/api/projects/{P}/runs", $"/api/projects/{P}/runs/{runId}", $"/api/projects/{P}/runs/latest",
                                    $"/api/projects/{P}/runs/{runId}/events", $"/api/projects/{P}/runs/{runId}/costs" })
        {
            Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync(url)).StatusCode);
        }
    }

    [Theory]
    [InlineData("/api/projects/p1/runs/R%0A", "'runId' may contain only")]
    [InlineData("/api/projects/FZ%0A/config", "'projectId' may contain only")]
    [InlineData("/api/projects/FZ%0A/runs", "'projectId' may contain only")]
    public async Task AnIdWithATrailingNewlineInTheUrlIs400(string url, string detail)
    {
        Assert.Contains(detail, await (await Client.GetAsync(url)).AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("runId", "'runId' may contain only")]
    [InlineData("dossierId", "'dossierId' may contain only")]
    public async Task AnIdWithATrailingNewlineInAStartIs400AndCreatesNothing(string field, string detail)
    {
        var response = await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}","{{field}}":"R1\n"}""");

        Assert.Contains(detail, await response.AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Empty((await (await Client.GetAsync($"/api/projects/{P}/runs")).JsonAsync())["items"]!.AsArray());
    }

    [Fact]
    public async Task AnAgentWithATrailingNewlineIs400AndAppliesNothing()
    {
        var (runId, before) = await RunAsync();

        var response = await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", """{"agent":"voice\n","message":"x"}""");

        Assert.Contains("'agent' may contain only", await response.AssertProblemAsync(400), StringComparison.Ordinal);
        await AssertUnchangedAsync(runId, before);
    }

    [Fact]
    public async Task AChangeThatWouldMakeTheRunTooLargeForOneEntityIs413NamingTheLimitAndChangesNothing()
    {
        var (runId, before) = await RunAsync();
        var message = new string('m', 800_000);

        var response = await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", $$"""{"message":"{{message}}"}""");

        var detail = await response.AssertProblemAsync(413);
        Assert.Contains($"{Ledger.DocumentColumns.MaxEncodedBytes:N0}", detail, StringComparison.Ordinal);
        await AssertUnchangedAsync(runId, before);
    }

    [Fact]
    public async Task ARunJustUnderTheEntityLimitIsStoredAndReadBack()
    {
        // The largest seed data the limit allows, less room for the rest of the run.
        var seed = new string('s', Ledger.DocumentColumns.MaxJsonBytes - 4_000);

        var started = await StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{"notes":"{{{seed}}}"}}""");

        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{(string)started["runId"]!}")).JsonAsync();
        Assert.Equal(seed.Length, ((string)run["seedData"]!["notes"]!).Length);
    }
}
