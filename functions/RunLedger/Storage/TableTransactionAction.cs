using Azure;

namespace RunLedger.Storage;

/// <summary>One operation of an entity-group transaction. A default ETag means "*" for updates and deletes.</summary>
public sealed record TableTransactionAction(TableTransactionActionType ActionType, TableEntity Entity, ETag ETag = default);
