namespace RunLedger.Storage;

public sealed record UpdateReceipt(string PopReceipt, DateTimeOffset NextVisibleOn);
