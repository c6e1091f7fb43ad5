using RunLedger.Access;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Dashboard;
using RunLedger.Http;
using RunLedger.Ledger;

namespace RunLedger.Runs;

/// <summary>
/// Runs: status checks and updates.
/// <code>
/// GET   projects/{projectId}/runs           ListRuns       newest first, paged, by status
/// GET   projects/{projectId}/runs/latest    GetLatestRun
/// GET   projects/{projectId}/runs/{runId}   GetRun         with its ETag (runId neither latest nor counts)
/// PATCH projects/{projectId}/runs/{runId}   PatchRun       deep merge, If-Match, forward-only status
/// </code>
/// </summary>
public sealed class RunsFunctions(RunStore store, Progress.RunPatcher patcher, RunLinks links)
{
    [Function("ListRuns")]
    [Access(Need.Read)]
    [Query("limit", Maximum = QueryValues.MaxPageSize, Default = QueryValues.DefaultPageSize), Query("status"), Query("continuationToken")]
    [Answers(200, "RunList")]
    [Problems(400, 503)]
    public async Task<IResult> ListRuns(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/runs")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var query = request.Query;
        var pageSize = QueryValues.Limit(query["limit"], QueryValues.DefaultPageSize, QueryValues.MaxPageSize);
        var statusFilter = (string?)query["status"] is { } status
            ? RunStatus.Normalize(status) ?? throw LedgerException.BadRequest($"'status' must be {RunStatus.Describe()}.")
            : null;
        var after = (string?)query["continuationToken"] is { } token
            ? ContinuationTokens.Decode(token, Keys.IsIndexRow) ?? throw LedgerException.BadRequest("'continuationToken' is not one this service issued.")
            : null;

        var (items, next) = await store.ListAsync(projectId, statusFilter, pageSize, after, cancellationToken);
        return TypedResults.Ok(new JsonObject
        {
            ["items"] = new JsonArray([.. items.Select(item => links.Stamp(request, item))]),
            ["continuationToken"] = next,
        });
    }

    [Function("GetLatestRun")]
    [Access(Need.Read)]
    [Answers(200, "Run", Headers = ["ETag"])]
    [Problems(400, 404, 503)]
    public async Task<IResult> GetLatestRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/runs/latest")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var (items, _) = await store.ListAsync(projectId, null, 1, null, cancellationToken);
        if (items.Count == 0)
        {
            throw LedgerException.NotFound($"Project '{projectId}' has no runs.");
        }
        var run = await store.GetExistingAsync(projectId, (string)items[0]["runId"]!, cancellationToken);
        return TypedResults.Ok(links.Stamp(request, run.Document)).WithETag(request.HttpContext, run.ETag);
    }

    /// <summary>
    /// The constraint keeps <c>runs/latest</c> and <c>runs/counts</c> out of this route: Azure's host takes the
    /// first matching route in function-name order, not the most specific one, and <c>GetRun</c> sorts before
    /// <c>GetRunCounts</c> (and <c>GetLatestRun</c> only by luck). No two HTTP routes of the app can match one
    /// request (<c>RouteOverlapTests</c>). Both names are reserved run ids, in any case, as the constraint is.
    /// </summary>
    [Function("GetRun")]
    [Access(Need.Read)]
    [Answers(200, "Run", Headers = ["ETag"])]
    [Problems(400, 404, 503)]
    public async Task<IResult> GetRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/runs/{runId:regex(^(?!latest$|counts$))}")] HttpRequest request,
        string projectId, string runId, CancellationToken cancellationToken)
    {
        var run = await store.GetExistingAsync(projectId, runId, cancellationToken);
        return TypedResults.Ok(links.Stamp(request, run.Document)).WithETag(request.HttpContext, run.ETag);
    }

    /// <summary><c>updateRunIndex</c>: deep-merges a partial run, honouring <c>If-Match</c>.</summary>
    [Function("PatchRun")]
    [Access(Need.Write)]
    [Body("RunPatch", ContentTypes = ["application/json", "application/merge-patch+json"]), RequestHeader("If-Match")]
    [Answers(200, "Run", Headers = ["ETag"])]
    [Problems(400, 404, 409, 412, 413, 415, 503)]
    public async Task<IResult> PatchRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "projects/{projectId}/runs/{runId}")] HttpRequest request,
        string projectId, string runId, CancellationToken cancellationToken)
    {
        RouteIds.CheckRun(projectId, runId);
        var patch = RunRules.ValidatePatch(await JsonBody.ReadObjectAsync(request, cancellationToken));
        var ifMatch = request.Headers.IfMatch.Count > 0 ? request.Headers.IfMatch.ToString() : null;
        var run = await patcher.PatchAsync(projectId, runId, patch, ifMatch, cancellationToken);
        return TypedResults.Ok(links.Stamp(request, run.Document)).WithETag(request.HttpContext, run.ETag);
    }
}
