using System.Text.Json.Nodes;
using Azure;
using Microsoft.AspNetCore.Mvc;
using RunLedger.Http;
using RunLedger.Ledger;
using Azure.Data.Tables;

namespace RunLedger.Runs;

public static class RunsApi
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapRuns(this IEndpointRouteBuilder routes)
    {
        var runs = routes.MapGroup("/api/projects/{projectId}/runs");
        runs.MapGet("/", ListRuns).WithName("ListRuns");
        runs.MapGet("/latest", GetLatestRun).WithName("GetLatestRun");
        runs.MapGet("/{runId}", GetRun).WithName("GetRun");
        runs.MapPatch("/{runId}", PatchRun).WithName("PatchRun");
        return routes;
    }

    public static string RunPath(string projectId, string runId) => $"/api/projects/{projectId}/runs/{runId}";

    private static async Task<IResult> GetRun(HttpContext context, string projectId, string runId, RunStore store, CancellationToken cancellationToken)
    {
        var run = await FindAsync(store, projectId, runId, cancellationToken);
        return WithETag(context, run, TypedResults.Ok(run.Document));
    }

    /// <summary>
    /// <c>updateRunIndex</c>: deep-merges a partial run, honouring <c>If-Match</c>. Without it,
    /// a concurrent change makes the save fail on the ETag and the patch is re-applied to the
    /// fresh run, so no writer's update is lost.
    /// </summary>
    private static async Task<IResult> PatchRun(
        HttpContext context, string projectId, string runId,
        [FromHeader(Name = "If-Match")] string? ifMatch,
        RunStore store, Costs.CostProjection projection, TimeProvider clock, CancellationToken cancellationToken)
    {
        CheckIds(projectId, runId);
        var patch = RunRules.ValidatePatch(await JsonBody.ReadObjectAsync(context.Request, cancellationToken));
        for (var attempt = 1; ; attempt++)
        {
            var run = await FindAsync(store, projectId, runId, cancellationToken);
            if (ifMatch is not null && ifMatch != "*" && new ETag(ifMatch) != run.ETag)
            {
                throw LedgerException.PreconditionFailed(
                    $"Run '{runId}' has changed since ETag {ifMatch} was read; GET it again and re-apply the change.");
            }
            var wasTerminal = RunStatus.IsTerminal(run.Status);
            RunRules.Apply(run.Document, patch, clock.GetUtcNow());
            if (!wasTerminal && RunStatus.IsTerminal(run.Status)) Costs.CostLedger.ShowTotals(run);
            try
            {
                await store.SaveAsync(run, null, cancellationToken);
                await projection.SyncAsync(run, cancellationToken);
                return WithETag(context, run, TypedResults.Ok(run.Document));
            }
            catch (TableTransactionFailedException e) when (e.Status == StatusCodes.Status412PreconditionFailed)
            {
                if (ifMatch is not null && ifMatch != "*")
                {
                    throw LedgerException.PreconditionFailed($"Run '{runId}' changed while the patch was applied; GET it again.");
                }
                if (attempt >= Contention.MaxAttempts) throw;
                await Contention.DelayAsync(attempt, cancellationToken);
            }
        }
    }

    private static async Task<IResult> ListRuns(
        string projectId, string? limit, string? status, string? continuationToken,
        RunStore store, CancellationToken cancellationToken)
    {
        CheckProject(projectId);
        var pageSize = QueryValues.Limit(limit, DefaultPageSize, MaxPageSize);
        var statusFilter = status is null
            ? null
            : RunStatus.Normalize(status) ?? throw LedgerException.BadRequest($"'status' must be {RunStatus.Describe()}.");
        var after = continuationToken is null
            ? null
            : RunStore.DecodeToken(continuationToken) ?? throw LedgerException.BadRequest("'continuationToken' is not one this service issued.");

        var (items, next) = await store.ListAsync(projectId, statusFilter, pageSize, after, cancellationToken);
        return TypedResults.Ok(new JsonObject
        {
            ["items"] = new JsonArray([.. items]),
            ["continuationToken"] = next,
        });
    }

    private static async Task<IResult> GetLatestRun(HttpContext context, string projectId, RunStore store, CancellationToken cancellationToken)
    {
        CheckProject(projectId);
        var (items, _) = await store.ListAsync(projectId, null, 1, null, cancellationToken);
        if (items.Count == 0)
        {
            throw LedgerException.NotFound($"Project '{projectId}' has no runs.");
        }
        var run = await FindAsync(store, projectId, (string)items[0]["runId"]!, cancellationToken);
        return WithETag(context, run, TypedResults.Ok(run.Document));
    }

    public static async Task<RunRecord> FindAsync(RunStore store, string projectId, string runId, CancellationToken cancellationToken)
    {
        CheckIds(projectId, runId);
        return await store.GetAsync(projectId, runId, cancellationToken)
            ?? throw LedgerException.NotFound($"Run '{runId}' does not exist in project '{projectId}'.");
    }

    public static void CheckProject(string projectId)
    {
        if (Keys.Problem("projectId", projectId) is { } problem) throw LedgerException.BadRequest(problem);
    }

    public static void CheckIds(string projectId, string runId)
    {
        CheckProject(projectId);
        if (Keys.Problem("runId", runId) is { } problem) throw LedgerException.BadRequest(problem);
    }

    public static IResult WithETag(HttpContext context, RunRecord run, IResult result)
    {
        context.Response.Headers.ETag = run.ETag.ToString("H");
        return result;
    }
}
