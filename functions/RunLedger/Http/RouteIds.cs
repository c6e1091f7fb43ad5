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
}
