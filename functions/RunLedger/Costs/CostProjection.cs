using RunLedger.Ledger;
using RunLedger.Runs;
using Azure.Data.Tables;

namespace RunLedger.Costs;

/// <summary>
/// Keeps cost analytics up to date as runs complete and late costs arrive, so that summary and
/// top queries read one row per run they count or return, never events or cost rows.
/// </summary>
/// <remarks>
/// All rows live in the <see cref="Keys.CostsPartition"/> partition and change together in one
/// transaction: <c>run|{p}|{r}</c> (the run's projected version and keys), <c>done|{completedTicks}|{p}|{r}</c>
/// and <c>pdone|{p}|{completedTicks}|{r}</c> (by completion time, for summaries), <c>top|{invertedCost}|{p}|{r}</c>
/// and <c>ptop|{p}|{invertedCost}|{r}</c> (costliest first). The projection is written after the run's
/// own transaction; it only ever moves to a newer run version, and a redelivered report re-runs it,
/// so a crash between the two writes heals on the retry.
/// </remarks>
public sealed class CostProjection(LedgerStorage storage)
{
    /// <summary>What the analytics need of a completed run; null for any other run.</summary>
    public sealed record Snapshot(string ProjectId, string RunId, long Version, DateTimeOffset CompletedAt, long CostMicros, long Tokens)
    {
        public static Snapshot? Of(RunRecord run) => run.Status != RunStatus.Completed ? null : new(
            run.ProjectId, run.RunId, run.Version,
            DateTimeOffset.Parse((string)run.Document["completedAt"]!, System.Globalization.CultureInfo.InvariantCulture),
            (long?)run.Costs["totalCostMicros"] ?? 0,
            (long?)run.Costs["totalTokens"] ?? 0);
    }

    public Task SyncAsync(RunRecord run, CancellationToken cancellationToken) =>
        Snapshot.Of(run) is { } snapshot ? SyncAsync(snapshot, cancellationToken) : Task.CompletedTask;

    public async Task SyncAsync(Snapshot run, CancellationToken cancellationToken)
    {
        var (p, r, completed, cost, tokens) = (run.ProjectId, run.RunId, run.CompletedAt, run.CostMicros, run.Tokens);
        var keys = Keys.AnalyticsRows(p, r, completed, cost);

        for (var attempt = 1; ; attempt++)
        {
            var head = await storage.Table.FindAsync(Keys.CostsPartition, Keys.AnalyticsHeadRow(p, r), cancellationToken);
            if (head is not null && (head.GetInt64("Version") ?? 0) >= run.Version) return;

            var actions = new List<TableTransactionAction>();
            var next = new TableEntity(Keys.CostsPartition, Keys.AnalyticsHeadRow(p, r))
            {
                ["Version"] = run.Version,
                ["Keys"] = string.Join('\n', keys),
            };
            actions.Add(head is null
                ? new(TableTransactionActionType.Add, next)
                : new(TableTransactionActionType.UpdateReplace, next, head.ETag));
            foreach (var old in (head?.GetString("Keys") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Except(keys))
            {
                actions.Add(new(TableTransactionActionType.Delete, new TableEntity(Keys.CostsPartition, old)));
            }
            foreach (var key in keys)
            {
                actions.Add(new(TableTransactionActionType.UpsertReplace, new TableEntity(Keys.CostsPartition, key)
                {
                    ["ProjectId"] = p,
                    ["RunId"] = r,
                    ["CostMicros"] = cost,
                    ["Tokens"] = tokens,
                    ["CompletedAt"] = completed,
                }));
            }
            try
            {
                await storage.Table.SubmitTransactionAsync(actions, cancellationToken);
                return;
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < Contention.MaxAttempts)
            {
                // Another writer projected this run meanwhile; re-read and compare versions.
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }
}
