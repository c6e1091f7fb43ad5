using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues.Models;
using RunLedger.Hosting;
using RunLedger.Tests.Support;
using Xunit.Abstractions;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// Seeded, bounded fuzzing of every HTTP function (enumerated from the functions' own trigger
/// attributes, so a new endpoint is covered without touching this test) and of the progress queue.
/// An input may succeed; when it does not, it gets a 4xx problem+json with a detail (or, from the
/// queue, a dead letter or the poison queue) and leaves storage exactly as it was. Never a 5xx.
/// </summary>
[Collection(ReliabilitySuite.Name)]
public sealed class FuzzTests(FuzzTests.Host host, ITestOutputHelper output) : HttpFuzzTest(host, output), IClassFixture<FuzzTests.Host>
{
    private const int HttpInputs = 3000;
    private const int QueueInputs = 400;

    public sealed class Host : LedgerHost
    {
        // Live streams end after a second, so a fuzzed SSE request does not hold the loop.
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
            [new("RunLedger__StreamMaxDuration", "00:00:01"), new("RunLedger__StreamHeartbeat", "00:00:00.500")];

        // Retries a tenth of a second apart, so a report for a missing run reaches the poison queue quickly.
        protected override IEnumerable<KeyValuePair<string, string>> QueueSettings =>
            [new("visibilityTimeout", "00:00:00.100"), new("maxPollingInterval", "00:00:00.200")];
    }

    [Fact]
    public async Task HostileRequestsToEveryHttpFunctionSucceedWholeOrGetA4xxProblemAndNeverA5xxOrAPartialWrite()
    {
        var figures = new Figures("fuzz-http", Output);
        try
        {
            await FuzzHttpAsync(figures, ReliabilitySuite.Seed(20261127), HttpInputs, credentials: null);
        }
        finally
        {
            figures.Save();
        }
    }

    [Fact]
    public async Task HostileQueueMessagesAreDeadLetteredOrPoisonedWithoutTouchingTheRunAndTheTriggerStillAppliesAValidReport()
    {
        var figures = new Figures("fuzz-queue", Output);
        try
        {
            await FuzzQueueAsync(figures);
        }
        finally
        {
            figures.Save();
        }
    }

    private enum Expect
    {
        DeadLetter,
        Poison,
        DeadLetterAndPoison,
    }

