using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Lifecycle;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Lifecycle;

/// <summary>The retention purge deletes exactly the final runs older than the limit, and finishes after a crash.</summary>
public sealed class RetentionTests : ComponentTest
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FixedClock _clock = new(T0);
    private readonly BatchFault _fault = new();

    public RetentionTests()
    {
        App.With("RunLedger:RetentionDays", "30");
        App.Clock = _clock;
        App.WithStoragePolicy(_fault);
    }

    private async Task StartAsync(string projectId, string runId, string? idempotencyKey = null) =>
        await App.Get<PipelineStarter>().StartAsync(StartRequest.Parse(JsonNode.Parse(
            $$"""{"projectId":"{{projectId}}","runId":"{{runId}}"}""")!.AsObject()), idempotencyKey, default);

    private async Task ReportAsync(string projectId, string runId, string eventId, string fields = "") =>
        await App.Get<ProgressHandler>().ApplyAsync(ProgressReport.Parse(JsonNode.Parse(
            $$"""{"projectId":"{{projectId}}","runId":"{{runId}}","agent":"voice"{{fields}}}""")!.AsObject(), eventId, _clock.Now), default);

    /// <summary>Every row of the table: partition, row key and ETag.</summary>
    private async Task<SortedSet<string>> ScanAsync()
    {
        var rows = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var row in App.Storage.Table.QueryAsync<TableEntity>(maxPerPage: 1000)) rows.Add($"{row.PartitionKey}/{row.RowKey}/{row.ETag}");
        return rows;
    }

    /// <summary>
    /// p1: "old" runs that ended 40 days before the purge (completed with 150 events and costs, so
    /// more than one batch; failed; cancelled), one created long ago but still running, one that ended
    /// only 10 days before; p2: one old completed run. The old final runs go, everything else stays.
    /// </summary>
    private async Task<string[]> WorkloadAsync()
    {
        await StartAsync("p1", "oldDone", idempotencyKey: "make-1");
        for (var i = 0; i < 150; i++) await ReportAsync("p1", "oldDone", $"e{i}", ""","usage":{"model":"tts-1","characters":100}""");
        await ReportAsync("p1", "oldDone", "last", ",\"runStatus\":\"completed\"");
        await StartAsync("p1", "oldFailed");
        await ReportAsync("p1", "oldFailed", "f", ",\"status\":\"failed\"");
        await StartAsync("p1", "oldCancelled");
        await App.Get<RunCanceller>().CancelAsync("p1", "oldCancelled", "stop", default);
        await StartAsync("p1", "oldActive");
        await ReportAsync("p1", "oldActive", "a");
        await StartAsync("p2", "oldDone2");
        await ReportAsync("p2", "oldDone2", "d", ",\"runStatus\":\"completed\"");
        await StartAsync("p1", "endedLate");
        _clock.Now = T0.AddDays(30);
        await ReportAsync("p1", "endedLate", "late", ",\"runStatus\":\"completed\"");
        await StartAsync("p1", "young");
        await ReportAsync("p1", "young", "y", ",\"runStatus\":\"completed\"");
        _clock.Now = T0.AddDays(40);
        return ["p1/run|oldDone", "p1/run|oldFailed", "p1/run|oldCancelled", "p2/run|oldDone2"];
    }

    private static bool BelongsTo(string row, string[] purged) =>
        purged.Any(run =>
        {
            var (p, r) = (run.Split('/')[0], run.Split("|")[1]);
            return row.StartsWith($"{p}/", StringComparison.Ordinal)
                && (row.Contains($"|{r}|", StringComparison.Ordinal) || row.Contains($"|{r}/", StringComparison.Ordinal));
        });

    private async Task AssertPurgedExactlyAsync(SortedSet<string> before, string[] purged)
    {
        var after = await ScanAsync();
        // Nothing of the purged runs is left in their partitions (idempotency records included).
        Assert.DoesNotContain(after, row => BelongsTo(row, purged) || row.StartsWith("p1/idem|", StringComparison.Ordinal));
        // Every other row is untouched (same ETag), but the counts rows, which moved with the purge.
        var kept = before.Where(row => !BelongsTo(row, purged) && !row.Contains("/counts/", StringComparison.Ordinal)
            && !row.StartsWith("p1/idem|", StringComparison.Ordinal)).ToList();
        Assert.Equal(kept, after.Where(row => !row.Contains("/counts/", StringComparison.Ordinal)).ToList());
        // The cost analytics kept the purged completed runs.
        Assert.Contains(after, row => row.StartsWith("~costs/run|p1|oldDone/", StringComparison.Ordinal));
        var counts = await LedgerComponents.BodyAsync(App.Functions<LifecycleFunctions>().GetRunCounts(LedgerComponents.Request(), "p1", default));
        Assert.Equal("""{"projectId":"p1","total":3,"queued":0,"running":1,"completed":2,"failed":0,"cancelled":0,"stale":0}""", counts.ToJsonString());
    }

    [Fact]
    public async Task APurgeDeletesExactlyTheFinalRunsOlderThanTheLimitWithTheirRows()
    {
        var purged = await WorkloadAsync();
        var before = await ScanAsync();
        Assert.Contains(before, row => row.StartsWith("p1/idem|", StringComparison.Ordinal));
        Assert.True(before.Count(row => BelongsTo(row, purged)) > 300); // events, markers and cost rows: several batches

        var result = await App.Get<RetentionPurge>().RunAsync(default);

        Assert.Equal(4, result.Runs);
        Assert.Equal(0, result.Errors);
        await AssertPurgedExactlyAsync(before, purged);
        Assert.Null(await App.Get<RunStore>().GetAsync("p1", "oldDone", default));

        var again = await App.Get<RetentionPurge>().RunAsync(default);
        Assert.Equal(0, again.Runs);
        await AssertPurgedExactlyAsync(before, purged);
    }

    [Fact]
    public async Task APurgeStoppedAfterItsFirstBatchIsFinishedByTheNextOne()
    {
        var purged = await WorkloadAsync();
        var before = await ScanAsync();

        _fault.FailBatchesAfter = 1; // storage goes away after the first transaction
        var crashed = await App.Get<RetentionPurge>().RunAsync(default);
        Assert.True(crashed.Errors > 0);
        var halfway = await ScanAsync();
        Assert.True(halfway.Count < before.Count && halfway.Any(row => BelongsTo(row, purged)), "The first batch ran and the rest did not.");
        Assert.NotNull(await App.Get<RunStore>().GetAsync("p1", "oldDone", default));

        _fault.FailBatchesAfter = null;
        var resumed = await App.Get<RetentionPurge>().RunAsync(default);

        Assert.Equal(0, resumed.Errors);
        await AssertPurgedExactlyAsync(before, purged);
    }

    [Fact]
    public async Task AReportRedeliveredWhileItsRunIsBeingPurgedNeverCountsItsCostAgain()
    {
        await App.Get<RunLedger.Projects.ProjectConfigs>().PutAsync("p3", JsonNode.Parse("""{"budget":{"monthlyUsd":100}}""")!.AsObject(), default);
        await StartAsync("p3", "costly");
        var cost = ProgressReport.Parse(JsonNode.Parse(
            """{"projectId":"p3","runId":"costly","agent":"video","usage":{"model":"gpt-4o","costUsd":2}}""")!.AsObject(), "cost-1", _clock.Now);
        Assert.Equal(ReportOutcome.Applied, (await App.Get<ProgressHandler>().ApplyAsync(cost, default)).Outcome);
        await ReportAsync("p3", "costly", "done", ",\"runStatus\":\"completed\"");
        _clock.Now = T0.AddDays(30).AddMinutes(1); // past the limit, still in the month of the cost

        // The purge deletes the run's rows (its event-id markers among them) but stops before the run row.
        _fault.FailBatchesAfter = 1;
        Assert.True((await App.Get<RetentionPurge>().RunAsync(default)).Errors > 0);
        Assert.NotNull(await App.Get<RunStore>().GetAsync("p3", "costly", default));
        _fault.FailBatchesAfter = null;

        // The queue delivers the cost report again meanwhile: the run is on its way out, so it is
        // not applied (retried, then poisoned, as for any unknown run), and nothing counts twice.
        Assert.Equal(ReportOutcome.RunNotFound, (await App.Get<ProgressHandler>().ApplyAsync(cost, default)).Outcome);
        Assert.Equal(0, (await App.Get<RetentionPurge>().RunAsync(default)).Errors);

        Assert.Null(await App.Get<RunStore>().GetAsync("p3", "costly", default));
        var budget = await App.Get<RunLedger.Budgets.BudgetLedger>().ShowAsync("p3", _clock.Now, default);
        Assert.Equal(2_000_000, (long)budget["spendMicros"]!);
        var analytics = App.Storage.Table.QueryAsync<TableEntity>(e => e.PartitionKey == RunLedger.Ledger.Keys.CostsPartition);
        var rows = await analytics.Where(r => r.RowKey.Contains("costly", StringComparison.Ordinal) && r.ContainsKey("CostMicros")).ToListAsync();
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(2_000_000, r.GetInt64("CostMicros")));
    }

    [Fact]
    public async Task RetentionIsOffUnlessRetentionDaysIsSet()
    {
        App.With("RunLedger:RetentionDays", null);
        await WorkloadAsync();
        var before = await ScanAsync();

        var result = await App.Get<RetentionPurge>().RunAsync(default);

        Assert.Equal(0, result.Runs);
        Assert.Equal(before, await ScanAsync());
    }

    /// <summary>Fails every entity-group transaction after the first <see cref="FailBatchesAfter"/>, like storage that went away.</summary>
    private sealed class BatchFault : HttpPipelineSynchronousPolicy
    {
        private int _batches;

        public int? FailBatchesAfter { get; set; }

        public override void OnSendingRequest(HttpMessage message)
        {
            if (FailBatchesAfter is not { } limit || !message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal)) return;
            if (Interlocked.Increment(ref _batches) > limit) throw new Azure.RequestFailedException(0, "Injected: storage unreachable.");
        }
    }
}
