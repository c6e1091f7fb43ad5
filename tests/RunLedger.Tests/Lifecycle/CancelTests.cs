using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Lifecycle;

/// <summary>POST .../runs/{runId}/cancel: a final status of its own, idempotent, 409 for runs already over.</summary>
public sealed class CancelTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    private string Url(string runId) => $"/api/projects/{P}/runs/{runId}";

    private async Task<string> NewRunAsync(string runId = "r1")
    {
        await StartAsync($$"""{"projectId":"{{P}}","runId":"{{runId}}"}""");
        return runId;
    }

    private Task<HttpResponseMessage> CancelAsync(string runId, string? body = null) =>
        body is null
            ? Client.PostAsync(Url(runId) + "/cancel", null)
            : Client.PostJsonAsync(Url(runId) + "/cancel", body);

    [Fact]
    public async Task CancellingARunningRunMakesItCancelledAndFinalWithAnEventInItsHistory()
    {
        var runId = await NewRunAsync();
        (await Client.PatchJsonAsync(Url(runId), """{"status":"running","step":"voice"}""")).EnsureSuccessStatusCode();

        var response = await CancelAsync(runId, """{"reason":"client asked to stop"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(response.Headers.ETag);
        var run = await response.JsonAsync();
        Assert.Equal("cancelled", (string)run["status"]!);
        Assert.Equal("client asked to stop", (string)run["cancelReason"]!);
        Assert.Equal("Cancelled: client asked to stop", (string)run["message"]!);
        Assert.NotNull(run["completedAt"]);
        Assert.NotNull(run["invoice"]); // final, so the invoice is shown as for completed runs

        var stored = await (await Client.GetAsync(Url(runId))).JsonAsync();
        Assert.Equal(run.ToJsonString(), stored.ToJsonString());
        var last = (await EventsAsync(runId))[^1]!;
        Assert.Equal("ledger", (string)last["agent"]!);
        Assert.Equal("cancelled", (string)last["status"]!);
        Assert.Equal("cancelled", (string)last["runStatus"]!);
    }

    [Fact]
    public async Task CancellingAQueuedRunWithoutABodyWorksAndTheListFindsItByStatusOrAlias()
    {
        var runId = await NewRunAsync();
        await NewRunAsync("other");
        Assert.Equal(HttpStatusCode.OK, (await CancelAsync(runId)).StatusCode);

        foreach (var status in new[] { "cancelled", "canceled", "CANCELLED" })
        {
            var list = await (await Client.GetAsync($"/api/projects/{P}/runs?status={status}")).JsonAsync();
            var item = Assert.Single(list["items"]!.AsArray())!;
            Assert.Equal(runId, (string)item["runId"]!);
            Assert.Equal("cancelled", (string)item["status"]!);
        }
    }

    [Fact]
    public async Task CancellingTwiceAnswersTheSameRunAndAddsNothing()
    {
        var runId = await NewRunAsync();
        var first = await CancelAsync(runId, """{"reason":"first"}""");
        var firstBody = await first.Content.ReadAsStringAsync();
        var events = (await EventsAsync(runId)).Count;

        var second = await CancelAsync(runId, """{"reason":"second"}""");

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(first.Headers.ETag, second.Headers.ETag);
        Assert.Equal(firstBody, await second.Content.ReadAsStringAsync());
        Assert.Equal(events, (await EventsAsync(runId)).Count);
    }

    [Theory]
    [InlineData("completed")]
    [InlineData("failed")]
    public async Task CancellingACompletedOrFailedRunIs409AndChangesNothing(string status)
    {
        var runId = await NewRunAsync();
        (await Client.PatchJsonAsync(Url(runId), $$"""{"status":"{{status}}"}""")).EnsureSuccessStatusCode();
        var before = await (await Client.GetAsync(Url(runId))).Content.ReadAsStringAsync();

        var detail = await (await CancelAsync(runId, """{"reason":"too late"}""")).AssertProblemAsync(409);

        Assert.Contains($"'{status}', which is final", detail, StringComparison.Ordinal);
        Assert.Equal(before, await (await Client.GetAsync(Url(runId))).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ACancelledRunIsFinalForPatchToo()
    {
        var runId = await NewRunAsync();
        (await CancelAsync(runId)).EnsureSuccessStatusCode();
        var detail = await (await Client.PatchJsonAsync(Url(runId), """{"status":"running","message":"resumed"}""")).AssertProblemAsync(409);
        Assert.Contains("'cancelled'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PatchAcceptsCancelledAndItsAliasAsAFinalStatus()
    {
        var runId = await NewRunAsync();
        var run = await (await Client.PatchJsonAsync(Url(runId), """{"status":"Canceled"}""")).JsonAsync();
        Assert.Equal("cancelled", (string)run["status"]!);
        Assert.NotNull(run["completedAt"]);
    }

    [Fact]
    public async Task CancelOfAMissingRunIs404()
    {
        Assert.Contains("'RUN_nope'", await (await CancelAsync("RUN_nope")).AssertProblemAsync(404), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"reason":5}""", "'reason' must be a string")]
    [InlineData("""{"reson":"typo"}""", "'reson' is not a cancel field")]
    [InlineData("""["stop"]""", "must be a JSON object")]
    [InlineData("""{"reason":"x",}""", "The body")]
    public async Task ABadCancelBodyIs400AndLeavesTheRunAsItWas(string body, string detail)
    {
        var runId = await NewRunAsync();
        Assert.Contains(detail, await (await CancelAsync(runId, body)).AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Equal("queued", (string)(await (await Client.GetAsync(Url(runId))).JsonAsync())["status"]!);
    }

    [Fact]
    public async Task AReasonOverTheLimitIs400()
    {
        var runId = await NewRunAsync();
        var body = new JsonObject { ["reason"] = new string('x', 1001) }.ToJsonString();
        Assert.Contains("longer than 1000", await (await CancelAsync(runId, body)).AssertProblemAsync(400), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheProgressAnswerCarriesTheRunsStatusSoAnAgentCanStop()
    {
        var runId = await NewRunAsync();
        var progress = Url(runId) + "/progress";
        var running = await (await Client.PostJsonAsync(progress, """{"eventId":"e1","agent":"voice","message":"working"}""")).JsonAsync();
        Assert.Equal("running", (string)running["runStatus"]!);

        (await CancelAsync(runId)).EnsureSuccessStatusCode();

        var late = await Client.PostJsonAsync(progress, """{"eventId":"e2","agent":"voice","message":"still working"}""");
        Assert.Equal(HttpStatusCode.Accepted, late.StatusCode);
        Assert.Equal("cancelled", (string)(await late.JsonAsync())["runStatus"]!);
        var again = await Client.PostJsonAsync(progress, """{"eventId":"e2","agent":"voice","message":"still working"}""");
        var duplicate = await again.JsonAsync();
        Assert.True((bool)duplicate["duplicate"]!);
        Assert.Equal("cancelled", (string)duplicate["runStatus"]!);
    }

    [Fact]
    public async Task ReportsAfterCancelCountInHistoryAndCostsButChangeNothingElse()
    {
        var runId = await NewRunAsync();
        (await CancelAsync(runId)).EnsureSuccessStatusCode();
        var cancelled = await (await Client.GetAsync(Url(runId))).JsonAsync();

        // tts-1: 1,500 characters × $0.015/1K = $0.0225.
        (await Client.PostJsonAsync(Url(runId) + "/progress",
            """{"eventId":"late","agent":"voice","status":"completed","message":"done anyway","usage":{"model":"tts-1","characters":1500}}""")).EnsureSuccessStatusCode();

        var run = await (await Client.GetAsync(Url(runId))).JsonAsync();
        Assert.Equal("cancelled", (string)run["status"]!);
        Assert.Equal((string)cancelled["message"]!, (string)run["message"]!);
        Assert.Equal(22_500, (long)run["totalCostMicros"]!);
        var costs = await (await Client.GetAsync(Url(runId) + "/costs")).JsonAsync();
        Assert.Single(costs["rows"]!.AsArray());
        Assert.True((bool)costs["invoiceFinal"]!);
        Assert.Contains(await EventsAsync(runId), e => (string?)e!["eventId"] == "late");
    }

    [Fact]
    public async Task AnAgentCanCancelTheRunWithRunStatusCancelled()
    {
        var runId = await NewRunAsync();
        var answer = await (await Client.PostJsonAsync(Url(runId) + "/progress",
            """{"eventId":"stop","agent":"research","runStatus":"canceled","message":"no source material"}""")).JsonAsync();
        Assert.Equal("cancelled", (string)answer["runStatus"]!);
        Assert.Equal("cancelled", (string)(await (await Client.GetAsync(Url(runId))).JsonAsync())["status"]!);
    }

    [Fact]
    public async Task CountsIsNotARunIdAStartMayTake()
    {
        var response = await Client.PostJsonAsync("/api/pipelines", $$"""{"projectId":"{{P}}","runId":"counts"}""");
        Assert.Contains("'runId' may not be 'counts'", await response.AssertProblemAsync(400), StringComparison.Ordinal);
    }
}
