using Azure;
using Azure.Data.Tables;

namespace RunLedger.Ledger;

/// <summary>The few shapes of table call the ledger repeats, on the SDK's client.</summary>
public static class TableExtensions
{
    /// <summary>One point read; null when the row does not exist.</summary>
    public static async Task<TableEntity?> FindAsync(this TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Submits a transaction and returns the ETag of each action's row, in order (default for deletes).</summary>
    public static async Task<IReadOnlyList<ETag>> SubmitAsync(this TableClient table, IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        var responses = await table.SubmitTransactionAsync(actions, cancellationToken);
        return responses.Value.Select(r => r.Headers.ETag ?? default).ToList();
    }
}
