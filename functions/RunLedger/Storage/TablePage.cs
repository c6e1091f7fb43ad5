namespace RunLedger.Storage;

/// <summary>One page of query results; <see cref="Continuation"/> is null on the last page.</summary>
public sealed record TablePage(IReadOnlyList<TableEntity> Values, TableContinuation? Continuation);
