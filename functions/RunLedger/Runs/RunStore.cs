using RunLedger.Http;
using System.Text;
using System.Text.Json.Nodes;
using Azure;
using RunLedger.Ledger;
using Azure.Data.Tables;

namespace RunLedger.Runs;

/// <summary>How a save counts for the stale sweep.</summary>
public enum RunSave
{
    /// <summary>Something happened to the run (a report, a PATCH, a cancel): it is not stale.</summary>
    Activity,

    /// <summary>The stale sweep's own change: the time of the last activity stays as it was.</summary>
    Sweep,
}

/// <summary>
/// Reads and writes runs in the ledger table. Every change to a run rewrites its row (conditioned
/// on the ETag read) and its index entry in one entity-group transaction, together with whatever
/// rows the change adds (events, costs, idempotency records) and the rows that follow the run's
/// lifecycle (<see cref="LifecycleActionsAsync"/>: the project's counts, the active-runs index).
/// </summary>
public sealed class RunStore(LedgerStorage storage, ProjectRegistry projects, IRunOutbox outbox, IProjectBudget budget, TimeProvider clock)
{
    private TableClient Table => storage.Table;

    /// <summary>
    /// What a listing shows of each run, and so all its index entry carries: every change rewrites
    /// the entry, so it stays small (no seed data, config, artifacts, metadata or invoice).
    /// </summary>
    public static readonly IReadOnlyList<string> IndexFields =
    [
        "projectId", "runId", "dossierId", "status", "step", "message", "progress", "error", "triggeredBy",
        "createdAt", "updatedAt", "startedAt", "completedAt",
        "totalTokens", "totalCost", "totalCostMicros", "unpricedSteps", "dashboardUrl", "stale",
    ];

    public async Task<RunRecord?> GetAsync(string projectId, string runId, CancellationToken cancellationToken)
    {
        var entity = await Table.FindAsync(projectId, Keys.RunRow(runId), cancellationToken);
        return entity is null ? null : FromEntity(entity);
    }

    /// <summary>The run, after checking the ids: a 400 for an invalid id, a 404 when there is no such run.</summary>
    public async Task<RunRecord> GetExistingAsync(string projectId, string runId, CancellationToken cancellationToken)
    {
        RouteIds.CheckRun(projectId, runId);
        return await GetAsync(projectId, runId, cancellationToken)
            ?? throw LedgerException.NotFound($"Run '{runId}' does not exist in project '{projectId}'.");
    }

    /// <summary>
    /// A run's status and event count and nothing else: one point read of two columns, which is
    /// what a live stream's poll needs (the run's events and its count are written in one
    /// transaction, so events 1..count exist once the count says so). Null when the run does not exist.
    /// </summary>
    public async Task<(string Status, long EventCount)?> GetProgressAsync(string projectId, string runId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<TableEntity>(
            projectId, Keys.RunRow(runId), ProgressColumns, cancellationToken);
        if (!response.HasValue) return null;
        var entity = response.Value!;
        return (entity.GetString("Status") ?? RunStatus.Queued, entity.GetInt64("EventCount") ?? 0);
    }

    private static readonly string[] ProgressColumns = ["Status", "EventCount"];

