using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using RunLedger.Ledger;

namespace RunLedger.Http;

/// <summary>
/// Turns what an HTTP function throws into RFC 9457 problem+json: client faults keep their 4xx,
/// busy or unreachable storage is a 503 to retry, anything else a 500 without internals. Other
/// triggers are left alone: a queue function's exception is how the host learns to retry.
/// </summary>
public sealed partial class ProblemMiddleware(ILogger<ProblemMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (context.GetHttpContext() is { } http && !http.Response.HasStarted)
        {
            var problem = ToProblem(exception, http.Response, logger);
            // Written directly rather than through IProblemDetailsService, which declines when the
            // client only accepts other types (an EventSource asks for text/event-stream).
            context.GetInvocationResult().Value = TypedResults.Problem(problem);
        }
    }

    /// <summary>The problem an exception becomes; sets <c>Retry-After</c> on <paramref name="response"/> for a 503.</summary>
    public static ProblemDetails ToProblem(Exception exception, HttpResponse response, ILogger logger)
    {
        // The worker wraps what the function threw.
        var e = exception is AggregateException { InnerExceptions.Count: 1 } single ? single.InnerException! : exception;
        switch (e)
        {
            case LedgerException ledger:
                return new ProblemDetails { Status = ledger.Status, Title = ledger.Title, Detail = ledger.Message };
            case DocumentTooLargeException tooLarge:
                return new ProblemDetails { Status = StatusCodes.Status413PayloadTooLarge, Title = "Payload too large", Detail = $"The change cannot be stored. {tooLarge.Message}" };
            case BadHttpRequestException bad:
                return new ProblemDetails { Status = bad.StatusCode, Title = "Bad request", Detail = bad.Message };
            case OperationCanceledException when response.HttpContext.RequestAborted.IsCancellationRequested:
                return new ProblemDetails { Status = 499, Title = "Client closed request", Detail = "The client went away before the answer." };
        }

        if (StorageFailure.IsStorage(e))
        {
            var (status, code, requestId) = StorageFailure.Describe(e);
            LogStorageFailure(logger, status, code, requestId);
            if (StorageFailure.IsTooLarge(e))
            {
                return new ProblemDetails
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Title = "Payload too large",
                    Detail = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"The change cannot be stored: storage refused it as too large ({code}). A run holds about {DocumentColumns.MaxJsonBytes:N0} bytes of JSON."),
                };
            }
            if (StorageFailure.IsTransient(e))
            {
                response.Headers.RetryAfter = StorageFailure.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return new ProblemDetails
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "Storage unavailable",
                    Detail = "The ledger's storage is busy or unreachable; retry later.",
                };
            }
            return new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Storage error",
                Detail = "The ledger's storage refused the request unexpectedly; this is not a fault of the request.",
            };
        }

        LogUnexpected(logger, e);
        return new ProblemDetails
        {
            Status = StatusCodes.Status500InternalServerError,
            Title = "Internal error",
            Detail = "The request failed unexpectedly; this is not a fault of the request.",
        };
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error,
        Message = "Storage request failed with {StorageStatus} {StorageErrorCode} (request {StorageRequestId})")]
    private static partial void LogStorageFailure(ILogger logger, int storageStatus, string? storageErrorCode, string? storageRequestId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Request failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
