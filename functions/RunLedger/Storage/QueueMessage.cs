namespace RunLedger.Storage;

/// <summary>
/// A received message. <see cref="RawText"/> is the MessageText exactly as stored; <see cref="Body"/>
/// is its base64 decoding, or null when it is not valid base64 (<see cref="IsBase64"/> false), which the
/// Functions host would poison without invoking the function.
/// </summary>
public sealed record QueueMessage(
    string MessageId,
    string PopReceipt,
    long DequeueCount,
    DateTimeOffset InsertedOn,
    DateTimeOffset ExpiresOn,
    DateTimeOffset NextVisibleOn,
    BinaryData? Body,
    string RawText)
{
    public bool IsBase64 => Body is not null;

    /// <summary>The body decoded as UTF-8; null when the stored text was not base64.</summary>
    public string? MessageText => Body?.ToString();
}
