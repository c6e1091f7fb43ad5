using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Lifecycle;

/// <summary>
/// Deletes final runs that ended more than <see cref="LedgerOptions.RetentionDays"/> days ago,
/// with everything of theirs in the project's partition: first it marks the run as being purged
/// (on its ETag; reports then treat the run as gone), then deletes its events, event-id markers,
/// cost rows and the idempotency record that created it, and last the run row and its index entry
/// together with the project's counts (one transaction). The cost analytics
/// (<see cref="Keys.CostsPartition"/>) keep their rows. Off while <c>RetentionDays</c> is 0.
/// </summary>
/// <remarks>
/// Batched: at most 100 deletes per transaction, all in one partition. Resumable: the run row goes
/// last, so a purge stopped halfway leaves the run listed (and marked) and the next purge deletes
/// what is left. Never counts a report twice: the mark comes before any event-id marker is deleted,
/// so a report redelivered in between finds no run (it is retried, then poisoned) instead of
/// applying again. A report that changed the run before the mark makes the mark fail on the ETag,
/// and the purge re-reads the run and starts over. What it reads: the registered
/// projects, then per project the index rows of runs created before the limit (a key range), then
/// each candidate's own key ranges. Active runs and runs younger than the limit are never touched.
/// </remarks>
public sealed partial class RetentionPurge(RunStore runs, ProjectRegistry registry, LedgerStorage storage, IOptions<LedgerOptions> options, TimeProvider clock, ILogger<RetentionPurge> logger)
{
    public const int MaxBatch = 100;

    private TableClient Table => storage.Table;

    public sealed record Result(int Projects, int Runs, long Rows, int Errors);

