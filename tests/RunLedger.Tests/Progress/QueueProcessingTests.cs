using System.Text;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// The AgentProgress queue trigger under the local Functions host: the host's queue semantics
/// (base64, retries, poison queue) with the ledger's own rules (dead letters, exactly once).
/// Messages carry this test's project id, so tests sharing the host only look at their own.
/// </summary>
public sealed class QueueProcessingTests(QueueProcessingTests.Host host) : LedgerTest(host), IClassFixture<QueueProcessingTests.Host>
{
    /// <summary>Retries a tenth of a second apart, so five tries take about a second.</summary>
    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string>> QueueSettings =>
            [new("visibilityTimeout", "00:00:00.100"), new("maxPollingInterval", "00:00:00.200")];
    }

    /// <summary>This test's dead letters: those whose original text names its project.</summary>
    private async Task<List<JsonObject>> DeadLettersAsync() =>
        [.. (await (await Client.GetAsync("/api/deadletters?limit=100")).JsonAsync())["items"]!.AsArray()
            .Select(l => l!.AsObject()).Where(l => ((string)l["originalText"]!).Contains(P, StringComparison.Ordinal))];

    /// <summary>This test's poison messages, as stored (base64 decoded where it is base64).</summary>
    private async Task<List<string>> PoisonAsync()
    {
        var peeked = (await App.Raw(App.ProgressQueue + "-poison").PeekMessagesAsync(32)).Value;
        return [.. peeked.Select(m => Decode(m.MessageText)).Where(t => t.Contains(P, StringComparison.Ordinal))];
    }

    private static string Decode(string raw)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(raw));
        }
        catch (FormatException)
        {
            return raw;
        }
    }

    [Fact]
    public async Task ReportsSentAsBase64JsonAreAppliedFromTheQueue()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        await App.SendProgressAsync($$"""{"projectId":"{{P}}","runId":"{{runId}}","agent":"voice","message":"hi","progress":5}""");

        await Eventually.HoldsAsync(async () => (await EventsAsync(runId)).Count == 1, "the report to be applied");
        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
        Assert.Equal("running", (string)run["status"]!);
        Assert.Equal("hi", (string)run["message"]!);
        await App.ProgressDrainedAsync();
    }

    [Fact]
    public async Task TheQueueFunctionRunOnceThroughTheAdminApiAppliesTheReport()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;

        await App.Harness.RunFunctionAsync("AgentProgress", $$"""{"projectId":"{{P}}","runId":"{{runId}}","agent":"music","message":"Composing"}""");

        await Eventually.HoldsAsync(async () => (await EventsAsync(runId)).Count == 1, "the report to be applied");
        Assert.Equal("Composing", (string)(await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync())["message"]!);
    }

    [Fact]
    public async Task AMessageDeliveredTwiceWithTheSameEventIdIsAppliedOnce()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var text = $$"""{"projectId":"{{P}}","runId":"{{runId}}","eventId":"voice-1","agent":"voice"}""";
        await App.SendProgressAsync(text);
        await App.SendProgressAsync(text);
        await App.SendProgressAsync($$"""{"projectId":"{{P}}","runId":"{{runId}}","eventId":"voice-2","agent":"voice"}""");

        await App.ProgressDrainedAsync();
        Assert.Equal(["voice-1", "voice-2"], (await EventsAsync(runId)).Select(e => (string)e!["eventId"]!).Order());
    }

    [Fact]
    public async Task MalformedMessagesLandInDeadLettersWithAReasonAndNeverReachTheRun()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var before = await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}");
        var malformed = new Dictionary<string, string>
        {
            [$"this is not json ({P})"] = "not valid JSON",
            [$$"""{"projectId":"{{P}}","agent":"voice"}"""] = "'runId' is required",
            [$$"""{"projectId":"{{P}}/../x","runId":"{{runId}}"}"""] = "'projectId' may contain only",
            [$$"""{"projectId":"{{P}}","runId":"{{runId}}","status":"exploded"}"""] = "'status' must be",
            [$$"""{"projectId":"{{P}}","runId":"{{runId}}","progress":"lots"}"""] = "'progress' must be a number",
            [$$"""[1,2,"{{P}}"]"""] = "must be a JSON object",
            [$$"""{"projectId":"{{P}}","projectId":"{{P}}","runId":"R","agent":"voice"}"""] = "not valid JSON",
            [$$"""{"projectId":"{{P}}","runId":"{{runId}}","agent":"voice","message":"\uD800"}"""] = "unpaired UTF-16 surrogate",
            [$$"""{"projectId":"{{P}}","runId":"{{runId}}","agent":"voice\n"}"""] = "'agent' may contain only",
            [$$$"""{"projectId":"{{{P}}}","runId":"{{{runId}}}","agent":"video","usage":{"model":"gpt-4o","costUsd":2000000}}"""] = "over the most one report may cost",
            // The start webhook refuses the same pair: a report may not name one project and apply to another.
            [$$"""{"projectId":"{{P}}","clientId":"{{P}}x","runId":"{{runId}}","agent":"voice"}"""] = "'projectId' and its alias 'clientId' are both given and differ",
        };
        foreach (var text in malformed.Keys) await App.SendProgressAsync(text);

        await Eventually.HoldsAsync(async () => (await DeadLettersAsync()).Count == malformed.Count, "every malformed message to be dead-lettered");
        var letters = await DeadLettersAsync();
        foreach (var (text, reason) in malformed)
        {
            var letter = letters.Single(l => (string)l["originalText"]! == text);
            Assert.Contains(reason, (string)letter["reason"]!, StringComparison.Ordinal);
            Assert.Equal("agent-progress", (string)letter["source"]!);
            Assert.NotNull(letter["recordedAt"]);
            Assert.Equal(1, (int)letter["dequeueCount"]!); // never retried
        }
        await App.ProgressDrainedAsync();
        Assert.Empty(await PoisonAsync());
        Assert.Equal(before, await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}"));
        Assert.Empty(await EventsAsync(runId));
    }

    [Fact]
    public async Task AMessageThatIsNotBase64IsPoisonedWithoutProcessing()
    {
        var raw = $"{{not base64! {P}}}";
        await App.Raw(App.ProgressQueue).SendMessageAsync(raw);

        await Eventually.HoldsAsync(async () => (await PoisonAsync()).Count == 1, "the message to reach the poison queue");
        Assert.Equal(raw, Assert.Single(await PoisonAsync()));
        Assert.Empty(await DeadLettersAsync());
    }

    [Fact]
    public async Task AReportForAMissingRunIsRetriedFiveTimesThenPoisonedWithItsReasonInTheDeadLetters()
    {
        await App.SendProgressAsync($$"""{"projectId":"{{P}}","runId":"RUN_never","agent":"voice"}""");

        await Eventually.HoldsAsync(async () => (await PoisonAsync()).Count == 1, "the message to reach the poison queue", 60);
        Assert.Contains("RUN_never", Assert.Single(await PoisonAsync()), StringComparison.Ordinal);
        await App.ProgressDrainedAsync();

        // Why it was poisoned is where operators look, not only in a log line.
        var letter = Assert.Single(await DeadLettersAsync());
        Assert.Contains("'RUN_never' does not exist", (string)letter["reason"]!, StringComparison.Ordinal);
        Assert.Contains("Tried 5 times", (string)letter["reason"]!, StringComparison.Ordinal);
        Assert.Contains("-poison", (string)letter["reason"]!, StringComparison.Ordinal);
        Assert.Equal(5, (int)letter["dequeueCount"]!);
    }

    [Fact]
    public async Task AReportThatWouldMakeTheRunTooLargeIsDeadLetteredAndTheRunKeptIntact()
    {
        var big = new string('s', RunLedger.Ledger.DocumentColumns.MaxJsonBytes - 30 * 1024);
        var runId = (string)(await StartAsync($$$"""{"projectId":"{{{P}}}","seedData":{"notes":"{{{big}}}"}}"""))["runId"]!;
        var before = await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}");
        var extra = new string('m', 40 * 1024);
        await App.SendProgressAsync($$$$"""{"projectId":"{{{{P}}}}","runId":"{{{{runId}}}}","agent":"voice","metadata":{"notes":{"text":"{{{{extra}}}}"}}}""");

        await Eventually.HoldsAsync(async () => (await DeadLettersAsync()).Count == 1, "the report to be dead-lettered");
        Assert.Contains("too large", (string)(await DeadLettersAsync())[0]["reason"]!, StringComparison.Ordinal);
        Assert.Equal(before, await Client.StoredRunAsync($"/api/projects/{P}/runs/{runId}"));

        var http = await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress",
            $$$$"""{"agent":"voice","metadata":{"notes":{"text":"{{{{extra}}}}"}}}""");
        await http.AssertProblemAsync(413);
    }
}

/// <summary>A report that arrives before its run, with retries a second apart (five tries span seconds).</summary>
public sealed class EarlyReportTests(EarlyReportTests.Host host) : LedgerTest(host), IClassFixture<EarlyReportTests.Host>
{
    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string>> QueueSettings =>
            [new("visibilityTimeout", "00:00:01"), new("maxPollingInterval", "00:00:00.200")];
    }

    [Fact]
    public async Task AReportThatArrivesBeforeItsRunIsAppliedOnRetry()
    {
        await App.SendProgressAsync($$"""{"projectId":"{{P}}","runId":"r-early","agent":"voice","message":"early"}""");
        await StartAsync($$"""{"projectId":"{{P}}","runId":"r-early"}""");

        await Eventually.HoldsAsync(async () => (await EventsAsync("r-early")).Count == 1 || (await App.Raw(App.ProgressQueue + "-poison").PeekMessagesAsync(32)).Value.Length > 0,
            "the early report to be applied or poisoned");
        Assert.Single(await EventsAsync("r-early"));
    }
}
