using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Ledger;

namespace RunLedger.Runs;

/// <summary>
/// How a run is stored: its row (<c>run|{runId}</c>: the document, field clocks, cost lines and
/// rebuild base in JSON columns, and the columns queries and polls read) and its index row
/// (<c>idx|…</c>: the summary a list shows).
/// </summary>
public static class RunEntities
{
    public static TableEntity Run(RunRecord run)
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
            ["Stale"] = run.Stale,
        };
        if (run.RequestHash is not null) entity["RequestHash"] = run.RequestHash;
        if (run.LastActivity is { } last) entity["LastActivity"] = last;
        if (run.IdempotencyRow is not null) entity["IdempotencyRow"] = run.IdempotencyRow;
        if (run.Purging) entity["Purging"] = true;
        if (run.Budgeted is { } budgeted) entity[BudgetedColumn] = budgeted;
        var bytes = DocumentColumns.Write(entity, run.Document);
        if (run.Clocks.Count > 0) bytes += DocumentColumns.Write(entity, run.Clocks, ClocksPrefix);
        if (run.Costs.Count > 0) bytes += DocumentColumns.Write(entity, run.Costs, CostsPrefix);
        if (run.Base.Count > 0) bytes += DocumentColumns.Write(entity, run.Base, BasePrefix);
        // The run, its field clocks, cost lines and base share one entity, which holds at most 1 MiB.
        if (bytes > DocumentColumns.MaxEncodedBytes) throw new DocumentTooLargeException(bytes);
        return entity;
    }

    /// <summary>The run row's <see cref="RunRecord.Budgeted"/> column, which a budget turned on merges into active runs.</summary>
    public const string BudgetedColumn = "Budgeted";

    private const string ClocksPrefix = "Clk";
    private const string CostsPrefix = "Cst";
    private const string BasePrefix = "Bse";

    public static TableEntity Index(RunRecord run)
    {
        var entity = new TableEntity(run.ProjectId, run.IndexRowKey)
        {
            ["RunId"] = run.RunId,
            ["Status"] = run.Status,
            ["Stale"] = run.Stale,
        };
        // The summary: the index fields the run has, in that order, written straight from the run's document.
        DocumentColumns.Write(entity, JsonMerge.ToUtf8(writer =>
        {
            writer.WriteStartObject();
            foreach (var name in RunStore.IndexFields)
            {
                if (run.Document[name] is not { } value) continue;
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }
            writer.WriteEndObject();
        }));
        return entity;
    }

    public static RunRecord Read(TableEntity entity) => new()
    {
        ProjectId = entity.PartitionKey,
        RunId = entity.GetString("RunId")!,
        Document = DocumentColumns.Read(entity),
        IndexRowKey = entity.GetString("IndexRow")!,
        ETag = entity.ETag,
        EventCount = entity.GetInt64("EventCount") ?? 0,
        JobDispatched = entity.GetBoolean("JobDispatched") ?? false,
        RequestHash = entity.GetString("RequestHash"),
        Clocks = DocumentColumns.ReadStrings(entity, ClocksPrefix),
        Costs = DocumentColumns.Read(entity, CostsPrefix),
        Base = DocumentColumns.Read(entity, BasePrefix),
        Version = entity.GetInt64("Version") ?? 0,
        WriteId = entity.GetString("WriteId") ?? "",
        LastActivity = entity.GetDateTimeOffset("LastActivity"),
        IdempotencyRow = entity.GetString("IdempotencyRow"),
        Purging = entity.GetBoolean("Purging") ?? false,
        Budgeted = entity.GetBoolean(BudgetedColumn),
    };
}