    public async Task<Result> RunAsync(CancellationToken cancellationToken)
    {
        var days = options.Value.RetentionDays;
        if (days <= 0)
        {
            LogOff(logger);
            return new Result(0, 0, 0, 0);
        }
        var cutoff = clock.GetUtcNow().AddDays(-days);
        int projects = 0, purged = 0, errors = 0;
        long rows = 0;
        await foreach (var projectId in registry.AllAsync(cancellationToken))
        {
            projects++;
            // Runs that ended before the cutoff were created before it: their index rows are the tail of the range.
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {projectId} and RowKey ge {Keys.IndexRowsCreatedBefore(cutoff)} and RowKey lt {Keys.IndexEnd}");
            var candidates = new List<string>();
            await foreach (var row in Table.QueryAsync<TableEntity>(filter, 1000, ["RunId", "Status"], cancellationToken))
            {
                if (RunStatus.IsTerminal(row.GetString("Status"))) candidates.Add(row.GetString("RunId")!);
            }
            foreach (var runId in candidates)
            {
                try
                {
                    if (await PurgeRunAsync(projectId, runId, cutoff, cancellationToken) is { } deleted)
                    {
                        purged++;
                        rows += deleted;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    errors++;
                    LogRunError(logger, e, projectId, runId);
                }
            }
        }
        LogPurged(logger, days, projects, purged, rows, errors);
        return new Result(projects, purged, rows, errors);
    }

    /// <summary>Deletes one run if it is final and ended before <paramref name="cutoff"/>; the number of rows deleted, or null.</summary>
    public async Task<long?> PurgeRunAsync(string projectId, string runId, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        long deleted = 0;
        for (var attempt = 1; ; attempt++)
        {
            var run = await runs.GetAsync(projectId, runId, cancellationToken);
            if (run is null || !RunStatus.IsTerminal(run.Status) || !(EndedAt(run) < cutoff)) return null;

            // First the run is marked (on its ETag): from then on no report applies to it, so none
            // can count again once its event-id marker is gone. A report that changed the run since
            // it was read makes the mark fail, and the purge reads it again.
            if (!run.Purging)
            {
                try
                {
                    await runs.MarkPurgingAsync(run, cancellationToken);
                }
                catch (RequestFailedException e) when (e.Status is 404 or 412 && attempt < Contention.MaxAttempts)
                {
                    await Contention.DelayAsync(attempt, cancellationToken);
                    continue;
                }
            }

            // Everything of the run but the run row and its index entry, batch by batch.
            var rows = await ChildRowsAsync(run, cancellationToken);
            var raced = false;
            foreach (var batch in rows.Chunk(MaxBatch))
            {
                try
                {
                    await Table.SubmitTransactionAsync(
                        batch.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(projectId, key), ETag.All)),
                        cancellationToken);
                    deleted += batch.Length;
                }
                catch (TableTransactionFailedException e) when (e.Status == 404 && attempt < Contention.MaxAttempts)
                {
                    // Another purge deleted some of these meanwhile (and the batch nothing): read again what is left.
                    raced = true;
                    break;
                }
            }
            if (raced)
            {
                await Contention.DelayAsync(attempt, cancellationToken);
                continue;
            }

            // Last, in one transaction: the run (on its ETag: a late report starts the run over), its
            // index entry, and the project's counts.
            var (counts, countsRow) = await runs.CountsForChangeAsync(projectId, cancellationToken);
            counts.Add(run.Status, run.Stale, -1);
            try
            {
                await Table.SubmitTransactionAsync(
                [
                    new(TableTransactionActionType.Delete, new TableEntity(projectId, Keys.RunRow(runId)), run.ETag),
                    new(TableTransactionActionType.Delete, new TableEntity(projectId, run.IndexRowKey), ETag.All),
                    RunStore.CountsAction(counts, projectId, countsRow),
                ], cancellationToken);
                deleted += 2;
                LogRunPurged(logger, projectId, runId, deleted);
                return deleted;
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412 && attempt < Contention.MaxAttempts)
            {
                // The run changed, the counts moved, or another purge got there first: look again.
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    private static DateTimeOffset? EndedAt(RunRecord run) =>
        DateTimeOffset.TryParse((string?)run.Document["completedAt"], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    /// <summary>The run's events, event-id markers, cost rows, callback records and secrets, active-runs entry and idempotency record, as they are now.</summary>
    private async Task<List<string>> ChildRowsAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var (p, r) = (run.ProjectId, run.RunId);
        var keys = new List<string>();
        foreach (var (from, to) in Keys.RunChildRanges(r))
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {p} and RowKey ge {from} and RowKey lt {to}");
            await foreach (var row in Table.QueryAsync<TableEntity>(filter, 1000, ["RowKey"], cancellationToken)) keys.Add(row.RowKey);
        }
        if (await Table.FindAsync(p, Keys.ActiveRow(r), cancellationToken) is not null) keys.Add(Keys.ActiveRow(r));
        if (await Table.FindAsync(p, Keys.CallbackSecretsRow(r), cancellationToken) is not null) keys.Add(Keys.CallbackSecretsRow(r));
        if (run.IdempotencyRow is { } idem)
        {
            if (await Table.FindAsync(p, idem, cancellationToken) is not null) keys.Add(idem);
        }
        else
        {
            // Runs stored before the record's key was kept on the run: find it by the run id it names.
            var (from, to) = Keys.IdempotencyRange();
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {p} and RowKey ge {from} and RowKey lt {to} and RunId eq {r}");
            await foreach (var row in Table.QueryAsync<TableEntity>(filter, 1000, ["RowKey"], cancellationToken)) keys.Add(row.RowKey);
        }
        return keys;
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Retention is off (RunLedger__RetentionDays is 0); nothing purged")]
    private static partial void LogOff(ILogger logger);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Run {RunId} of project {ProjectId} purged ({Rows} rows)")]
    private static partial void LogRunPurged(ILogger logger, string projectId, string runId, long rows);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Information,
        Message = "Retention ({Days} days): {Projects} projects, {Runs} runs purged, {Rows} rows deleted, {Errors} left for the next purge")]
    private static partial void LogPurged(ILogger logger, int days, int projects, int runs, long rows, int errors);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Warning, Message = "Retention could not purge run {RunId} of project {ProjectId}")]
    private static partial void LogRunError(ILogger logger, Exception exception, string projectId, string runId);
}
