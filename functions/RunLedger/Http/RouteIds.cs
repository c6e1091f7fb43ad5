using RunLedger.Ledger;

namespace RunLedger.Http;

/// <summary>
/// Ids a request names (in its route or query), checked before they reach storage: a 400 that
/// says what is wrong (<see cref="Keys.Problem"/>).
/// </summary>
public static class RouteIds
{
    public static void CheckProject(string projectId)
    {
        if (Keys.Problem("projectId", projectId) is { } problem) throw LedgerException.BadRequest(problem);
    }

    public static void CheckRun(string projectId, string runId)
    {
        CheckProject(projectId);
        if (Keys.Problem("runId", runId) is { } problem) throw LedgerException.BadRequest(problem);
    }

    /// <summary>A month as <c>yyyy-MM</c> (2000 to 9998): its first instant (UTC); a 400 otherwise.</summary>
    public static DateTimeOffset CheckMonth(string month) =>
        month.Length == 7
        && DateTime.TryParseExact(month, "yyyy-MM", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var first)
        && first.Year is >= 2000 and < 9999
            ? new DateTimeOffset(first, TimeSpan.Zero)
            : throw LedgerException.BadRequest($"'month' must be a month as yyyy-MM, e.g. 2026-11; got '{month}'.");
}