    /// <summary>
    /// Inserts a new run, its index entry and optionally an idempotency record, all or nothing,
    /// with its lifecycle rows (active-runs entry, project counts). A conflict surfaces as
    /// <see cref="TableTransactionFailedException"/> (409) naming the action: 0 = the run row,
    /// 2 = the idempotency record.
    /// </summary>
    /// <param name="extra">Rows created with the run, after the idempotency record (its callback secrets); upserts, so they never conflict.</param>
    public async Task CreateAsync(RunRecord run, string? idempotencyKey, CancellationToken cancellationToken, IEnumerable<TableEntity>? extra = null)
    {
        run.Version = 1;
        run.WriteId = Guid.NewGuid().ToString("N");
        run.LastActivity ??= clock.GetUtcNow();
        run.StoredStatus = null;
        run.StoredStale = false;
        if (idempotencyKey is not null) run.IdempotencyRow = Keys.IdempotencyRow(idempotencyKey);
        var change = run.Change;
        for (var attempt = 1; ; attempt++)
        {
            // The run takes the project's budget flag from the counts row its transaction swaps on
            // the ETag read here: a config PUT that turns a budget on changes that row in its own
            // transaction, so this start either sees the flag or fails and reads it again.
            var counts = await CountsForChangeAsync(run.ProjectId, cancellationToken);
            counts.Counts.Budgeted ??= await budget.IsSetAsync(run.ProjectId, cancellationToken);
            run.Budgeted = counts.Counts.Budgeted;
            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.Add, RunEntities.Run(run)),
                new(TableTransactionActionType.Add, RunEntities.Index(run)),
            };
            if (idempotencyKey is not null)
            {
                actions.Add(new(TableTransactionActionType.Add, new TableEntity(run.ProjectId, Keys.IdempotencyRow(idempotencyKey))
                {
                    ["RunId"] = run.RunId,
                    ["RequestHash"] = run.RequestHash,
                }));
            }
            foreach (var row in extra ?? []) actions.Add(new(TableTransactionActionType.UpsertReplace, row));
            var lifecycle = await LifecycleActionsAsync(actions, run, change, deleteActiveRow: true, cancellationToken, counts);
            try
            {
                run.ETag = (await Table.SubmitAsync(actions, cancellationToken))[0];
                break;
            }
            catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex == 0)
            {
                if (!await CommittedAsync(run, cancellationToken)) throw;
                break;
            }
            catch (TableTransactionFailedException e) when (lifecycle.LostCountsRace(e) && attempt < Contention.MaxAttempts)
            {
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
        Stored(run);
    }

    public const int IdempotencyActionIndex = 2;

    /// <summary>
    /// Saves a changed run (412 from storage when someone else changed it since it was read)
    /// together with <paramref name="extra"/> actions in the same partition, and the lifecycle rows
    /// the change calls for. A save that is activity (<paramref name="kind"/>) clears <c>stale</c>.
    /// When the save makes the run final or stale, the callbacks its config names are added to the
    /// same transaction (the outbox), with <paramref name="callbacks"/> raised by the caller (budget
    /// alerts), and queued for delivery once it commits.
    /// </summary>
    public async Task SaveAsync(RunRecord run, IEnumerable<TableTransactionAction>? extra, CancellationToken cancellationToken,
        RunSave kind = RunSave.Activity, IReadOnlyList<IOutboxRecord>? callbacks = null)
    {
        if (kind == RunSave.Activity) run.LastActivity = clock.GetUtcNow();
        if ((kind == RunSave.Activity || RunStatus.IsTerminal(run.Status)) && run.Stale)
        {
            // Something happened (or the run is over): it is not stale any more.
            run.Document["stale"] = false;
            run.Document.Remove("staleSince");
        }
        run.Version++;
        var previousWriteId = run.WriteId;
        run.WriteId = Guid.NewGuid().ToString("N");
        var change = run.Change;
        var rows = extra?.ToList() ?? [];
        List<IOutboxRecord> raised = [.. await outbox.ForRunChangeAsync(run, change, cancellationToken), .. callbacks ?? []];
        rows.AddRange(raised.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r.ToEntity())));
        var deleteActiveRow = true;
        if (raised.Count > 0)
        {
            try
            {
                await outbox.ScheduleAsync(raised, cancellationToken);
            }
            catch
            {
                run.Version--;
                run.WriteId = previousWriteId;
                throw;
            }
        }
        for (var attempt = 1; ; attempt++)
        {
            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.UpdateReplace, RunEntities.Run(run), run.ETag),
                new(TableTransactionActionType.UpsertReplace, RunEntities.Index(run)),
            };
            actions.AddRange(rows);
            var lifecycle = await LifecycleActionsAsync(actions, run, change, deleteActiveRow, cancellationToken);
            try
            {
                run.ETag = (await Table.SubmitAsync(actions, cancellationToken))[0];
                break;
            }
            catch (TableTransactionFailedException e) when (lifecycle.LostCountsRace(e) && attempt < Contention.MaxAttempts)
            {
                // Another run of the project changed the counts meanwhile; this run's ETag still holds.
                await Contention.DelayAsync(attempt, cancellationToken);
            }
            catch (TableTransactionFailedException e) when (lifecycle.ActiveRowMissing(e))
            {
                // A run started before the active-runs index existed has no entry to delete.
                deleteActiveRow = false;
            }
            catch (Exception e)
            {
                if (e is TableTransactionFailedException { Status: 412, FailedTransactionActionIndex: 0 }
                    && await CommittedAsync(run, cancellationToken))
                {
                    break;
                }
                run.Version--;
                run.WriteId = previousWriteId;
                throw;
            }
        }
        Stored(run);
        if (raised.Count > 0) await outbox.EnqueueAsync(raised, cancellationToken);
    }

    private static void Stored(RunRecord run)
    {
        run.StoredStatus = run.Status;
        run.StoredStale = run.Stale;
    }

    /// <summary>Where the lifecycle rows sit in a transaction, to tell which of them a failure names.</summary>
    private sealed record LifecycleRows(int? CountsIndex, int? ActiveDeleteIndex)
    {
        public bool LostCountsRace(TableTransactionFailedException e) =>
            CountsIndex is { } i && e.FailedTransactionActionIndex == i && e.Status is 409 or 412;

        public bool ActiveRowMissing(TableTransactionFailedException e) =>
            ActiveDeleteIndex is { } i && e.FailedTransactionActionIndex == i && e.Status == 404;
    }

    /// <summary>
    /// The rows that follow a run's lifecycle, appended to its transaction. This is the one place
    /// that compares the stored run with the saved one (<see cref="RunChange"/>): actions for "became
    /// final" or "became stale" belong here, so they commit or fail with the change itself.
    /// <list type="bullet">
    /// <item>active-runs index: <c>act|{runId}</c> rewritten while the run is queued or running
    /// (its last activity, when it turns stale), deleted when it becomes final;</item>
    /// <item>counts: the project's <c>counts</c> row, read and replaced on its ETag when status or
    /// stale changes; a project's first counted change recounts its index rows and registers the
    /// project in <see cref="Keys.ProjectsPartition"/>, where the timers find it.</item>
    /// </list>
    /// </summary>
    private async Task<LifecycleRows> LifecycleActionsAsync(
        List<TableTransactionAction> actions, RunRecord run, RunChange change, bool deleteActiveRow, CancellationToken cancellationToken,
        (RunCounts Counts, TableEntity? Row)? countsRead = null)
    {
        int? countsIndex = null, activeDeleteIndex = null;
        if (change.IsActive)
        {
            actions.Add(new(TableTransactionActionType.UpsertReplace, ActiveRuns.Entity(run)));
        }
        else if (change.WasActive && deleteActiveRow)
        {
            activeDeleteIndex = actions.Count;
            actions.Add(new(TableTransactionActionType.Delete, new TableEntity(run.ProjectId, Keys.ActiveRow(run.RunId)), ETag.All));
        }
        if (change.ChangesCounts)
        {
            var (counts, row) = countsRead ?? await CountsForChangeAsync(run.ProjectId, cancellationToken);
            counts.Apply(change);
            countsIndex = actions.Count;
            actions.Add(CountsAction(counts, run.ProjectId, row));
        }
        return new LifecycleRows(countsIndex, activeDeleteIndex);
    }

    /// <summary>
    /// The project's counts as stored, with the row's ETag for the swap; when there is no row yet
    /// (the project's first run, or runs stored before counts were kept), a recount of its index
    /// rows, and the project is registered for the timers.
    /// </summary>
    public async Task<(RunCounts Counts, TableEntity? Row)> CountsForChangeAsync(string projectId, CancellationToken cancellationToken)
    {
        var row = await Table.FindAsync(projectId, Keys.CountsRow, cancellationToken);
        if (row is not null) return (RunCounts.From(row), row);
        await projects.RegisterAsync(projectId, cancellationToken);
        return (await RunCounts.RecountAsync(Table, projectId, cancellationToken), null);
    }

    /// <summary>Adds the counts row, or replaces it on the ETag it was read with.</summary>
    public static TableTransactionAction CountsAction(RunCounts counts, string projectId, TableEntity? row) =>
        row is null
            ? new(TableTransactionActionType.Add, counts.ToEntity(projectId))
            : new(TableTransactionActionType.UpdateReplace, counts.ToEntity(projectId), row.ETag);

    /// <summary>
    /// Marks every active run of the project as <see cref="RunRecord.Budgeted"/>: one query of the
    /// active-runs index, then one transaction per 100 runs merging the flag into their rows. Any
    /// write changes a row's ETag, so a report that read a run before its mark fails its ETag and
    /// reads the run again, marked. Returns how many runs were marked.
    /// </summary>
    public async Task<int> MarkActiveRunsBudgetedAsync(string projectId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey gt {Keys.ActivePrefix} and RowKey lt {Keys.ActiveEnd}");
        var runIds = new List<string>();
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, 1000, ["RunId"], cancellationToken))
        {
            if (row.GetString("RunId") is { } runId) runIds.Add(runId);
        }
        var marked = 0;
        foreach (var chunk in runIds.Chunk(100))
        {
            var actions = chunk.Select(runId => new TableTransactionAction(TableTransactionActionType.UpdateMerge,
                new TableEntity(projectId, Keys.RunRow(runId)) { [RunEntities.BudgetedColumn] = true }, ETag.All)).ToList();
            while (actions.Count > 0)
            {
                try
                {
                    await Table.SubmitTransactionAsync(actions, cancellationToken);
                    marked += actions.Count;
                    break;
                }
                catch (TableTransactionFailedException e) when (e.Status == 404 && e.FailedTransactionActionIndex is { } missing)
                {
                    // An index entry whose run is gone: nothing to mark.
                    actions.RemoveAt(missing);
                }
            }
        }
        return marked;
    }

    /// <summary>
    /// Whether the run row carries this write's id: the SDK retried a transaction whose first
    /// attempt committed (its answer was lost), so the retry's condition failed on our own write.
    /// </summary>
    private async Task<bool> CommittedAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var stored = await Table.FindAsync(run.ProjectId, Keys.RunRow(run.RunId), cancellationToken);
        if (stored?.GetString("WriteId") != run.WriteId) return false;
        run.ETag = stored.ETag;
        return true;
    }

    /// <summary>
    /// Marks the run as being purged, on the ETag it was read with (412 when it changed since): from
    /// then on reports treat it as gone (<see cref="RunRecord.Purging"/>), before retention deletes
    /// the rows that tell a redelivered report from a new one.
    /// </summary>
    public async Task MarkPurgingAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var patch = new TableEntity(run.ProjectId, Keys.RunRow(run.RunId)) { ["Purging"] = true };
        run.ETag = (await Table.UpdateEntityAsync(patch, run.ETag, TableUpdateMode.Merge, cancellationToken)).Headers.ETag ?? default;
        run.Purging = true;
    }

    public async Task MarkDispatchedAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var patch = new TableEntity(run.ProjectId, Keys.RunRow(run.RunId)) { ["JobDispatched"] = true };
        run.ETag = (await Table.UpdateEntityAsync(patch, ETag.All, TableUpdateMode.Merge, cancellationToken)).Headers.ETag ?? default;
        run.JobDispatched = true;
    }

    public async Task<string?> GetIdempotentRunIdAsync(string projectId, string idempotencyKey, CancellationToken cancellationToken)
    {
        var entity = await Table.FindAsync(projectId, Keys.IdempotencyRow(idempotencyKey), cancellationToken);
        return entity?.GetString("RunId");
    }

    /// <summary>One page of a project's runs, newest first, after the index row <paramref name="after"/>.</summary>
    public async Task<(IReadOnlyList<JsonObject> Items, string? Next)> ListAsync(
        string projectId, string? status, int limit, string? after, CancellationToken cancellationToken)
    {
        var filter = status is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey gt {after ?? Keys.IndexPrefix} and RowKey lt {Keys.IndexEnd}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey gt {after ?? Keys.IndexPrefix} and RowKey lt {Keys.IndexEnd} and Status eq {status}");

        var (rows, more) = await TablePaging.ReadAsync(Table, filter, limit, null, cancellationToken);
        return (rows.Select(r => DocumentColumns.Read(r)).ToList(), more ? ContinuationTokens.Encode(rows[^1].RowKey) : null);
    }

    private static RunRecord FromEntity(TableEntity entity)
    {
        var run = RunEntities.Read(entity);
        Stored(run);
        return run;
    }
}
