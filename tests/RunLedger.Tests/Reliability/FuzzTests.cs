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
public sealed class FuzzTests(FuzzTests.Host host, ITestOutputHelper output) : LedgerTest(host), IClassFixture<FuzzTests.Host>
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
        var figures = new Figures("fuzz-http", output);
        try
        {
            await FuzzHttpAsync(figures);
        }
        finally
        {
            figures.Save();
        }
    }

    private async Task FuzzHttpAsync(Figures figures)
    {
        var seed = ReliabilitySuite.Seed(20261127);
        var runIds = new List<string>();
        (await Client.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/api/projects/{P}/config")
        {
            Content = new StringContent("""{"pipeline":{"finalAgent":"publisher"},"invoice":{"markupRate":0.25}}""", Encoding.UTF8, "application/json"),
        })).EnsureSuccessStatusCode();
        for (var i = 1; i <= 4; i++) runIds.Add((string)(await StartAsync($$$"""{"projectId":"{{{P}}}","runId":"RUN_FZ{{{i}}}","seedData":{"n":{{{i}}}}}"""))["runId"]!);
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/RUN_FZ4/progress",
            """{"eventId":"done","agent":"publisher","status":"completed","usage":{"model":"gpt-4o","inputTokens":100}}""")).EnsureSuccessStatusCode();

        var functions = OpenApiDocument.HttpFunctions(typeof(OpenApiDocument).Assembly)
            .Select(f => (f.Name, Methods: f.Methods.ToList(), f.Route)).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        var inputs = new HostileInputs(seed, P, runIds);
        figures.Line($"seed {seed} (replay: RELIABILITY_SEED={seed}); {HttpInputs} inputs over {functions.Count} HTTP functions: {string.Join(", ", functions.Select(f => f.Name))}");

        var statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var perFunction = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var perKind = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        int refused = 0, unchanged = 0, refusedByWebServer = 0, writes = 0, readBacks = 0;
        var clock = Stopwatch.StartNew();
        var before = await SnapshotAsync();
        for (var i = 0; i < HttpInputs; i++)
        {
            var (name, methods, route) = functions[i % functions.Count];
            var request = inputs.Request(name, methods, route);
            var (status, verdict) = await SendAsync(request);
            if (verdict is not null && IsRefusedByWebServer(request, status))
            {
                refusedByWebServer++;
                verdict = null;
            }
            Add(statuses, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Add(perFunction, name);
            Add(perKind, request.BodyKind);
            if (verdict is not null) failures.Add($"#{i} {verdict}: {request.Describe()}");

            var after = await SnapshotAsync();
            if (status is < 200 or > 299)
            {
                refused++;
                if (after == before) unchanged++;
                else failures.Add($"#{i} answered {status} but changed storage ({Difference(before, after)}): {request.Describe()}");
            }
            else if (after != before)
            {
                // Whatever was accepted must read back everywhere it shows.
                writes++;
                foreach (var url in ReadBackUrls(runIds))
                {
                    readBacks++;
                    using var read = await Client.GetAsync(url);
                    if (read.StatusCode != System.Net.HttpStatusCode.OK)
                    {
                        failures.Add($"#{i} was accepted ({status}), then GET {url} answered {(int)read.StatusCode}: {Shorten(await read.Content.ReadAsStringAsync())}; the input: {request.Describe()}");
                    }
                }
            }
            before = after;
        }

        figures.Line($"{HttpInputs} inputs in {clock.Elapsed.TotalSeconds:F0} s; {refused} refused, {unchanged} of them with storage unchanged (table rows and ETags, jobs queue); " +
                     $"{refusedByWebServer} refused by the host's web server before any function (an encoded NUL in the path, a request line over 8 KiB)");
        figures.Line($"{writes} accepted inputs changed storage; each was read back through {ReadBackUrls(runIds).Count()} GETs ({readBacks} in all)");
        figures.Counts("answers by status", statuses);
        figures.Counts("inputs by function", perFunction);
        figures.Counts("inputs by body", perKind);
        figures.Line($"failures: {failures.Count}");
        foreach (var failure in failures.Take(25)) figures.Line($"  {failure}");

        Assert.All(functions, f => Assert.True(perFunction.GetValueOrDefault(f.Name) >= HttpInputs / functions.Count, $"{f.Name} was not fuzzed"));
        Assert.Empty(failures);
    }

    private IEnumerable<string> ReadBackUrls(IReadOnlyList<string> runIds)
    {
        yield return $"/api/projects/{P}/runs?limit=100";
        yield return $"/api/projects/{P}/runs/latest";
        yield return $"/api/projects/{P}/config";
        yield return $"/api/costs/summary?projectId={P}";
        yield return $"/api/costs/top?projectId={P}";
        foreach (var runId in runIds)
        {
            yield return $"/api/projects/{P}/runs/{runId}";
            yield return $"/api/projects/{P}/runs/{runId}/events?limit=1000";
            yield return $"/api/projects/{P}/runs/{runId}/costs";
        }
    }

    /// <summary>Sends one input; returns its status and what is wrong with the answer (null when it is acceptable).</summary>
    private async Task<(int Status, string? Verdict)> SendAsync(FuzzRequest request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            using var message = request.ToMessage();
            using var response = await Client.SendAsync(message, timeout.Token);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (status >= 500) return (status, $"answered {status}: {Shorten(body)}");
            if (status < 400) return (status, null);
            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                return (status, $"answered {status} as '{response.Content.Headers.ContentType}', not problem+json: {Shorten(body)}");
            }
            var problem = JsonNode.Parse(body) as JsonObject;
            if (problem?["detail"] is not JsonValue detail || string.IsNullOrWhiteSpace((string?)detail) || (int?)problem["status"] != status)
            {
                return (status, $"answered {status} with a problem lacking its detail or status: {Shorten(body)}");
            }
            return (status, null);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return (-1, $"no usable answer: {e.GetType().Name} {e.Message}");
        }
    }

    /// <summary>
    /// What Kestrel (the host's web server, as in Azure) refuses before any function runs, with an
    /// empty answer: a request target whose path decodes to a NUL character (400; with a large body
    /// the connection closes while the client is still sending it), and a request line over its
    /// 8 KiB limit (414). Nothing of the app's is involved.
    /// </summary>
    private static bool IsRefusedByWebServer(FuzzRequest request, int status) =>
        (status is 400 or -1 && request.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal))
        || (status == 414 && request.Url.Length > 8 * 1024 - 100);

    private static string Shorten(string text) => text.Length > 400 ? text[..400] + "..." : text;

    private static void Add(SortedDictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    /// <summary>Every row of the host's table (keys and ETag, which changes on any write) and the number of jobs sent.</summary>
    private async Task<string> SnapshotAsync(string? partition = null)
    {
        var rows = new List<string>();
        var filter = partition is null ? null : TableClient.CreateQueryFilter($"PartitionKey eq {partition}");
        await foreach (var row in App.Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey"]))
        {
            rows.Add($"{row.PartitionKey}|{row.RowKey}|{row.ETag}");
        }
        rows.Sort(StringComparer.Ordinal);
        if (partition is null) rows.Add($"jobs queue: {await App.Jobs.CountAsync()}");
        return string.Join("\n", rows);
    }

    private static string Difference(string before, string after)
    {
        var old = before.Split('\n').ToHashSet(StringComparer.Ordinal);
        var now = after.Split('\n').ToHashSet(StringComparer.Ordinal);
        return $"gone: {string.Join(", ", old.Except(now).Take(5))}; new: {string.Join(", ", now.Except(old).Take(5))}";
    }

    [Fact]
    public async Task HostileQueueMessagesAreDeadLetteredOrPoisonedWithoutTouchingTheRunAndTheTriggerStillAppliesAValidReport()
    {
        var figures = new Figures("fuzz-queue", output);
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
