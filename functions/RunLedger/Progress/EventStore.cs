using System.Text.Json.Nodes;
using RunLedger.Ledger;
using RunLedger.Storage;

namespace RunLedger.Progress;

/// <summary>A run's history: the reports applied to it, numbered 1, 2, 3... in the order applied.</summary>
public sealed class EventStore(LedgerStorage storage)
{
    public const int MaxPageSize = 1000;

    /// <summary>Events with sequence numbers above <paramref name="after"/>, oldest first.</summary>
    public async Task<IReadOnlyList<JsonObject>> ListAsync(string projectId, string runId, long after, int limit, CancellationToken cancellationToken)
    {
        var filter = TableFilter.Create(
            $"PartitionKey eq {projectId} and RowKey gt {Keys.EventRow(runId, after)} and RowKey lt {Keys.EventRow(runId, 9_999_999_999)}");
        var page = await storage.Table.QueryPageAsync(filter, limit, null, null, cancellationToken);
        var events = page.Values.Select(e => DocumentColumns.Read(e)).ToList();
        // A page can come back short of the limit with a continuation; keep reading to fill it.
        var continuation = page.Continuation;
        while (events.Count < limit && continuation is not null)
        {
            page = await storage.Table.QueryPageAsync(filter, limit - events.Count, null, continuation, cancellationToken);
            events.AddRange(page.Values.Select(e => DocumentColumns.Read(e)));
            continuation = page.Continuation;
        }
        return events;
    }
}
