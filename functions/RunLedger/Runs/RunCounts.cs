using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Runs;

/// <summary>
/// A project's runs per status, and how many active runs are stale: the <see cref="Keys.CountsRow"/>
/// row, changed (ETag compare-and-swap) in the same transaction as every status or stale change
/// and every purge, so answering is one point read.
/// </summary>
public sealed class RunCounts
{
    private const string StaleColumn = "Stale";
    private const string BudgetedColumn = "Budgeted";
    private readonly Dictionary<string, long> _byStatus = RunStatus.All.ToDictionary(s => s, _ => 0L);

    public long Stale { get; private set; }

    /// <summary>
    /// Whether runs started now keep the project's budget (<see cref="RunRecord.Budgeted"/>): set by
    /// every config PUT in the config's own transaction, so a start, which swaps this row on its ETag,
    /// reads a value no budget change can slip past. Null on rows stored before it was kept.
    /// </summary>
    public bool? Budgeted { get; set; }

    public long this[string status] => _byStatus[status];

    public long Total => _byStatus.Values.Sum();

    public static RunCounts From(TableEntity row)
    {
        var counts = new RunCounts();
        foreach (var status in RunStatus.All) counts._byStatus[status] = row.GetInt64(Column(status)) ?? 0;
        counts.Stale = row.GetInt64(StaleColumn) ?? 0;
        counts.Budgeted = row.GetBoolean(BudgetedColumn);
        return counts;
    }

    /// <summary>Counts a project's runs from their index rows (a partition range, one row per run).</summary>
    public static async Task<RunCounts> RecountAsync(TableClient table, string projectId, CancellationToken cancellationToken)
    {
        var counts = new RunCounts();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey gt {Keys.IndexPrefix} and RowKey lt {Keys.IndexEnd}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, 1000, ["Status", StaleColumn], cancellationToken))
        {
            counts.Add(RunStatus.Normalize(row.GetString("Status")) ?? RunStatus.Queued, row.GetBoolean(StaleColumn) ?? false, +1);
        }
        return counts;
    }

    /// <summary>Moves one run from its stored status and stale flag to the new ones.</summary>
    public void Apply(RunChange change)
    {
        if (change.PreviousStatus is not null) Add(change.PreviousStatus, change.PreviousStale, -1);
        Add(change.Status, change.Stale, +1);
    }

    /// <summary>Adds (or with -1 removes) one run.</summary>
    public void Add(string status, bool stale, int delta)
    {
        _byStatus[status] += delta;
        if (stale) Stale += delta;
    }

    public TableEntity ToEntity(string projectId)
    {
        var row = new TableEntity(projectId, Keys.CountsRow) { [StaleColumn] = Stale };
        foreach (var (status, count) in _byStatus) row[Column(status)] = count;
        if (Budgeted is { } budgeted) row[BudgetedColumn] = budgeted;
        return row;
    }

    public JsonObject ToJson(string projectId)
    {
        var json = new JsonObject { ["projectId"] = projectId, ["total"] = Total };
        foreach (var (status, count) in _byStatus) json[status] = count;
        json["stale"] = Stale;
        return json;
    }

    private static string Column(string status) => char.ToUpperInvariant(status[0]) + status[1..];
}
