using Microsoft.Extensions.Options;
using RunLedger.Storage;

namespace RunLedger.Ledger;

/// <summary>The ledger's table and queues, built once from <c>AzureWebJobsStorage</c>.</summary>
public sealed class LedgerStorage
{
    public LedgerStorage(IConfiguration configuration, IOptions<LedgerOptions> options, StorageClientOptions? clientOptions = null)
    {
        var account = StorageAccount.FromConfiguration(configuration);
        clientOptions ??= new StorageClientOptions();
        clientOptions.AddPolicy(new Telemetry.StorageRetryCounter(), Azure.Core.HttpPipelinePosition.PerRetry);
        var settings = options.Value;
        Table = account.CreateTableServiceClient(clientOptions).GetTableClient(settings.TableName);
        var queues = account.CreateQueueServiceClient(clientOptions);
        Jobs = queues.GetQueueClient(settings.JobsQueue);
        Progress = queues.GetQueueClient(settings.ProgressQueue);
        ProgressPoison = queues.GetQueueClient(settings.ProgressQueue + "-poison");
    }

    public TableClient Table { get; }
    public QueueClient Jobs { get; }
    public QueueClient Progress { get; }
    public QueueClient ProgressPoison { get; }

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        await Table.CreateIfNotExistsAsync(cancellationToken);
        await Jobs.CreateIfNotExistsAsync(cancellationToken);
        await Progress.CreateIfNotExistsAsync(cancellationToken);
        await ProgressPoison.CreateIfNotExistsAsync(cancellationToken);
    }
}

/// <summary>Creates storage at start-up when <see cref="LedgerOptions.CreateStorageOnStart"/> is set.</summary>
public sealed class StorageInitializer(LedgerStorage storage, IOptions<LedgerOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.CreateStorageOnStart ? storage.CreateIfNotExistsAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
