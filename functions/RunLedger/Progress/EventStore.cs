using System.Text.Json.Nodes;
using RunLedger.Ledger;
using Azure.Data.Tables;

namespace RunLedger.Progress;

/// <summary>A run's history: the reports applied to it, numbered 1, 2, 3... in the order applied.</summary>
public sealed class EventStore(LedgerStorage storage)
{
    public const int MaxPageSize = 1000;

    /// <summary>Events with sequence numbers above <paramref name="after"/>, oldest first, and whether more follow.</summary>
    public async Task<(IReadOnlyList<JsonObject> Events, bool More)> ListAsync(string projectId, string runId, long after, int limit, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {projectId} and RowKey gt {Keys.EventRow(runId, after)} and RowKey lt {Keys.EventRow(runId, 9_999_999_999)}");
        var (rows, more) = await TablePaging.ReadAsync(storage.Table, filter, limit, null, cancellationToken);
        return (rows.Select(e => DocumentColumns.Read(e)).ToList(), more);
    }
}
