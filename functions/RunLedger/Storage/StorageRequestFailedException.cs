using System.Globalization;

namespace RunLedger.Storage;

/// <summary>
/// A storage call answered with an error. The message names the service, status, error code,
/// request id and the service's own first line of explanation; it never carries keys or headers.
/// </summary>
public class StorageRequestFailedException : Exception
{
    public StorageRequestFailedException()
    {
    }

    public StorageRequestFailedException(string message)
        : base(message)
    {
    }

    public StorageRequestFailedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public StorageRequestFailedException(string service, int status, string? errorCode, string? requestId, string? serviceMessage)
        : base(Describe(service, status, errorCode, requestId, serviceMessage))
    {
        Status = status;
        ErrorCode = errorCode;
        RequestId = requestId;
    }

    public int Status { get; }

    public string? ErrorCode { get; }

    public string? RequestId { get; }

    internal static string Describe(string service, int status, string? errorCode, string? requestId, string? serviceMessage)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{service} storage answered {status} {errorCode ?? "(no error code)"}");
        if (!string.IsNullOrEmpty(requestId))
        {
            text += $" (request id {requestId})";
        }

        // Azure appends "RequestId:…\nTime:…" lines; the first line is the explanation.
        var firstLine = serviceMessage?.Split('\n', 2)[0].Trim();
        if (!string.IsNullOrEmpty(firstLine))
        {
            text += ": " + (firstLine.Length > 500 ? firstLine[..500] + "…" : firstLine);
        }

        return text;
    }
}
