namespace RunLedger.Storage;

/// <summary>A peeked message (no pop receipt). Body and RawText as for <see cref="QueueMessage"/>.</summary>
public sealed record PeekedMessage(string MessageId, long DequeueCount, BinaryData? Body, string RawText)
{
    public bool IsBase64 => Body is not null;

    public string? MessageText => Body?.ToString();
}
