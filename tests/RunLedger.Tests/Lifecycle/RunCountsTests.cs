using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Lifecycle;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Lifecycle;

/// <summary>The counts row, kept at write time, always equals a recount of the runs themselves.</summary>
public sealed class RunCountsTests : ComponentTest
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FixedClock _clock = new(T0);

    public RunCountsTests()
    {
        App.Clock = _clock;
    }

    private async Task<JsonObject> CountsAsync(string projectId) =>
        await LedgerComponents.BodyAsync(App.Functions<LifecycleFunctions>().GetRunCounts(LedgerComponents.Request(), projectId, default));

    /// <summary>A full scan of the project's run rows: status and stale as the runs themselves say.</summary>
    private async Task<JsonObject> RecountFromRunRowsAsync(string projectId)
    {
        var counts = RunStatus.All.ToDictionary(s => s, _ => 0L);
        long stale = 0;
        await foreach (var row in App.Storage.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {projectId}")))
        {
            if (!row.RowKey.StartsWith("run|", StringComparison.Ordinal)) continue;
            var run = (await App.Get<RunStore>().GetAsync(projectId, row.RowKey[4..], default))!;
            counts[run.Status]++;
            if (run.Stale) stale++;
        }
        var json = new JsonObject { ["projectId"] = projectId, ["total"] = counts.Values.Sum() };
        foreach (var (status, count) in counts) json[status] = count;
        json["stale"] = stale;
        return json;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task CountsEqualAFullRecountAfterARandomizedWorkloadWithRedeliveriesAndConcurrency(int seed)
    {
        var random = new Random(seed);
        var runIds = Enumerable.Range(0, 12).Select(i => $"r{i}").ToList();
        await Task.WhenAll(runIds.Select((runId, i) => App.Get<PipelineStarter>().StartAsync(StartRequest.Parse(JsonNode.Parse(
            $$"""{"projectId":"p1","runId":"{{runId}}","config":{"pipeline":{"staleAfter":"PT10M","failWhenStale":""" + (i % 3 == 0 ? "true" : "false") + "}}}")!.AsObject()), null, default)));

        // Each step is a batch of operations run concurrently: reports (each sent one to three
        // times), PATCHes, cancels (some twice), and a stale sweep, with the clock moving on.
        var handler = App.Get<ProgressHandler>();
        for (var step = 0; step < 8; step++)
        {
            var operations = new List<Func<Task>>();
            for (var i = 0; i < 10; i++)
            {
                var runId = runIds[random.Next(runIds.Count)];
                var eventId = $"s{step}-{i}";
                var kind = random.Next(10);
                var fields = kind switch
                {
                    0 => ""","runStatus":"completed" """,
                    1 => ""","status":"failed","error":"boom" """,
                    _ => ""","message":"working" """,
                };
                if (kind <= 7)
                {
                    var report = ProgressReport.Parse(JsonNode.Parse($$"""{"projectId":"p1","runId":"{{runId}}","agent":"voice"{{fields}}}""")!.AsObject(), eventId, _clock.Now);
                    for (var copy = 0; copy < 1 + random.Next(3); copy++) operations.Add(() => handler.ApplyAsync(report, default));
                }
                else if (kind == 8)
                {
                    for (var copy = 0; copy < 1 + random.Next(2); copy++) operations.Add(() => Swallow409(App.Get<RunCanceller>().CancelAsync("p1", runId, "test", default)));
                }
                else
                {
                    var patch = JsonNode.Parse("""{"status":"running","step":"patched"}""")!.AsObject();
                    operations.Add(() => Swallow409(App.Get<RunPatcher>().PatchAsync("p1", runId, patch, null, default)));
                }
            }
            operations.Add(() => App.Get<StaleSweep>().RunAsync(default));
            await Task.WhenAll(operations.OrderBy(_ => random.Next()).Select(op => Task.Run(op)));
            _clock.Now += TimeSpan.FromMinutes(random.Next(2, 9));
        }
        _clock.Now += TimeSpan.FromMinutes(11);
        await App.Get<StaleSweep>().RunAsync(default);

        var expected = await RecountFromRunRowsAsync("p1");
        Assert.Equal(expected.ToJsonString(), (await CountsAsync("p1")).ToJsonString());
        Assert.Equal(12, (long)expected["total"]!);
        // The workload reached several statuses, so the comparison means something.
        Assert.True(RunStatus.All.Count(s => (long)expected[s]! > 0) >= 3, expected.ToJsonString());
    }

    private static async Task Swallow409(Task task)
    {
        try
        {
            await task;
        }
        catch (RunLedger.Http.LedgerException e) when (e.Status == 409)
        {
            // Cancelling or patching a run that is final already: refused, as it should be.
        }
    }

    [Fact]
    public async Task RunsStoredBeforeCountsWereKeptAreRecountedOnTheFirstChange()
    {
        for (var i = 0; i < 3; i++)
        {
            await App.Get<PipelineStarter>().StartAsync(StartRequest.Parse(JsonNode.Parse($$"""{"projectId":"p1","runId":"r{{i}}"}""")!.AsObject()), null, default);
        }
        // As if counts had never been kept: no counts row.
        await App.Storage.Table.DeleteEntityAsync("p1", "counts");
        Assert.Equal(3, (long)(await CountsAsync("p1"))["queued"]!); // answered by a recount, nothing written

        await App.Get<RunCanceller>().CancelAsync("p1", "r0", null, default);

        var counts = await CountsAsync("p1");
        Assert.Equal(2, (long)counts["queued"]!);
        Assert.Equal(1, (long)counts["cancelled"]!);
        Assert.Equal((await RecountFromRunRowsAsync("p1")).ToJsonString(), counts.ToJsonString());
    }

    [Fact]
    public async Task AProjectWithoutRunsCountsZero()
    {
        var counts = await CountsAsync("nobody");
        Assert.Equal(0, (long)counts["total"]!);
        Assert.Equal(0, (long)counts["queued"]!);
    }
}
