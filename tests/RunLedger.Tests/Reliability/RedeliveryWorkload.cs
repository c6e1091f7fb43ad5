using System.Globalization;
using System.Text.Json.Nodes;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// A seeded pipeline workload for one project: runs, and reports for each that agents send
/// several times in a shuffled order, some through the queue and some over HTTP. It also says,
/// computed here and not by the ledger, what every run, its history and its costs must end as.
/// </summary>
public sealed class RedeliveryWorkload
{
    /// <summary>gpt-4o-mini list prices in micro-dollars per token (pricing.json: $0.15 and $0.60 per 1M).</summary>
    private const decimal InputMicrosPerToken = 0.15m, OutputMicrosPerToken = 0.60m;

    private static readonly string[] Agents = ["voice", "music", "video", "research"];

    public RedeliveryWorkload(int seed, string projectId, int runs, int reportsPerRun, DateTimeOffset start)
    {
        Seed = seed;
        ProjectId = projectId;
        var random = new Random(seed);
        // Milliseconds, as the ledger keeps times; pairs of reports share a timestamp, so the
        // event id breaks the tie in last-writer-wins.
        start = new DateTimeOffset(start.UtcTicks - start.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
        for (var r = 0; r < runs; r++)
        {
            var runId = $"RUN_{r:D2}";
            RunIds.Add(runId);
            for (var i = 0; i < reportsPerRun; i++)
            {
                var withUsage = random.Next(10) < 7;
                Reports.Add(new Report(
                    runId, $"{runId}-e{i:D3}-{random.Next(1000):D3}", Agents[random.Next(Agents.Length)], "running", null,
                    $"step {i} of {runId}", random.Next(0, 101),
                    start.AddMilliseconds(r * 10_000 + random.Next(0, reportsPerRun) * 2),
                    withUsage ? random.Next(0, 5000) : null, withUsage ? random.Next(0, 2000) : null,
                    random.Next(1000)));
            }
            // The publisher's completion, later than every other report of the run.
            Finals.Add(new Report(runId, $"{runId}-final", "publisher", "completed", null, null, null,
                start.AddMilliseconds(r * 10_000 + 5_000), random.Next(0, 5000), random.Next(0, 2000), random.Next(1000)));
        }
    }

    public int Seed { get; }
    public string ProjectId { get; }
    public List<string> RunIds { get; } = [];

    /// <summary>Every run's progress reports (not final).</summary>
    public List<Report> Reports { get; } = [];

    /// <summary>One completing report per run, sent once the others are applied.</summary>
    public List<Report> Finals { get; } = [];

    public IEnumerable<Report> All => Reports.Concat(Finals);

    /// <summary>One send of a report, through the queue or over HTTP.</summary>
    public sealed record Delivery(Report Report, bool ViaQueue);

    /// <summary>Each report <paramref name="minCopies"/> to <paramref name="maxCopies"/> times, about half through the queue, all shuffled.</summary>
    public List<Delivery> Deliveries(IEnumerable<Report> reports, int minCopies, int maxCopies, int salt)
    {
        var random = new Random(Seed * 31 + salt);
        return [.. reports
            .SelectMany(report => Enumerable.Range(0, random.Next(minCopies, maxCopies + 1)).Select(_ => new Delivery(report, random.Next(2) == 0)))
            .OrderBy(_ => random.Next())];
    }

    public sealed record Report(
        string RunId, string EventId, string Agent, string Status, string? RunStatus, string? Message, int? Progress,
        DateTimeOffset Timestamp, int? InputTokens, int? OutputTokens, int Mark)
    {
        public bool HasUsage => InputTokens is not null;

        /// <summary>Each part rounded once to the micro-dollar, half away from zero.</summary>
        public long CostMicros => HasUsage ? Round(InputTokens!.Value * InputMicrosPerToken) + Round(OutputTokens!.Value * OutputMicrosPerToken) : 0;

        public long Tokens => HasUsage ? InputTokens!.Value + OutputTokens!.Value : 0;

        /// <summary>The order last-writer-wins uses: timestamp, then event id (ordinal).</summary>
        public string Clock => Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) + "|" + EventId;

        public JsonObject Body(string projectId)
        {
            var body = new JsonObject
            {
                ["projectId"] = projectId,
                ["runId"] = RunId,
                ["eventId"] = EventId,
                ["agent"] = Agent,
                ["status"] = Status,
                ["timestamp"] = Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                // One metadata leaf per agent: last-writer-wins per leaf, computed below.
                ["metadata"] = new JsonObject { [Agent] = new JsonObject { ["mark"] = Mark } },
            };
            if (Message is not null) body["message"] = Message;
            if (Progress is not null) body["progress"] = Progress;
            if (RunStatus is not null) body["runStatus"] = RunStatus;
            if (HasUsage)
            {
                body["usage"] = new JsonObject { ["model"] = "gpt-4o-mini", ["inputTokens"] = InputTokens, ["outputTokens"] = OutputTokens };
            }
            return body;
        }
    }

