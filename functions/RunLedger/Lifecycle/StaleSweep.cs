using Azure.Data.Tables;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Lifecycle;

/// <summary>
/// Finds queued or running runs with no activity for longer than their
/// <c>configSnapshot.pipeline.staleAfter</c> (default 2 hours) and marks them <c>stale: true</c>
/// with an event, or with <c>pipeline.failWhenStale: true</c> fails them.
/// </summary>
/// <remarks>
/// What it reads: the registered projects (<see cref="Keys.ProjectsPartition"/>, one small row per
/// project), then per project the active-runs rows that are due (<c>act|</c> range of the project's
/// partition, filtered on <c>StaleAt</c>), then each due run. Never the whole table: active rows
/// are kept in the runs' own transactions, and a single cross-project "active" partition could not
/// be (a transaction stays in one partition), while a query for <c>act|</c> rows across partitions
/// would be a table scan on the service's side. Safe to run twice or concurrently: each run is
/// re-read and changed on its ETag, so a second sweep finds it stale already and adds nothing.
/// </remarks>
public sealed partial class StaleSweep(RunStore runs, ProjectRegistry registry, LedgerStorage storage, RunSignals signals, TimeProvider clock, ILogger<StaleSweep> logger)
{
    public sealed record Result(int Projects, int Due, int Marked, int Failed, int Errors);

    public async Task<Result> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        int projects = 0, due = 0, marked = 0, failed = 0, errors = 0;
        await foreach (var projectId in registry.AllAsync(cancellationToken))
        {
            projects++;
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {projectId} and RowKey gt {Keys.ActivePrefix} and RowKey lt {Keys.ActiveEnd} and Stale eq {false} and StaleAt le {now}");
            var dueRuns = new List<string>();
            await foreach (var row in storage.Table.QueryAsync<TableEntity>(filter, 1000, ["RunId"], cancellationToken))
            {
                dueRuns.Add(row.GetString("RunId")!);
            }
            foreach (var runId in dueRuns)
            {
                due++;
                try
                {
                    switch (await SweepRunAsync(projectId, runId, now, cancellationToken))
                    {
                        case Outcome.Marked: marked++; break;
                        case Outcome.Failed: failed++; break;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One run's trouble (storage, contention) must not stop the sweep; the next sweep retries it.
                    errors++;
                    LogRunError(logger, e, projectId, runId);
                }
            }
        }
        var result = new Result(projects, due, marked, failed, errors);
        LogSwept(logger, result.Projects, result.Due, result.Marked, result.Failed, result.Errors);
        return result;
    }

    public enum Outcome { NotStale, Marked, Failed }

    /// <summary>Marks (or fails) one run if it is still active, not stale yet, and idle for longer than its limit.</summary>
    public async Task<Outcome> SweepRunAsync(string projectId, string runId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var run = await runs.GetAsync(projectId, runId, cancellationToken);
            if (run is null || RunStatus.IsTerminal(run.Status) || run.Stale) return Outcome.NotStale;
            var last = ActiveRuns.LastActivity(run);
            var staleAfter = ActiveRuns.StaleAfter(run.Document);
            if (last + staleAfter > now) return Outcome.NotStale;

            var doc = run.Document;
            var since = RunRules.Timestamp(last);
            var limit = ActiveRuns.Iso(staleAfter);
            TableTransactionAction evt;
            Outcome outcome;
            doc["updatedAt"] = RunRules.Timestamp(now);
            if (ActiveRuns.FailWhenStale(doc))
            {
                var error = $"Nothing happened since {since} (staleAfter {limit}); failed as stale.";
                doc["status"] = RunStatus.Failed;
                doc["completedAt"] = RunRules.Timestamp(now);
                doc["error"] = error;
                Costs.CostLedger.ShowTotals(run);
                evt = LedgerEvents.Next(run, RunStatus.Failed, "Failed as stale", now, error);
                outcome = Outcome.Failed;
            }
            else
            {
                doc["stale"] = true;
                doc["staleSince"] = since;
                evt = LedgerEvents.Next(run, "stale", $"No change since {since} (staleAfter {limit}).", now);
                outcome = Outcome.Marked;
            }
            try
            {
                await runs.SaveAsync(run, [evt], cancellationToken, RunSave.Sweep);
                LogStale(logger, projectId, runId, since, outcome.ToString());
                signals.Notify(projectId, runId);
                return outcome;
            }
            catch (TableTransactionFailedException e) when (e.Status == 412 && attempt < Contention.MaxAttempts)
            {
                // A report, a PATCH or another sweep changed the run meanwhile: re-read and decide again.
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Run {RunId} of project {ProjectId} idle since {Since}: {Outcome}")]
    private static partial void LogStale(ILogger logger, string projectId, string runId, string since, string outcome);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information,
        Message = "Stale sweep: {Projects} projects, {Due} runs due, {Marked} marked stale, {Failed} failed as stale, {Errors} left for the next sweep")]
    private static partial void LogSwept(ILogger logger, int projects, int due, int marked, int failed, int errors);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Stale sweep could not check run {RunId} of project {ProjectId}")]
    private static partial void LogRunError(ILogger logger, Exception exception, string projectId, string runId);
}
