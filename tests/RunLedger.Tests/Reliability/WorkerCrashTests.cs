using System.Diagnostics;
using Azure.Data.Tables;
using RunLedger.Tests.Support;
using Xunit.Abstractions;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// The worker process is killed (SIGKILL, as <c>kill -9</c>) twice while agents deliver reports
/// through the queue and over HTTP; the host restarts it with back-off. After the drain every
/// run must be exactly what an independent computation says: nothing lost, nothing counted twice.
/// </summary>
[Collection(ReliabilitySuite.Name)]
public sealed class WorkerCrashTests(WorkerCrashTests.Host host, ITestOutputHelper output) : LedgerTest(host), IClassFixture<WorkerCrashTests.Host>
{
    public sealed class Host : LedgerHost
    {
        protected override TimeSpan? QueueMessageLease => TimeSpan.FromSeconds(6);

        protected override IEnumerable<KeyValuePair<string, string>> QueueSettings =>
            [new("visibilityTimeout", "00:00:00.500"), new("maxPollingInterval", "00:00:01")];
    }

    [Fact]
    public async Task KillingTheWorkerTwiceUnderLoadLosesNothingAndCountsNothingTwice()
    {
        var figures = new Figures("worker-crash", output);
        try
        {
            await RunAsync(figures);
        }
        finally
        {
            figures.Save();
        }
    }

    private async Task RunAsync(Figures figures)
    {
        var seed = ReliabilitySuite.Seed(20261126);
        var workload = new RedeliveryWorkload(seed, P, runs: 8, reportsPerRun: 40, DateTimeOffset.UtcNow);
        var agents = new Agents(Client, App.Progress);
        figures.Line($"seed {seed} (replay: RELIABILITY_SEED={seed}); {workload.RunIds.Count} runs, {workload.Reports.Count} progress reports + {workload.Finals.Count} completions; two kills of the worker");
        var clock = Stopwatch.StartNew();

        await agents.StartRunsAsync(P, workload.RunIds);
        var deliveries = workload.Deliveries(workload.Reports, 1, 5, salt: 1);
        var sending = agents.DeliverAsync(P, deliveries, concurrency: 8);

        // First kill with a third of the deliveries out; the second once the restarted worker is busy again.
        await Eventually.HoldsAsync(() => Task.FromResult(agents.Done >= deliveries.Count / 3 || sending.IsCompleted), "a third of the deliveries", 120);
        var applied = new List<long>();
        for (var kill = 1; kill <= 2; kill++)
        {
            var before = await AppliedEventsAsync();
            var process = App.Harness.Host.Supervisor.Process!;
            var pid = process.Id;
            App.Harness.KillWorker();
            await process.WaitForExitAsync();
            var down = Stopwatch.StartNew();
            figures.Line($"kill {kill} of worker {pid} at {clock.Elapsed.TotalSeconds:F1} s: {agents.Done} of {deliveries.Count} deliveries sent, {before} events applied");
            await Eventually.HoldsAsync(() => Task.FromResult(App.Harness.Host.Supervisor.Process is { HasExited: false } p && p.Id != pid), "a new worker process", 60);
            await App.Harness.WaitForWorkerAsync(TimeSpan.FromSeconds(60));
            figures.Line($"worker {App.Harness.Host.Supervisor.Process!.Id} ready {down.Elapsed.TotalSeconds:F1} s after the kill");
            applied.Add(before);
            if (kill == 1)
            {
                // Let the new worker take some load before it dies too.
                var target = await AppliedEventsAsync() + 60;
                await Eventually.HoldsAsync(async () => await AppliedEventsAsync() >= target || sending.IsCompleted && await App.Progress.CountAsync() == 0, "the new worker applying reports", 120);
            }
        }

        await sending;
        await Agents.AppliedAsync(Client, P, workload.Reports, TimeSpan.FromMinutes(3));
        var finals = workload.Deliveries(workload.Finals, 1, 3, salt: 2);
        await agents.DeliverAsync(P, finals, concurrency: 8);
        await Agents.AppliedAsync(Client, P, workload.All, TimeSpan.FromMinutes(2));
        await App.ProgressDrainedAsync(TimeSpan.FromMinutes(1));
        figures.Line($"drained at {clock.Elapsed.TotalSeconds:F1} s");

        var differences = await workload.DifferencesAsync(Client);
        var poisoned = await App.ProgressPoison.CountAsync();
        var restarts = App.Harness.Logs.Count(l => l.Message.Contains("restarting in", StringComparison.Ordinal));
        figures.Line($"deliveries: {deliveries.Count + finals.Count} ({agents.QueueSends} queue, {agents.HttpSends} HTTP) of {workload.All.Count()} reports; {workload.TotalMicros} micro-dollars expected");
        figures.Counts("HTTP answers to agents (retries included)", agents.Answers);
        figures.Line($"worker restarts logged by the host: {restarts}; poison messages: {poisoned}");
        figures.Line($"differences from the independent computation: {differences.Count}");
        foreach (var difference in differences.Take(20)) figures.Line($"  {difference}");
        foreach (var failure in agents.Failures.Take(10)) figures.Line($"  agent failure: {failure}");

        Assert.Equal(2, restarts);
        Assert.True(applied[0] < workload.Reports.Count && applied[1] < workload.All.Count(), "the kills came before everything was applied");
        Assert.Empty(differences);
        Assert.Empty(agents.Failures);
        Assert.Equal(0, poisoned);
    }

    /// <summary>Events applied so far in this test's project, counted in storage (works while the worker is down).</summary>
    private async Task<long> AppliedEventsAsync()
    {
        long count = 0;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {P} and RowKey ge {"evt|"} and RowKey lt {"evt}"}");
        await foreach (var _ in App.Table.QueryAsync<TableEntity>(filter, select: ["RowKey"])) count++;
        return count;
    }
}
