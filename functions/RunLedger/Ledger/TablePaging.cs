using Azure.Data.Tables;

namespace RunLedger.Ledger;

/// <summary>Reading one page of a query for an API that pages with its own continuation tokens.</summary>
public static class TablePaging
{
    /// <summary>
    /// Up to <paramref name="limit"/> rows in key order, and whether more follow. Asks the service
    /// for one row more than the page, so "is there a next page" costs no extra request; follows
    /// the service's continuations, which may come back with short pages.
    /// </summary>
    public static async Task<(List<TableEntity> Rows, bool More)> ReadAsync(
        TableClient table, string filter, int limit, IEnumerable<string>? select, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>(limit);
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, Math.Min(limit + 1, 1000), select, cancellationToken))
        {
            if (rows.Count == limit) return (rows, true);
            rows.Add(entity);
        }
        return (rows, false);
    }
}
