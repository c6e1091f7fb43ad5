using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>How reports change runs, through the HTTP endpoint (the same handler as the queue).</summary>
public sealed class ProgressReportTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    private async Task<string> NewRunAsync(string config = "{}")
    {
        var run = await StartAsync($$"""{"projectId":"{{P}}","config":{{config}}}""");
        return (string)run["runId"]!;
    }

    private async Task<HttpResponseMessage> ReportAsync(string runId, string json) =>
        await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", json);

    private async Task<JsonObject> RunAsync(string runId) =>
        await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();

    [Fact]
    public async Task FirstReportMovesQueuedToRunningAndUpdatesStepMessageProgressArtifactsAndMetadata()
    {
        var runId = await NewRunAsync();
        var at = Runs.RunRules.Timestamp(DateTimeOffset.UtcNow.AddSeconds(-20)); // the agent's clock, a little behind
        var response = await ReportAsync(runId, $$$"""
            {"agent":"voice","status":"running","message":"Generating narration...","progress":45,
             "artifacts":{"narrationKey":"audio/n.mp3","stems":"audio/stems.zip"},
             "metadata":{"voice":{"voiceId":"rachel","characters":1500}},
             "usage":{"model":"eleven_multilingual_v2","characters":1500},"timestamp":"{{{at}}}"}
            """);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, (int)(await response.JsonAsync())["seq"]!);

        var run = await RunAsync(runId);
        Assert.Equal("running", (string)run["status"]!);
        Assert.Equal("voice", (string)run["step"]!);
        Assert.Equal("Generating narration...", (string)run["message"]!);
        Assert.Equal(45, (int)run["progress"]!);
        Assert.Equal("audio/n.mp3", (string)run["narrationKey"]!);
        Assert.Equal("audio/stems.zip", (string)run["artifacts"]!["stems"]!);
        Assert.Equal("rachel", (string)run["voice"]!["voiceId"]!);
        Assert.Equal(at, (string)run["startedAt"]!);
    }

    [Fact]
    public async Task APatchedFieldIsKeptWhicheverOrderALateReportAndTheCompletionArriveIn()
    {
        // Issue 18, 3, through the host: a report dated after the completion (a) is undone when the
        // completion (b) arrives after it; what the PATCH set in the same field stays, as when b comes first.
        var voices = new List<string>();
        foreach (var lateFirst in new[] { true, false })
        {
            var runId = await NewRunAsync();
            var created = DateTimeOffset.Parse((string)(await RunAsync(runId))["createdAt"]!, System.Globalization.CultureInfo.InvariantCulture);
            (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", """{"voice":{"store":"s3"}}""")).EnsureSuccessStatusCode();
            var a = $$$"""{"agent":"voice","metadata":{"voice":{"voiceId":"x"}},"timestamp":"{{{Runs.RunRules.Timestamp(created.AddSeconds(120))}}}"}""";
            var b = $$"""{"agent":"publisher","status":"completed","timestamp":"{{Runs.RunRules.Timestamp(created.AddSeconds(60))}}"}""";
            foreach (var report in lateFirst ? new[] { a, b } : [b, a]) (await ReportAsync(runId, report)).EnsureSuccessStatusCode();

            var run = await RunAsync(runId);
            Assert.Equal("completed", (string)run["status"]!);
            voices.Add(run["voice"]?.ToJsonString() ?? "null");
        }
        Assert.Equal(["""{"store":"s3"}""", """{"store":"s3"}"""], voices);
    }

    [Fact]
    public async Task MetadataFromSeveralReportsIsDeepMerged()
    {
        var runId = await NewRunAsync();
        (await ReportAsync(runId, """{"agent":"voice","metadata":{"voice":{"voiceId":"rachel"}},"timestamp":"2026-01-15T18:00:00Z"}""")).EnsureSuccessStatusCode();
        (await ReportAsync(runId, """{"agent":"voice","metadata":{"voice":{"characters":1500}},"timestamp":"2026-01-15T18:00:01Z"}""")).EnsureSuccessStatusCode();
        var voice = (await RunAsync(runId))["voice"]!;
        Assert.Equal("rachel", (string)voice["voiceId"]!);
        Assert.Equal(1500, (int)voice["characters"]!);
    }

    [Fact]
    public async Task FinalAgentCompletingCompletesTheRun()
    {
        var runId = await NewRunAsync();
        (await ReportAsync(runId, """{"agent":"voice","status":"completed"}""")).EnsureSuccessStatusCode();
        Assert.Equal("running", (string)(await RunAsync(runId))["status"]!);
        (await ReportAsync(runId, """{"agent":"publisher","status":"completed","artifacts":{"videoUrl":"https://cdn/v.mp4"}}""")).EnsureSuccessStatusCode();
        var run = await RunAsync(runId);
        Assert.Equal("completed", (string)run["status"]!);
        Assert.Equal("https://cdn/v.mp4", (string)run["videoUrl"]!);
        Assert.NotNull(run["completedAt"]);
    }

    [Fact]
    public async Task FinalAgentComesFromTheConfigSnapshot()
    {
        var runId = await NewRunAsync("""{"pipeline":{"finalAgent":"dossier-assembler"}}""");
        (await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""")).EnsureSuccessStatusCode();
        Assert.Equal("running", (string)(await RunAsync(runId))["status"]!);
        (await ReportAsync(runId, """{"agent":"dossier-assembler","status":"completed"}""")).EnsureSuccessStatusCode();
        Assert.Equal("completed", (string)(await RunAsync(runId))["status"]!);
    }

    [Fact]
    public async Task RunStatusCompletedCompletesTheRunFromAnyAgent()
    {
        var runId = await NewRunAsync();
        (await ReportAsync(runId, """{"agent":"video","status":"completed","runStatus":"done"}""")).EnsureSuccessStatusCode();
        Assert.Equal("completed", (string)(await RunAsync(runId))["status"]!);
    }

    [Fact]
    public async Task AnAgentFailingFailsTheRunWithItsError()
    {
        var runId = await NewRunAsync();
        (await ReportAsync(runId, """{"agent":"music","status":"failed","error":"Suno quota exceeded"}""")).EnsureSuccessStatusCode();
        var run = await RunAsync(runId);
        Assert.Equal("failed", (string)run["status"]!);
        Assert.Equal("Suno quota exceeded", (string)run["error"]!);
        Assert.Equal("music", (string)run["step"]!);
    }

    [Fact]
    public async Task LateRunningReportAfterCompletionIsKeptInHistoryButChangesNothingElse()
    {
        var runId = await NewRunAsync();
        (await ReportAsync(runId, """{"agent":"publisher","status":"completed","message":"Published"}""")).EnsureSuccessStatusCode();
        var completed = await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}");

        (await ReportAsync(runId, """{"agent":"voice","status":"running","message":"late","progress":10}""")).EnsureSuccessStatusCode();

        Assert.Equal(completed, await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}"));
        var events = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events")).JsonAsync();
        Assert.Equal(["publisher", "voice"], events["items"]!.AsArray().Select(e => (string)e!["agent"]!));
    }

    [Fact]
    public async Task TheSameEventIdTwiceIsAppliedOnce()
    {
        var runId = await NewRunAsync();
        const string report = """{"eventId":"evt-1","agent":"voice","progress":10}""";
        Assert.Equal(HttpStatusCode.Accepted, (await ReportAsync(runId, report)).StatusCode);
        var again = await ReportAsync(runId, report);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((bool)(await again.JsonAsync())["duplicate"]!);
        var events = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events")).JsonAsync();
        Assert.Single(events["items"]!.AsArray());
    }

    [Fact]
    public async Task ReportForAMissingRunIs404()
    {
        await (await ReportAsync("RUN_missing", """{"agent":"voice"}""")).AssertProblemAsync(404);
    }

    [Theory]
    [InlineData("""{"agent":"voice","status":"paused"}""", "'status' must be")]
    [InlineData("""{"agent":"voice","progress":"half"}""", "'progress' must be a number")]
    [InlineData("""{"agent":"vo ice"}""", "'agent' may contain only")]
    [InlineData("""{"agent":"voice","usage":{"inputTokens":-1}}""", "'usage.inputTokens' must be a number of at least 0")]
    [InlineData("""{"agent":"voice","artifacts":{"videoUrl":3}}""", "'artifacts.videoUrl' must be a string")]
    [InlineData("""{"agent":"voice","metadata":{"voice":"rachel"}}""", "'metadata.voice' must be a JSON object")]
    [InlineData("""{"agent":"voice","metadata":{"totalCost":{"x":1}}}""", "'metadata.totalCost' is set by the ledger")]
    [InlineData("""{"agent":"voice","timestamp":"yesterday"}""", "'timestamp' must be an ISO 8601")]
    [InlineData("""{"agent":"voice","runId":"other"}""", "differs from the URL")]
    [InlineData("""{"agent":"voice","clientId":"someone-else"}""", "'projectId' and its alias 'clientId' are both given and differ")]
    public async Task InvalidReportIs400AndLeavesTheRunUntouched(string report, string detail)
    {
        var runId = await NewRunAsync();
        var before = await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}");
        Assert.Contains(detail, await (await ReportAsync(runId, report)).AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Equal(before, await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}"));
    }

    [Fact]
    public async Task TwentyConcurrentAgentsReportingOnOneRunLoseNothing()
    {
        var runId = await NewRunAsync();
        var reports = Enumerable.Range(0, 20).Select(i =>
            ReportAsync(runId, $$$$"""{"eventId":"e{{{{i}}}}","agent":"agent{{{{i}}}}","metadata":{"agents":{"a{{{{i}}}}":{{{{i}}}}}}}"""));
        foreach (var response in await Task.WhenAll(reports)) Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var run = await RunAsync(runId);
        Assert.Equal(20, run["agents"]!.AsObject().Count);
        var events = (await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();
        Assert.Equal(Enumerable.Range(1, 20), events.Select(e => (int)e!["seq"]!));
        Assert.Equal(20, events.Select(e => (string)e!["eventId"]!).Distinct().Count());
    }

    [Fact]
    public async Task EventsListPagesWithAfter()
    {
        var runId = await NewRunAsync();
        for (var i = 0; i < 5; i++) (await ReportAsync(runId, $$"""{"agent":"voice","progress":{{i * 10}}}""")).EnsureSuccessStatusCode();
        var page = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events?limit=2&after=2")).JsonAsync();
        Assert.Equal([3, 4], page["items"]!.AsArray().Select(e => (int)e!["seq"]!));
        Assert.Equal(4, (int)page["next"]!);
        var last = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events?limit=1&after=4")).JsonAsync();
        Assert.Equal([5], last["items"]!.AsArray().Select(e => (int)e!["seq"]!));
        Assert.Null(last["next"]);
    }

    [Theory]
    [InlineData("""{"agent":"voice","metadata":{"projectId":{"a":1}}}""", "'metadata.projectId' is set by the ledger")]
    [InlineData("""{"agent":"voice","metadata":{"status":{"a":1}}}""", "'metadata.status' must be")]
    [InlineData("""{"agent":"voice","metadata":{"voice":{"characters":"many"}}}""", "'metadata.voice.characters' must be")]
    public async Task AnInvalidMetadataFieldIsNamedWhereItSitsInTheReport(string report, string detail)
    {
        var runId = await NewRunAsync();

        Assert.Contains(detail, await (await ReportAsync(runId, report)).AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReportFromTheFarFutureDoesNotPinFieldsAndKeepsItsClaimedTimeInTheHistory()
    {
        var runId = await NewRunAsync();

        (await ReportAsync(runId, """{"eventId":"e1","agent":"voice","message":"from the future","timestamp":"9999-12-31T23:59:59Z"}""")).EnsureSuccessStatusCode();
        (await ReportAsync(runId, """{"eventId":"e2","agent":"voice","message":"later, for real"}""")).EnsureSuccessStatusCode();

        Assert.Equal("later, for real", (string)(await RunAsync(runId))["message"]!);
        var events = (await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();
        Assert.Equal("9999-12-31T23:59:59.000Z", (string)events[0]!["agentTimestamp"]!);
        Assert.Null(events[1]!["agentTimestamp"]);
    }

    [Fact]
    public async Task AReportFromBeforeTheRunExistedCannotDateItsStartOrEndBeforeItsCreation()
    {
        var runId = await NewRunAsync();

        (await ReportAsync(runId, """{"agent":"publisher","status":"completed","timestamp":"0001-01-01T00:00:00Z"}""")).EnsureSuccessStatusCode();

        var run = await RunAsync(runId);
        Assert.Equal("completed", (string)run["status"]!);
        Assert.True(string.CompareOrdinal((string)run["startedAt"]!, (string)run["createdAt"]!) >= 0, run.ToJsonString());
        Assert.True(string.CompareOrdinal((string)run["completedAt"]!, (string)run["createdAt"]!) >= 0, run.ToJsonString());
    }
}
