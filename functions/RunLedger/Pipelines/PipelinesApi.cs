using Microsoft.AspNetCore.Mvc;
using RunLedger.Http;
using RunLedger.Runs;

namespace RunLedger.Pipelines;

public static class PipelinesApi
{
    public static IEndpointRouteBuilder MapPipelines(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/pipelines", StartPipeline).WithName("StartPipeline");
        return routes;
    }

    /// <summary>The start webhook: creates the run and answers 202 with it and its status URL.</summary>
    private static async Task<IResult> StartPipeline(
        HttpRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        PipelineStarter starter,
        CancellationToken cancellationToken)
    {
        if (idempotencyKey is { Length: 0 or > 256 })
        {
            throw LedgerException.BadRequest("'Idempotency-Key' must be 1 to 256 characters.");
        }
        var body = await JsonBody.ReadObjectAsync(request, cancellationToken);
        var run = await starter.StartAsync(StartRequest.Parse(body), idempotencyKey, cancellationToken);
        return RunsApi.WithETag(request.HttpContext, run,
            TypedResults.Accepted(RunsApi.RunPath(run.ProjectId, run.RunId), run.Document));
    }
}
