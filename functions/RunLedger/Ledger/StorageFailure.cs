using System.Net.Sockets;
using Azure;

namespace RunLedger.Ledger;

/// <summary>
/// The one place that decides what a storage failure means for a caller: busy or unreachable
/// storage (throttling, server busy, a network failure that outlasted the SDK's retries) is
/// transient and worth retrying later; anything else is unexpected.
/// </summary>
/// <remarks>
/// A network failure does not always arrive as <see cref="RequestFailedException"/>: when a
/// connection is reset right after it opened, HttpClient can let a bare <see cref="SocketException"/>
/// out, which the SDK neither wraps nor retries (alone, or as the last of its attempts). The
/// app's only outbound connections are to storage, so that too is storage being unreachable.
/// </remarks>
public static class StorageFailure
{
    /// <summary>Seconds a client is told to wait before retrying a request that storage could not serve.</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>A failure of a storage call: the service's answer, or the SDK giving up after its retries.</summary>
    public static bool IsStorage(Exception e) =>
        e is RequestFailedException or SocketException
        || (e is AggregateException a && a.InnerExceptions.Count > 0 && a.InnerExceptions.All(x => IsStorage(x) || IsTransient(x)));

    public static bool IsTransient(Exception e) => e switch
    {
        // Status 0: no answer at all (connection refused or reset, DNS, timeout).
        RequestFailedException r => r.Status is 0 or 408 or 429 or 500 or 502 or 503 or 504,
        // The SDK's retry policy gives up with every attempt's failure inside.
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(IsTransient),
        HttpRequestException or IOException or TimeoutException or SocketException => true,
        TaskCanceledException { InnerException: TimeoutException } => true,
        _ => false,
    };

    /// <summary>
    /// The service refused an entity or request as too large: no retry can fix it. The ledger
    /// measures sizes as the service does, so this is a safety net, answered 413.
    /// </summary>
    public static bool IsTooLarge(Exception e) =>
        e is RequestFailedException { ErrorCode: "EntityTooLarge" or "PropertyValueTooLarge" or "RequestBodyTooLarge" }
        || (e is RequestFailedException { Status: 413 });

    /// <summary>Status, error code and the service's request id, for logs (never the message, which may echo input).</summary>
    public static (int Status, string? ErrorCode, string? RequestId) Describe(Exception e) => e switch
    {
        RequestFailedException r => (r.Status, r.ErrorCode, r.GetRawResponse()?.Headers.RequestId),
        AggregateException a when a.InnerExceptions.LastOrDefault() is { } last => Describe(last),
        _ => (0, null, null),
    };
}
