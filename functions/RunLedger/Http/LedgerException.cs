namespace RunLedger.Http;

/// <summary>
/// A request the ledger refuses, with the HTTP status and a precise detail. The exception handler
/// turns it into RFC 9457 problem+json; queue processing turns it into a dead letter.
/// </summary>
public sealed class LedgerException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    public static LedgerException BadRequest(string detail) => new(StatusCodes.Status400BadRequest, "Invalid request", detail);
    public static LedgerException NotFound(string detail) => new(StatusCodes.Status404NotFound, "Not found", detail);
    public static LedgerException Conflict(string detail) => new(StatusCodes.Status409Conflict, "Conflict", detail);
    public static LedgerException PreconditionFailed(string detail) => new(StatusCodes.Status412PreconditionFailed, "Precondition failed", detail);
    public static LedgerException TooLarge(string detail) => new(StatusCodes.Status413PayloadTooLarge, "Payload too large", detail);
    public static LedgerException Unprocessable(string detail) => new(StatusCodes.Status422UnprocessableEntity, "Unprocessable request", detail);
}
