namespace RunLedger.Runs;

/// <summary>
/// The run lifecycle: queued → running → completed | failed | cancelled. Status only moves forward
/// and the three terminal states are final.
/// </summary>
public static class RunStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Every canonical status, in lifecycle order.</summary>
    public static readonly IReadOnlyList<string> All = [Queued, Running, Completed, Failed, Cancelled];

    /// <summary>Maps a status or one of its accepted aliases (any case) to the canonical name.</summary>
    public static string? Normalize(string? value) =>
        value?.Trim().ToUpperInvariant() switch
        {
            "QUEUED" or "PENDING" => Queued,
            "RUNNING" => Running,
            "COMPLETED" or "COMPLETE" or "DONE" or "SUCCEEDED" => Completed,
            "FAILED" or "ERROR" => Failed,
            "CANCELLED" or "CANCELED" => Cancelled,
            _ => null,
        };

    public static bool IsTerminal(string? status) => status is Completed or Failed or Cancelled;

    private static int Rank(string status) => status switch
    {
        Queued => 0,
        Running => 1,
        _ => 2,
    };

    /// <summary>True when moving from <paramref name="current"/> to <paramref name="next"/> is forward (or no change).</summary>
    public static bool CanMove(string current, string next) =>
        current == next || (!IsTerminal(current) && Rank(next) > Rank(current));

    public static string Describe() => "queued, running, completed, failed or cancelled (aliases: pending, complete, done, succeeded, error, canceled)";
}