    private async Task FuzzQueueAsync(Figures figures)
    {
        var seed = ReliabilitySuite.Seed(20261128);
        var random = new Random(seed);
        const string runId = "RUN_QUEUE";
        await StartAsync($$"""{"projectId":"{{P}}","runId":"{{runId}}"}""");
        var inputs = new HostileInputs(seed, P, [runId]);
        var before = await SnapshotAsync(P);
        figures.Line($"seed {seed} (replay: RELIABILITY_SEED={seed}); {QueueInputs} messages on the progress queue against run {runId}");

        // Generated first, from the seed alone; then sent concurrently.
        var messages = new List<(string Raw, string Kind, Expect Expect)>();
        for (var i = 0; i < QueueInputs; i++)
        {
            var roll = random.NextDouble();
            if (roll < 0.05)
            {
                messages.Add((Pick(random, ["not base64!", "%%%", "YQ", "====", "{\"projectId\":\"x\"}", "a b c"]) + $" {P} #{i}", "not base64", Expect.Poison));
            }
            else if (roll < 0.10)
            {
                byte[] bad = [0x7B, 0xFF, 0xFE, 0xC0, 0xAF, (byte)(i % 256 | 0x80), 0xED, 0xA0, 0x80, 0x7D];
                messages.Add((Convert.ToBase64String(bad), "base64 of invalid UTF-8", Expect.Poison));
            }
            else if (roll < 0.13)
            {
                var text = $$"""{"projectId":"{{P}}","runId":"RUN_MISSING_{{i}}","agent":"voice","message":"#{{i}}"}""";
                messages.Add((Base64(text), "valid report for a missing run", Expect.DeadLetterAndPoison));
            }
            else
            {
                var (text, kind) = inputs.InvalidReport(runId);
                messages.Add((Base64(text), kind, Expect.DeadLetter));
            }
        }
        var raw = App.Raw(App.ProgressQueue);
        var clock = Stopwatch.StartNew();
        var ids = new string[messages.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, messages.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            ids[i] = (await raw.SendMessageAsync(messages[i].Raw, ct)).Value.MessageId);
        await App.ProgressDrainedAsync(TimeSpan.FromMinutes(2));
        figures.Line($"sent and drained in {clock.Elapsed.TotalSeconds:F1} s");

        var letters = await DeadLettersAsync();
        var poison = await PoisonAsync();
        var failures = new List<string>();
        for (var i = 0; i < messages.Count; i++)
        {
            var (text, kind, expect) = messages[i];
            var letter = letters.GetValueOrDefault(ids[i]);
            var poisoned = poison.Remove(text);
            var describe = $"#{i} ({kind}) {Shorten(DecodeForDisplay(text))}";
            if (expect is Expect.DeadLetter or Expect.DeadLetterAndPoison)
            {
                if (letter is null) failures.Add($"no dead letter for {describe}");
                else if (string.IsNullOrWhiteSpace((string?)letter["reason"])) failures.Add($"a dead letter without a reason for {describe}");
                else if (expect == Expect.DeadLetter && (long?)letter["dequeueCount"] != 1) failures.Add($"retried before dead-lettering ({letter["dequeueCount"]}): {describe}");
            }
            else if (letter is not null)
            {
                failures.Add($"a dead letter for a message that should only be poisoned: {describe}");
            }
            if (expect is Expect.Poison or Expect.DeadLetterAndPoison)
            {
                if (!poisoned) failures.Add($"not in the poison queue: {describe}");
            }
            else if (poisoned)
            {
                failures.Add($"poisoned instead of dead-lettered: {describe}");
            }
        }
        var after = await SnapshotAsync(P);
        if (after != before) failures.Add($"the project's rows changed: {Difference(before, after)}");

        // The trigger still applies a valid report.
        await App.SendProgressAsync($$"""{"projectId":"{{P}}","runId":"{{runId}}","eventId":"alive","agent":"voice","message":"still here"}""");
        await Eventually.HoldsAsync(async () => (await EventsAsync(runId)).Count == 1, "the valid report to be applied after the fuzzing");
        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();

        figures.Counts("messages by kind", messages.GroupBy(m => m.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => new KeyValuePair<string, int>(g.Key, g.Count())));
        figures.Line($"dead letters: {letters.Count(l => ids.Contains(l.Key))}; poison messages: {messages.Count(m => m.Expect != Expect.DeadLetter)} expected, {poison.Count} unexpected left over; " +
                     $"run {runId} rows unchanged: {after == before}; valid report afterwards: {(string?)run["message"]}");
        figures.Line($"failures: {failures.Count}");
        foreach (var failure in failures.Take(25)) figures.Line($"  {failure}");

        Assert.Empty(failures);
        Assert.Empty(poison);
        Assert.Equal("still here", (string?)run["message"]);
    }

    /// <summary>Dead letters by queue message id.</summary>
    private async Task<Dictionary<string, JsonObject>> DeadLettersAsync()
    {
        var letters = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        string? token = null;
        do
        {
            var page = await (await Client.GetAsync("/api/deadletters?limit=100" + (token is null ? "" : "&continuationToken=" + Uri.EscapeDataString(token)))).JsonAsync();
            foreach (var item in page["items"]!.AsArray()) letters[(string)item!["messageId"]!] = item.AsObject();
            token = (string?)page["continuationToken"];
        }
        while (token is not null);
        return letters;
    }

    /// <summary>The poison queue's messages, as stored (raw text), taken off the queue.</summary>
    private async Task<List<string>> PoisonAsync()
    {
        var queue = App.Raw(App.ProgressQueue + "-poison");
        var texts = new List<string>();
        while (true)
        {
            QueueMessage[] batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value;
            if (batch.Length == 0) return texts;
            texts.AddRange(batch.Select(m => m.MessageText));
        }
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string DecodeForDisplay(string raw)
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

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
