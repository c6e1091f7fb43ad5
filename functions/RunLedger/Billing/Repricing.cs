using System.Globalization;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Costs;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Billing;

/// <summary>
/// Prices a project's past costs again from the price book in force (and each run's negotiated
/// rates): when a price was wrong, or a model had none. A dry run (the default) answers, per run,
/// the old and new cost and the difference, touching nothing. Applying it updates, run by run and
/// each in one transaction of the project's partition, the cost rows, the run's totals and invoice,
/// the month's budget spend and the reprice's audit record, then the run's analytics.
/// </summary>
/// <remarks>
/// <para><b>Exactly once, resumable.</b> A reprice is named by what it asks and the book it prices
/// with (<c>repriceId</c>). Its audit record (<c>reprice|{id}</c>) lists the runs done; each run's
/// transaction adds the run to it on the record's ETag, so a retried or interrupted apply skips the
/// runs done and does the rest, and a finished one answers its record again.</para>
/// <para><b>Closed months</b> are never edited: their statements keep what they billed, and the
/// difference is an adjustment on the next open statement (<see cref="Statements"/>).</para>
/// <para>Rows whose cost the agent reported (<c>priceSource: reported</c>) keep it unless the request
/// says <c>includeReported</c> and a price is known.</para>
/// </remarks>
public sealed class Repricing(
    LedgerStorage storage, RunStore runs, PriceBook prices, Budgets.BudgetLedger budgets, CostProjection projection, TimeProvider clock)
{
    /// <summary>Cost rows changed per transaction, leaving room for the run, its index, the audit and budget rows.</summary>
    public const int RowsPerTransaction = 90;

    public sealed record Request(string ProjectId, DateTimeOffset From, DateTimeOffset To, bool Apply, bool IncludeReported, string By);

    private sealed record Change(TableEntity Entity, JsonObject Row, long Old, long New, bool InBudgetMonth);

    public async Task<JsonObject> RunAsync(Request request, CancellationToken cancellationToken)
    {
        var book = await prices.BookAsync(cancellationToken);
        var id = RepriceId(request, book.Version);
        var auditKey = Keys.RepriceRow(id);
        if (request.Apply && await storage.Table.FindAsync(request.ProjectId, auditKey, cancellationToken) is { } done
            && DocumentColumns.Read(done) is var finished && (string?)finished["state"] == "applied")
        {
            return finished;
        }

        var byRun = await RowsByRunAsync(request, cancellationToken);
        var now = clock.GetUtcNow();
        var results = new JsonObject();
        long oldTotal = 0, newTotal = 0;
        foreach (var (runId, rowKeys) in byRun)
        {
            var (oldCost, newCost, changed) = request.Apply
                ? await ApplyRunAsync(request, id, auditKey, book, runId, rowKeys, cancellationToken)
                : await PreviewRunAsync(request, book, runId, rowKeys, cancellationToken);
            oldTotal += oldCost;
            newTotal += newCost;
            results[runId] = Result(rowKeys.Count, changed, oldCost, newCost);
        }

        var answer = new JsonObject
        {
            ["repriceId"] = id,
            ["projectId"] = request.ProjectId,
            ["dryRun"] = !request.Apply,
            ["from"] = RunRules.Timestamp(request.From),
            ["to"] = RunRules.Timestamp(request.To),
            ["includeReported"] = request.IncludeReported,
            ["priceBookVersion"] = book.Version,
            ["runs"] = results,
            ["oldCostUsd"] = Money.Exact(oldTotal),
            ["newCostUsd"] = Money.Exact(newTotal),
            ["differenceUsd"] = Money.Exact(newTotal - oldTotal),
        };
        if (!request.Apply) return answer;

        // The record of what was done, whole: who, when, the book, per run the difference.
        var audit = await storage.Table.FindAsync(request.ProjectId, auditKey, cancellationToken);
        var record = audit is null ? NewAudit(request, id, book.Version, now) : DocumentColumns.Read(audit);
        record["state"] = "applied";
        record["appliedAt"] = RunRules.Timestamp(clock.GetUtcNow());
        var entity = new TableEntity(request.ProjectId, auditKey);
        DocumentColumns.Write(entity, record);
        await storage.Table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
        return record;
    }

    private static JsonObject Result(int rows, int changed, long oldCost, long newCost) => new()
    {
        ["costRows"] = rows,
        ["changedRows"] = changed,
        ["oldCostUsd"] = Money.Exact(oldCost),
        ["newCostUsd"] = Money.Exact(newCost),
        ["differenceUsd"] = Money.Exact(newCost - oldCost),
    };

    private static JsonObject NewAudit(Request request, string id, string bookVersion, DateTimeOffset now) => new()
    {
        ["repriceId"] = id,
        ["projectId"] = request.ProjectId,
        ["state"] = "applying",
        ["by"] = request.By,
        ["startedAt"] = RunRules.Timestamp(now),
        ["appliedAt"] = null,
        ["from"] = RunRules.Timestamp(request.From),
        ["to"] = RunRules.Timestamp(request.To),
        ["includeReported"] = request.IncludeReported,
        ["priceBookVersion"] = bookVersion,
        ["runs"] = new JsonObject(),
    };

    private static string RepriceId(Request request, string bookVersion) =>
        Keys.Hash(string.Join('|', request.ProjectId, RunRules.Timestamp(request.From), RunRules.Timestamp(request.To),
            request.IncludeReported ? "1" : "0", bookVersion))[..16];

    /// <summary>The project's cost rows dated in the window (by the report's time), by run.</summary>
    private async Task<SortedDictionary<string, List<string>>> RowsByRunAsync(Request request, CancellationToken cancellationToken)
    {
        var byRun = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        var (from, to) = Keys.CostRange();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {request.ProjectId} and RowKey ge {from} and RowKey lt {to}");
        await foreach (var entity in storage.Table.QueryAsync<TableEntity>(filter, 1000, cancellationToken: cancellationToken))
        {
            if (Keys.ParseCostRow(entity.RowKey) is not { } key) continue;
            var row = DocumentColumns.Read(entity);
            if (RunRules.ParseTimestamp(row["reportedAt"]) is not { } at || at < request.From || at > request.To) continue;
            (byRun.TryGetValue(key.RunId, out var list) ? list : byRun[key.RunId] = []).Add(entity.RowKey);
        }
        return byRun;
    }

    /// <summary>Each of <paramref name="rowKeys"/> priced again: the rows whose cost changes, with their new content.</summary>
    private async Task<(RunRecord? Run, List<Change> Changes, long Old, long New)> PriceAsync(
        Request request, string? id, PriceBook.Book book, string runId, List<string> rowKeys, CancellationToken cancellationToken)
    {
        var run = await runs.GetAsync(request.ProjectId, runId, cancellationToken);
        var negotiated = PricingTable.OfConfig(run?.Document["configSnapshot"]);
        var budgetMonth = Runs.RunRules.MonthOf(clock.GetUtcNow());
        var changes = new List<Change>();
        long oldTotal = 0, newTotal = 0;
        foreach (var rowKey in rowKeys)
        {
            if (await storage.Table.FindAsync(request.ProjectId, rowKey, cancellationToken) is not { } entity) continue;
            var row = DocumentColumns.Read(entity);
            var current = entity.GetInt64("CostMicros") ?? 0;
            // A row this reprice changed already (an earlier part, or an interrupted apply): what it cost before.
            var old = id is not null && (string?)row["repriceId"] == id ? (long?)row["costBeforeRepriceMicros"] ?? current : current;
            var keepReported = !request.IncludeReported;
            var next = row.DeepClone().AsObject();
            CostLedger.Price(next, RunRules.ParseTimestamp(row["reportedAt"])!.Value, book.Table, negotiated, keepReported);
            var cost = (long)next["costMicros"]!;
            oldTotal += old;
            newTotal += cost;
            if (cost == current && next["pricedWith"]!.ToJsonString() == row["pricedWith"]?.ToJsonString()) continue;
            var recordedIn = ((string?)row["recordedAt"])?[..7];
            changes.Add(new Change(entity, next, current, cost, recordedIn == budgetMonth));
        }
        return (run, changes, oldTotal, newTotal);
    }

    private async Task<(long Old, long New, int Changed)> PreviewRunAsync(
        Request request, PriceBook.Book book, string runId, List<string> rowKeys, CancellationToken cancellationToken)
    {
        var (_, changes, old, cost) = await PriceAsync(request, id: null, book, runId, rowKeys, cancellationToken);
        return (old, cost, changes.Count);
    }

    /// <summary>
    /// Applies one run's reprice: its changed cost rows, its totals and invoice, the budget's spend
    /// and the audit record in one transaction (several for a run with more than
    /// <see cref="RowsPerTransaction"/> changed rows, each whole), then its analytics.
    /// </summary>
    private async Task<(long Old, long New, int Changed)> ApplyRunAsync(
        Request request, string id, string auditKey, PriceBook.Book book, string runId, List<string> rowKeys, CancellationToken cancellationToken)
    {
        var changedRows = 0;
        for (var attempt = 1; ; attempt++)
        {
            var audit = await storage.Table.FindAsync(request.ProjectId, auditKey, cancellationToken);
            var record = audit is null ? NewAudit(request, id, book.Version, clock.GetUtcNow()) : DocumentColumns.Read(audit);
            if (record["runs"]?[runId] is JsonObject doneBefore)
            {
                return (Money.ToMicros(decimal.Parse((string)doneBefore["oldCostUsd"]!, CultureInfo.InvariantCulture)),
                    Money.ToMicros(decimal.Parse((string)doneBefore["newCostUsd"]!, CultureInfo.InvariantCulture)), (int)doneBefore["changedRows"]!);
            }
            var (run, changes, old, cost) = await PriceAsync(request, id, book, runId, rowKeys, cancellationToken);
            var chunk = changes.Take(RowsPerTransaction).ToList();
            var last = chunk.Count == changes.Count;
            var now = clock.GetUtcNow();
            var actions = new List<TableTransactionAction>();
            foreach (var change in chunk)
            {
                change.Row["repricedAt"] = RunRules.Timestamp(now);
                change.Row["repriceId"] = id;
                change.Row["costBeforeRepriceMicros"] = change.Old;
                var entity = new TableEntity(request.ProjectId, change.Entity.RowKey) { ["CostMicros"] = change.New };
                DocumentColumns.Write(entity, change.Row);
                actions.Add(new(TableTransactionActionType.UpdateReplace, entity, change.Entity.ETag));
            }
            if (last)
            {
                record["runs"]![runId] = Result(rowKeys.Count, changedRows + chunk.Count, old, cost);
                var auditEntity = new TableEntity(request.ProjectId, auditKey);
                DocumentColumns.Write(auditEntity, record);
                actions.Add(audit is null
                    ? new(TableTransactionActionType.Add, auditEntity)
                    : new(TableTransactionActionType.UpdateReplace, auditEntity, audit.ETag));
            }
            List<Callbacks.CallbackRecord>? alerts = null;
            var budgetDifference = chunk.Where(c => c.InBudgetMonth).Sum(c => c.New - c.Old);
            if (budgetDifference != 0)
            {
                // Without a budget, the budget row's ETag still moves (a budget being turned on sums the costs again).
                var budgetRow = await budgets.ReadAsync(request.ProjectId, cancellationToken);
                var (spendRows, raised) = await budgets.CostActionsAsync(request.ProjectId, budgetRow, budgetDifference, now, cancellationToken);
                actions.AddRange(spendRows);
                alerts = raised;
            }
            if (actions.Count == 0) return (old, cost, 0);
            try
            {
                if (run is not null && chunk.Count > 0)
                {
                    var changed = chunk.ToDictionary(c => c.Entity.RowKey, c => c.Row, StringComparer.Ordinal);
                    CostLedger.Recount(run, await RunRowsAsync(request.ProjectId, runId, changed, cancellationToken));
                    await runs.SaveAsync(run, actions, cancellationToken, RunSave.Sweep, alerts);
                }
                else
                {
                    await storage.Table.SubmitTransactionAsync(actions, cancellationToken);
                }
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < Contention.MaxAttempts)
            {
                // A report or another reprice changed the run, a row, the budget or the record: again, from what is stored.
                await Contention.DelayAsync(attempt, cancellationToken);
                continue;
            }
            if (run is not null) await projection.SyncAsync(run, cancellationToken);
            changedRows += chunk.Count;
            if (last) return (old, cost, changedRows);
        }
    }

    /// <summary>Every cost row of a run as it will be once <paramref name="changed"/> is written.</summary>
    private async Task<List<JsonObject>> RunRowsAsync(string projectId, string runId, Dictionary<string, JsonObject> changed, CancellationToken cancellationToken)
    {
        var (from, to) = Keys.RunCostRange(runId);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey ge {from} and RowKey lt {to}");
        var rows = new List<JsonObject>();
        await foreach (var entity in storage.Table.QueryAsync<TableEntity>(filter, 1000, cancellationToken: cancellationToken))
        {
            rows.Add(changed.TryGetValue(entity.RowKey, out var next) ? next : DocumentColumns.Read(entity));
        }
        return rows;
    }
}
