namespace RunLedger.Ledger;

/// <summary>
/// Back-off for optimistic concurrency: when a save loses the ETag race, wait a short random
/// while that grows with the attempt, so racing writers spread out instead of colliding again.
/// </summary>
public static class Contention
{
    public const int MaxAttempts = 50;

    public static Task DelayAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(Random.Shared.Next(5, 20 * Math.Min(attempt, 10)), cancellationToken);
}
