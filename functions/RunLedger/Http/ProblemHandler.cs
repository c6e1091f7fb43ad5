using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using RunLedger.Ledger;
using RunLedger.Storage;

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
            StorageRequestFailedException e => StorageProblem(e),
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

    private ProblemDetails StorageProblem(StorageRequestFailedException e)
    {
        LogStorageFailure(logger, e.Status, e.ErrorCode, e.RequestId);
        return new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "Storage unavailable",
            Detail = "The ledger's storage did not complete the request; retry later.",
        };
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error,
        Message = "Storage request failed with {StorageStatus} {StorageErrorCode} (request {StorageRequestId})")]
    private static partial void LogStorageFailure(ILogger logger, int storageStatus, string? storageErrorCode, string? storageRequestId);
}