    private static long Round(decimal micros) => (long)Math.Round(micros, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Compares what the ledger answers with the expectation; returns every difference found
    /// (empty when the ledger is exact). Reads go through <paramref name="client"/> (the app's API).
    /// </summary>
    public async Task<List<string>> DifferencesAsync(HttpClient client)
    {
        var differences = new List<string>();
        void Expect<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual)) differences.Add($"{what}: expected {expected}, got {actual}");
        }

        long projectMicros = 0;
        foreach (var runId in RunIds)
        {
            var reports = All.Where(r => r.RunId == runId).ToList();
            var progress = reports.Where(r => r.Status != "completed").ToList();
            var final = reports.Single(r => r.Status == "completed");
            var micros = reports.Sum(r => r.CostMicros);
            projectMicros += micros;
            var latest = progress.MaxBy(r => r.Clock, StringComparer.Ordinal)!;

            var run = await GetJsonAsync(client, $"/api/projects/{ProjectId}/runs/{runId}");
            Expect("completed", (string?)run["status"], $"{runId} status");
            Expect(latest.Message, (string?)run["message"], $"{runId} message (last writer by timestamp, then event id)");
            Expect(latest.Progress, (int?)run["progress"], $"{runId} progress");
            Expect("publisher", (string?)run["step"], $"{runId} step");
            foreach (var agent in reports.Select(r => r.Agent).Distinct())
            {
                var mark = reports.Where(r => r.Agent == agent).MaxBy(r => r.Clock, StringComparer.Ordinal)!.Mark;
                Expect<int?>(mark, (int?)run[agent]?["mark"], $"{runId} {agent}.mark");
            }
            Expect(micros, (long?)run["totalCostMicros"], $"{runId} totalCostMicros");
            Expect(reports.Sum(r => r.Tokens), (long?)run["totalTokens"], $"{runId} totalTokens");
            Expect(null, (long?)run["unpricedSteps"], $"{runId} unpricedSteps");
            Expect(reports.Min(r => r.Timestamp), DateTimeOffset.Parse((string)run["startedAt"]!, CultureInfo.InvariantCulture), $"{runId} startedAt");
            Expect(final.Timestamp, DateTimeOffset.Parse((string)run["completedAt"]!, CultureInfo.InvariantCulture), $"{runId} completedAt");
            var subtotalCents = (long)Math.Round(micros / 10_000m, MidpointRounding.AwayFromZero);
            var markupCents = (long)Math.Round(micros * 0.20m / 10_000m, MidpointRounding.AwayFromZero);
            Expect(subtotalCents / 100m, (decimal?)run["invoice"]?["subtotal"], $"{runId} invoice subtotal");
            Expect((subtotalCents + markupCents) / 100m, (decimal?)run["invoice"]?["total"], $"{runId} invoice total");

            // History: every report exactly once, numbered 1..n without gaps, as sent.
            var events = (await GetJsonAsync(client, $"/api/projects/{ProjectId}/runs/{runId}/events?limit=1000"))["items"]!.AsArray()
                .Select(e => e!.AsObject()).ToList();
            Expect(reports.Count, events.Count, $"{runId} event count");
            Expect(string.Join(",", Enumerable.Range(1, events.Count)), string.Join(",", events.Select(e => (long)e["seq"]!)), $"{runId} event sequence");
            var byId = reports.ToDictionary(r => r.EventId);
            foreach (var e in events)
            {
                if (!byId.TryGetValue((string)e["eventId"]!, out var report))
                {
                    differences.Add($"{runId} has an event nobody sent: {e["eventId"]}");
                    continue;
                }
                Expect(report.Agent, (string?)e["agent"], $"{report.EventId} agent");
                Expect(report.Message, (string?)e["message"], $"{report.EventId} message");
                Expect(report.Progress, (int?)e["progress"], $"{report.EventId} progress");
                Expect(report.InputTokens, (int?)e["usage"]?["inputTokens"], $"{report.EventId} usage");
            }
            Expect(reports.Count, events.Select(e => (string)e["eventId"]!).Distinct().Count(), $"{runId} distinct event ids");

            // Cost rows: one per report with usage, each priced exactly, summing to the total.
            var costs = await GetJsonAsync(client, $"/api/projects/{ProjectId}/runs/{runId}/costs");
            var rows = costs["rows"]!.AsArray().Select(r => r!.AsObject()).ToList();
            Expect(reports.Count(r => r.HasUsage), rows.Count, $"{runId} cost rows");
            foreach (var row in rows)
            {
                if (byId.TryGetValue((string)row["eventId"]!, out var report))
                {
                    Expect(report.CostMicros, (long?)row["costMicros"], $"{report.EventId} costMicros");
                }
                else
                {
                    differences.Add($"{runId} has a cost row nobody sent: {row["eventId"]}");
                }
            }
            Expect(rows.Count, rows.Select(r => (string)r["eventId"]!).Distinct().Count(), $"{runId} distinct cost rows");
            Expect(micros, (long?)costs["totalCostMicros"], $"{runId} /costs totalCostMicros");
        }

        // Analytics (projected after each run's own transaction) count every run once.
        var summary = await GetJsonAsync(client, $"/api/costs/summary?projectId={ProjectId}");
        Expect(RunIds.Count, (int?)summary["runCount"], "summary runCount");
        Expect(projectMicros, (long?)summary["totalCostMicros"], "summary totalCostMicros");
        return differences;
    }

    private static async Task<JsonObject> GetJsonAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {url} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Total micro-dollars of the whole workload.</summary>
    public long TotalMicros => All.Sum(r => r.CostMicros);
}
