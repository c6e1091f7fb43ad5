namespace RunLedger.Storage;

/// <summary>Entry point to one account's Table service; hands out per-table clients sharing its pipeline.</summary>
public sealed class TableServiceClient
{
    private readonly StorageService _service;

    internal TableServiceClient(StorageService service) => _service = service;

    public TableClient GetTableClient(string tableName)
    {
        StorageNames.ValidateTableName(tableName);
        return new TableClient(_service, tableName);
    }
}
