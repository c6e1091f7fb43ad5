namespace RunLedger.Storage;

/// <summary>
/// An entity-group transaction was rejected as a whole. <see cref="FailedActionIndex"/> is the
/// zero-based index of the action the service blamed, when it said which one.
/// </summary>
public sealed class TableTransactionFailedException : StorageRequestFailedException
{
    public TableTransactionFailedException()
    {
    }

    public TableTransactionFailedException(string message)
        : base(message)
    {
    }

    public TableTransactionFailedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public TableTransactionFailedException(int status, string? errorCode, string? requestId, string? serviceMessage, int? failedActionIndex)
        : base("Table", status, errorCode, requestId, serviceMessage)
    {
        FailedActionIndex = failedActionIndex;
    }

    public int? FailedActionIndex { get; }
}
