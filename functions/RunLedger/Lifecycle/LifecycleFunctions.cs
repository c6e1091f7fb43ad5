using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Access;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Lifecycle;

/// <summary>
/// Runs in production: stopping them, counting them, noticing the ones that died, and deleting
/// old ones.
/// <code>
/// POST  projects/{projectId}/runs/{runId}/cancel   CancelRun        final status cancelled, optional reason
/// GET   projects/{projectId}/runs/counts           GetRunCounts     runs per status and stale, one point read
/// timer %RunLedger__StaleSweepSchedule%            StaleSweep       marks (or fails) runs idle past staleAfter
/// timer %RunLedger__RetentionSchedule%             RetentionPurge   deletes final runs older than RetentionDays
/// </code>
/// </summary>
public sealed class LifecycleFunctions(RunCanceller canceller, StaleSweep sweep, RetentionPurge retention, LedgerStorage storage, Dashboard.RunLinks links)
{
    public const string StaleSweepFunction = "StaleSweep";
    public const string RetentionFunction = "RetentionPurge";

    /// <summary>
    /// Cancels a queued or running run. A retry (the run is cancelled already) answers the run as it
    /// is, 200, like the first call; a completed or failed run is a 409.
    /// </summary>
    [Function("CancelRun")]
    [Access(Need.Write)]
    [Body("CancelRequest", Required = false)]
    [Answers(200, "Run", Headers = ["ETag"], When = "The run, cancelled (now or before).")]
    [Problems(400, 404, 409, 413, 415, 503)]
    public async Task<IResult> CancelRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "projects/{projectId}/runs/{runId}/cancel")] HttpRequest request,
        string projectId, string runId, CancellationToken cancellationToken)
    {
        RouteIds.CheckRun(projectId, runId);
        var reason = ParseReason(await JsonBody.ReadOptionalObjectAsync(request, cancellationToken));
        var (run, _) = await canceller.CancelAsync(projectId, runId, reason, cancellationToken);
        return TypedResults.Ok(links.Stamp(request, run.Document)).WithETag(request.HttpContext, run.ETag);
    }

    private static string? ParseReason(JsonObject body)
    {
        foreach (var (name, _) in body)
        {
            if (name != "reason") throw LedgerException.BadRequest($"'{name}' is not a cancel field: send {{\"reason\": \"...\"}} or no body.");
        }
        var reason = JsonBody.OptionalString(body, "reason");
        if (reason is { Length: > RunCanceller.MaxReasonLength })
        {
            throw LedgerException.BadRequest($"'reason' is longer than {RunCanceller.MaxReasonLength} characters.");
        }
        return string.IsNullOrWhiteSpace(reason) ? null : reason;
    }

    /// <summary>The project's runs per status and how many are stale: one point read of its counts row.</summary>
    [Function("GetRunCounts")]
    [Access(Need.Read)]
    [Answers(200, "Counts")]
    [Problems(400, 503)]
    public async Task<IResult> GetRunCounts(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/runs/counts")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var row = await storage.Table.FindAsync(projectId, Keys.CountsRow, cancellationToken);
        // No row: no runs, or only runs stored before counts were kept (the next status change writes it).
        var counts = row is not null ? RunCounts.From(row) : await RunCounts.RecountAsync(storage.Table, projectId, cancellationToken);
        return TypedResults.Ok(counts.ToJson(projectId));
    }

    [Function(StaleSweepFunction)]
    public Task StaleSweep([TimerTrigger("%RunLedger__StaleSweepSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        sweep.RunAsync(cancellationToken);

    [Function(RetentionFunction)]
    public Task RetentionPurge([TimerTrigger("%RunLedger__RetentionSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        retention.RunAsync(cancellationToken);
}
