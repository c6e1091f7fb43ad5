using System.Text;
using System.Text.Json.Nodes;
using Azure;
using RunLedger.Ledger;
using Azure.Data.Tables;

namespace RunLedger.Runs;

/// <summary>
/// Reads and writes runs in the ledger table. Every change to a run rewrites its row (conditioned
/// on the ETag read) and its index entry in one entity-group transaction, together with whatever
/// rows the change adds (events, costs, idempotency records).
/// </summary>
public sealed class RunStore(LedgerStorage storage, Callbacks.CallbackOutbox outbox)
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
        "totalTokens", "totalCost", "totalCostMicros", "unpricedSteps", "dashboardUrl",
    ];

    public async Task<RunRecord?> GetAsync(string projectId, string runId, CancellationToken cancellationToken)
    {
        var entity = await Table.FindAsync(projectId, Keys.RunRow(runId), cancellationToken);
        return entity is null ? null : FromEntity(entity);
    }

    /// <summary>
    /// Inserts a new run, its index entry and optionally an idempotency record, all or nothing.
    /// A conflict surfaces as <see cref="TableTransactionFailedException"/> (409) naming the
    /// action: 0 = the run row, 2 = the idempotency record.
    /// </summary>
    /// <param name="extra">Rows created with the run, after the idempotency record (its callback secrets); upserts, so they never conflict.</param>
    public async Task CreateAsync(RunRecord run, string? idempotencyKey, CancellationToken cancellationToken, IEnumerable<TableEntity>? extra = null)
    {
        run.Version = 1;
        run.WriteId = Guid.NewGuid().ToString("N");
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.Add, RunEntity(run)),
            new(TableTransactionActionType.Add, IndexEntity(run)),
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
        try
        {
            run.ETag = (await Table.SubmitAsync(actions, cancellationToken))[0];
        }
        catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex == 0)
        {
            if (!await CommittedAsync(run, cancellationToken)) throw;
        }
    }

    public const int IdempotencyActionIndex = 2;

    /// <summary>
    /// Saves a changed run (412 from storage when someone else changed it since it was read)
    /// together with <paramref name="extra"/> actions in the same partition. When the save makes
    /// the run final or stale, the callbacks its config names are added to the same transaction
    /// (the outbox), with <paramref name="callbacks"/> raised by the caller (budget alerts), and
    /// queued for delivery once it commits.
    /// </summary>
    public async Task SaveAsync(RunRecord run, IEnumerable<TableTransactionAction>? extra, CancellationToken cancellationToken,
        IReadOnlyList<Callbacks.CallbackRecord>? callbacks = null)
    {
        run.Version++;
        var previousWriteId = run.WriteId;
        run.WriteId = Guid.NewGuid().ToString("N");
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.UpdateReplace, RunEntity(run), run.ETag),
            new(TableTransactionActionType.UpsertReplace, IndexEntity(run)),
        };
        if (extra is not null) actions.AddRange(extra);
        List<Callbacks.CallbackRecord> raised = [.. outbox.ForRunChange(run), .. callbacks ?? []];
        actions.AddRange(raised.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r.ToEntity())));
        try
        {
            if (raised.Count > 0) await outbox.ScheduleAsync(raised, cancellationToken);
            run.ETag = (await Table.SubmitAsync(actions, cancellationToken))[0];
        }
        catch (Exception e)
        {
            if (!(e is TableTransactionFailedException { Status: 412, FailedTransactionActionIndex: 0 }
                && await CommittedAsync(run, cancellationToken)))
            {
                run.Version--;
                run.WriteId = previousWriteId;
                throw;
            }
        }
        run.StoredStatus = run.Status;
        run.StoredStale = RunRecord.IsStale(run.Document);
        if (raised.Count > 0) await outbox.EnqueueAsync(raised, cancellationToken);
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
        return (rows.Select(r => DocumentColumns.Read(r)).ToList(), more ? EncodeToken(rows[^1].RowKey) : null);
    }

    public static string EncodeToken(string rowKey) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(rowKey)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The index row a continuation token names, or null when the token is not one of ours.</summary>
    public static string? DecodeToken(string token) => DecodeToken(token, Keys.IsIndexRow);

    /// <summary>The row key a continuation token names, when <paramref name="isValid"/> accepts it.</summary>
    public static string? DecodeToken(string token, Func<string, bool> isValid)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - base64.Length % 4) % 4);
            var rowKey = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            return isValid(rowKey) ? rowKey : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public async Task<JsonObject?> GetConfigAsync(string projectId, CancellationToken cancellationToken)
    {
        var entity = await Table.FindAsync(projectId, Keys.ConfigRow, cancellationToken);
        return entity is null ? null : DocumentColumns.Read(entity);
    }

    private static TableEntity RunEntity(RunRecord run)
    {
        // Every write puts the fields in one order, so equal content is an equal document.
        RunRules.Canonicalize(run.Document);
        var entity = new TableEntity(run.ProjectId, Keys.RunRow(run.RunId))
        {
            ["RunId"] = run.RunId,
            ["Status"] = run.Status,
            ["IndexRow"] = run.IndexRowKey,
            ["EventCount"] = run.EventCount,
            ["JobDispatched"] = run.JobDispatched,
            ["Version"] = run.Version,
            ["WriteId"] = run.WriteId,
        };
        if (run.RequestHash is not null) entity["RequestHash"] = run.RequestHash;
        var bytes = DocumentColumns.Write(entity, run.Document);
        if (run.Clocks.Count > 0) bytes += DocumentColumns.Write(entity, run.Clocks, ClocksPrefix);
        if (run.Costs.Count > 0) bytes += DocumentColumns.Write(entity, run.Costs, CostsPrefix);
        // The run, its field clocks and cost lines share one entity, which holds at most 1 MiB.
        if (bytes > DocumentColumns.MaxEncodedBytes) throw new DocumentTooLargeException(bytes);
        return entity;
    }

    private const string ClocksPrefix = "Clk";
    private const string CostsPrefix = "Cst";

    private static TableEntity IndexEntity(RunRecord run)
    {
        var summary = new JsonObject();
        foreach (var name in IndexFields)
        {
            if (run.Document[name] is { } value) summary[name] = value.DeepClone();
        }
        var entity = new TableEntity(run.ProjectId, run.IndexRowKey)
        {
            ["RunId"] = run.RunId,
            ["Status"] = run.Status,
        };
        DocumentColumns.Write(entity, summary);
        return entity;
    }

    private static RunRecord FromEntity(TableEntity entity)
    {
        var run = Read(entity);
        run.StoredStatus = run.Status;
        run.StoredStale = RunRecord.IsStale(run.Document);
        return run;
    }

    private static RunRecord Read(TableEntity entity) => new()
    {
        ProjectId = entity.PartitionKey,
        RunId = entity.GetString("RunId")!,
        Document = DocumentColumns.Read(entity),
        IndexRowKey = entity.GetString("IndexRow")!,
        ETag = entity.ETag,
        EventCount = entity.GetInt64("EventCount") ?? 0,
        JobDispatched = entity.GetBoolean("JobDispatched") ?? false,
        RequestHash = entity.GetString("RequestHash"),
        Clocks = DocumentColumns.Read(entity, ClocksPrefix),
        Costs = DocumentColumns.Read(entity, CostsPrefix),
        Version = entity.GetInt64("Version") ?? 0,
        WriteId = entity.GetString("WriteId") ?? "",
    };
}
