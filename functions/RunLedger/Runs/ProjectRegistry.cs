using Azure.Data.Tables;
using RunLedger.Ledger;

namespace RunLedger.Runs;

/// <summary>
/// The projects that have runs: one row each in <see cref="Keys.ProjectsPartition"/>, written when
/// a project's run counts are first kept. What the timers (stale sweep, retention) and the
/// agency's overview iterate.
/// </summary>
public sealed class ProjectRegistry(LedgerStorage storage)
{
    /// <summary>
    /// Records that the project has runs (an idempotent upsert in <see cref="Keys.ProjectsPartition"/>).
    /// It cannot share the run's transaction (another partition), so it is written before it: a
    /// failed start leaves at most a registered project with nothing to sweep.
    /// </summary>
    public Task RegisterAsync(string projectId, CancellationToken cancellationToken) =>
        storage.Table.UpsertEntityAsync(new TableEntity(Keys.ProjectsPartition, projectId), TableUpdateMode.Merge, cancellationToken);

    /// <summary>Every registered project, in key order.</summary>
    public async IAsyncEnumerable<string> AllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Keys.ProjectsPartition}");
        await foreach (var row in storage.Table.QueryAsync<TableEntity>(filter, 1000, ["RowKey"], cancellationToken))
        {
            yield return row.RowKey;
        }
    }
}
