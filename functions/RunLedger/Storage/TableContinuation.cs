namespace RunLedger.Storage;

/// <summary>The service's opaque continuation tokens (x-ms-continuation-NextPartitionKey / NextRowKey).</summary>
public sealed record TableContinuation(string NextPartitionKey, string? NextRowKey);
