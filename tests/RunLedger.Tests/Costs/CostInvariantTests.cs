using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Costs;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Costs;

/// <summary>Money stays exact however the queue delivers: totals always equal the sum of unique cost rows.</summary>
public sealed class CostInvariantTests : IAsyncLifetime
{
    private const int Runs = 20;
    private const int ReportsPerRun = 500; // 10,000 reports in all

    private readonly LedgerComponents _ledger = new();

    public Task InitializeAsync() => _ledger.InitializeAsync();

    public Task DisposeAsync() => _ledger.DisposeAsync();

    [Fact]
    public async Task TotalsEqualTheSumOfUniqueCostRowsAfterTenThousandReportsWithDuplicatesAndReordering()
    {
        var random = new Random(20260115);
        var handler = _ledger.Get<ProgressHandler>();
        var starter = _ledger.Get<PipelineStarter>();
        var expected = new Dictionary<string, (long Micros, long Tokens)>();
        var deliveries = new Dictionary<string, List<ProgressReport>>();

        for (var r = 0; r < Runs; r++)
        {
            var runId = $"run{r:D2}";
            await starter.StartAsync(StartRequest.Parse(JsonNode.Parse($$"""{"projectId":"p1","runId":"{{runId}}"}""")!.AsObject()), null, default);
            var reports = new List<ProgressReport>();
            long micros = 0, tokens = 0;
            for (var i = 0; i < ReportsPerRun; i++)
            {
                // gpt-4o-mini: $0.15 and $0.60 per 1M tokens, so most parts are fractions of a micro-dollar
                // before rounding; each part rounds once, half away from zero.
                int input = random.Next(0, 5000), output = random.Next(0, 2000);
                micros += Round(input * 0.15m) + Round(output * 0.60m);
                tokens += input + output;
                reports.Add(ProgressReport.Parse(JsonNode.Parse($$$"""
                    {"projectId":"p1","runId":"{{{runId}}}","eventId":"{{{runId}}}-{{{i}}}","agent":"agent{{{i % 4}}}",
                     "usage":{"model":"gpt-4o-mini","inputTokens":{{{input}}},"outputTokens":{{{output}}}}}
                    """)!.AsObject(), "unused", DateTimeOffset.UtcNow));
            }
            expected[runId] = (micros, tokens);
            // About one report in five is delivered again, and everything arrives shuffled.
            deliveries[runId] = reports.Concat(reports.Where(_ => random.Next(5) == 0)).OrderBy(_ => random.Next()).ToList();
        }

        // Runs in parallel, and two deliveries at a time within each run so writers race on its ETag.
        await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (entry, ct) =>
        {
            foreach (var pair in entry.Value.Chunk(2))
            {
                await Task.WhenAll(pair.Select(report => handler.ApplyAsync(report, ct)));
            }
        });

        foreach (var (runId, (micros, tokens)) in expected)
        {
            var costs = await LedgerComponents.BodyAsync(_ledger.Functions<CostsFunctions>().GetRunCosts(LedgerComponents.Request(), "p1", runId, default));
            var rows = costs["rows"]!.AsArray();
            Assert.Equal(ReportsPerRun, rows.Count);
            Assert.Equal(ReportsPerRun, rows.Select(r => (string)r!["eventId"]!).Distinct().Count());
            Assert.Equal(rows.Sum(r => (long)r!["costMicros"]!), (long)costs["totalCostMicros"]!);
            Assert.Equal(micros, (long)costs["totalCostMicros"]!);
            Assert.Equal(tokens, (long)costs["totalTokens"]!);
        }
    }

    /// <summary>Micro-dollars of <paramref name="tokens"/> at a per-1M price: tokens × price micro-dollars, rounded once.</summary>
    private static long Round(decimal microDollars) => (long)Math.Round(microDollars, MidpointRounding.AwayFromZero);
}
