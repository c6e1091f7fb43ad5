using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using RunLedger.Ledger;

namespace RunLedger.Http;

/// <summary>Turns exceptions into RFC 9457 problem+json: client faults keep their 4xx, storage outages become 503.</summary>
public sealed partial class ProblemHandler(ILogger<ProblemHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            LedgerException e => new ProblemDetails { Status = e.Status, Title = e.Title, Detail = e.Message },
            DocumentTooLargeException e => new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "Payload too large",
                Detail = e.Message,
            },
            BadHttpRequestException e => new ProblemDetails { Status = e.StatusCode, Title = "Bad request", Detail = e.Message },
            _ when StorageFailure.IsStorage(exception) => StorageProblem(httpContext, exception),
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }

        // Written directly rather than through IProblemDetailsService, which declines when the
        // client only accepts other types (an EventSource asks for text/event-stream).
        await TypedResults.Problem(problem).ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>Busy or unreachable storage is a 503 the client may retry; any other storage failure is ours (500), without internals.</summary>
    private ProblemDetails StorageProblem(HttpContext context, Exception e)
    {
        var (status, code, requestId) = StorageFailure.Describe(e);
        LogStorageFailure(logger, status, code, requestId);
        if (!StorageFailure.IsTransient(e))
        {
            return new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Storage error",
                Detail = "The ledger's storage refused the request unexpectedly; this is not a fault of the request.",
            };
        }
        context.Response.Headers.RetryAfter = StorageFailure.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "Storage unavailable",
            Detail = "The ledger's storage is busy or unreachable; retry later.",
        };
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error,
        Message = "Storage request failed with {StorageStatus} {StorageErrorCode} (request {StorageRequestId})")]
    private static partial void LogStorageFailure(ILogger logger, int storageStatus, string? storageErrorCode, string? storageRequestId);
}
