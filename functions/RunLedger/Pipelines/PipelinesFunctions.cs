using RunLedger.Access;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Dashboard;
using RunLedger.Http;
using RunLedger.Runs;

namespace RunLedger.Pipelines;

/// <summary>
/// Starting pipelines.
/// <code>
/// POST pipelines   StartPipeline   the start webhook (Make.com); Idempotency-Key makes retries safe
/// </code>
/// </summary>
public sealed class PipelinesFunctions(PipelineStarter starter, Credentials credentials, RunLinks links)
{
    /// <summary>Creates the run and answers 202 with it and its status URL.</summary>
    [Function("StartPipeline")]
    [Access(Need.Write, Project = ProjectFrom.Body)]
    [Body("StartRequest"), RequestHeader("Idempotency-Key")]
    [Answers(202, "Run", Headers = ["Location", "ETag"], When = "The run, queued (or, for a retry, as it is now); Location is its URL.")]
    [Problems(400, 409, 413, 415, 422, 503)]
    public async Task<IResult> StartPipeline(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "pipelines")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var idempotencyKey = request.Headers.TryGetValue("Idempotency-Key", out var key) ? key.ToString() : null;
        if (idempotencyKey is { Length: 0 or > 256 })
        {
            throw LedgerException.BadRequest("'Idempotency-Key' must be 1 to 256 characters.");
        }
        var body = await JsonBody.ReadObjectAsync(request, cancellationToken);
        var start = StartRequest.Parse(body);
        AccessMiddleware.CallerOf(request.HttpContext).Demand(credentials, Need.Write, start.ProjectId, null);
        var run = await starter.StartAsync(start, idempotencyKey, cancellationToken);
        return TypedResults.Accepted(RunIds.StatusPath(run.ProjectId, run.RunId), links.Stamp(request, run.Document))
            .WithETag(request.HttpContext, run.ETag);
    }
}
