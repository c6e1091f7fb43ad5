namespace RunLedger.Storage;

/// <summary>Entry point to one account's Queue service; hands out per-queue clients sharing its pipeline.</summary>
public sealed class QueueServiceClient
{
    private readonly StorageService _service;

    internal QueueServiceClient(StorageService service) => _service = service;

    public QueueClient GetQueueClient(string queueName)
    {
        StorageNames.ValidateQueueName(queueName);
        return new QueueClient(_service, queueName);
    }
}
