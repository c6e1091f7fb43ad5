using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>The standalone listener on the agent-progress queue, with the Functions host's semantics.</summary>
public sealed class QueueProcessingTests : LedgerTest
{
    public QueueProcessingTests()
    {
        App.With("RunLedger:RetryDelay", "00:00:00.100").With("RunLedger:MaxPollingInterval", "00:00:00.200");
    }

    private async Task<JsonArray> EventsAsync(string runId) =>
        (await (await Client.GetAsync($"/api/projects/p1/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();

    private async Task<JsonArray> DeadLettersAsync() =>
        (await (await Client.GetAsync("/api/deadletters?limit=100")).JsonAsync())["items"]!.AsArray();

    [Fact]
    public async Task ReportsSentAsBase64JsonAreAppliedFromTheQueue()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        await App.Progress.SendMessageAsync($$"""{"projectId":"p1","runId":"{{runId}}","agent":"voice","message":"hi","progress":5}""");

        await Eventually.HoldsAsync(async () => (await EventsAsync(runId)).Count == 1, "the report to be applied");
        var run = await (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).JsonAsync();
        Assert.Equal("running", (string)run["status"]!);
        Assert.Equal("hi", (string)run["message"]!);
        await Eventually.HoldsAsync(async () => await App.Progress.CountAsync() == 0, "the message to be deleted");
    }

    [Fact]
    public async Task AMessageDeliveredTwiceWithTheSameEventIdIsAppliedOnce()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var text = $$"""{"projectId":"p1","runId":"{{runId}}","eventId":"voice-1","agent":"voice"}""";
        await App.Progress.SendMessageAsync(text);
        await App.Progress.SendMessageAsync(text);
        await App.Progress.SendMessageAsync($$"""{"projectId":"p1","runId":"{{runId}}","eventId":"voice-2","agent":"voice"}""");

        await Eventually.HoldsAsync(async () => await App.Progress.CountAsync() == 0, "all messages handled");
        Assert.Equal(["voice-1", "voice-2"], (await EventsAsync(runId)).Select(e => (string)e!["eventId"]!).Order());
    }

    [Fact]
    public async Task MalformedMessagesLandInDeadLettersWithAReasonAndNeverReachTheRun()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var before = await (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).Content.ReadAsStringAsync();
        var malformed = new Dictionary<string, string>
        {
            ["this is not json"] = "not valid JSON",
            ["""{"projectId":"p1","agent":"voice"}"""] = "'runId' is required",
            [$$"""{"projectId":"p1/../x","runId":"{{runId}}"}"""] = "'projectId' may contain only",
            [$$"""{"projectId":"p1","runId":"{{runId}}","status":"exploded"}"""] = "'status' must be",
            [$$"""{"projectId":"p1","runId":"{{runId}}","progress":"lots"}"""] = "'progress' must be a number",
            ["[1,2,3]"] = "must be a JSON object",
        };
        foreach (var text in malformed.Keys) await App.Progress.SendMessageAsync(text);

        await Eventually.HoldsAsync(async () => (await DeadLettersAsync()).Count == malformed.Count, "every malformed message to be dead-lettered");
        var letters = await DeadLettersAsync();
        foreach (var (text, reason) in malformed)
        {
            var letter = letters.Single(l => (string)l!["originalText"]! == text)!;
            Assert.Contains(reason, (string)letter["reason"]!, StringComparison.Ordinal);
            Assert.Equal("agent-progress", (string)letter["source"]!);
            Assert.NotNull(letter["recordedAt"]);
        }
        await Eventually.HoldsAsync(async () => await App.Progress.CountAsync() == 0, "dead letters removed from the queue");
        Assert.Equal(before, await (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).Content.ReadAsStringAsync());
        Assert.Empty(await EventsAsync(runId));
    }

    [Fact]
    public async Task AMessageThatIsNotBase64IsPoisonedWithoutProcessing()
    {
        await Client.GetAsync("/api/health");
        await App.Raw(App.ProgressQueue).SendMessageAsync("{not base64!}");
        var poison = App.ProgressPoison;
        await Eventually.HoldsAsync(async () => await poison.CountAsync() == 1, "the message to reach the poison queue");
        Assert.Equal("{not base64!}", (await App.Raw(App.ProgressQueue + "-poison").PeekMessagesAsync(1)).Value[0].MessageText);
        Assert.Empty(await DeadLettersAsync());
    }

    [Fact]
    public async Task AReportForAMissingRunIsRetriedFiveTimesThenPoisoned()
    {
        await Client.GetAsync("/api/health");
        await App.Progress.SendMessageAsync("""{"projectId":"p1","runId":"RUN_never","agent":"voice"}""");
        var poison = App.ProgressPoison;
        await Eventually.HoldsAsync(async () => await poison.CountAsync() == 1, "the message to reach the poison queue", 60);
        var peeked = (await poison.PeekMessagesAsync(1)).Value[0];
        Assert.Contains("RUN_never", peeked.Body!.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await App.Progress.CountAsync());
    }

    [Fact]
    public async Task AReportThatArrivesBeforeItsRunIsAppliedOnRetry()
    {
        App.With("RunLedger:RetryDelay", "00:00:01"); // five tries span seconds, however slow the start is
        await Client.GetAsync("/api/health");
        await App.Progress.SendMessageAsync("""{"projectId":"p1","runId":"r-early","agent":"voice","message":"early"}""");
        await Task.Delay(150);
        await StartAsync("""{"projectId":"p1","runId":"r-early"}""");
        var poison = App.ProgressPoison;
        await Eventually.HoldsAsync(async () => (await EventsAsync("r-early")).Count == 1,
            $"the early report to be applied (poisoned: {await poison.CountAsync()}, queued: {await App.Progress.CountAsync()})");
    }

    [Fact]
    public async Task AReportThatWouldMakeTheRunTooLargeIsDeadLetteredAndTheRunKeptIntact()
    {
        var big = new string('s', 930 * 1024);
        var runId = (string)(await StartAsync($$$"""{"projectId":"p1","seedData":{"notes":"{{{big}}}"}}"""))["runId"]!;
        var before = await (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).Content.ReadAsStringAsync();
        var extra = new string('m', 40 * 1024);
        await App.Progress.SendMessageAsync($$$$"""{"projectId":"p1","runId":"{{{{runId}}}}","agent":"voice","metadata":{"notes":{"text":"{{{{extra}}}}"}}}""");

        await Eventually.HoldsAsync(async () => (await DeadLettersAsync()).Count == 1, "the report to be dead-lettered");
        Assert.Contains("too large", (string)(await DeadLettersAsync())[0]!["reason"]!, StringComparison.Ordinal);
        Assert.Equal(before, await (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).Content.ReadAsStringAsync());

        var http = await Client.PostJsonAsync($"/api/projects/p1/runs/{runId}/progress",
            $$$$"""{"agent":"voice","metadata":{"notes":{"text":"{{{{extra}}}}"}}}""");
        await http.AssertProblemAsync(413);
    }
}
