using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Options;

namespace RunLedger.Ledger;

/// <summary>The ledger's table and queues, from the one registration of the storage clients.</summary>
public sealed class LedgerStorage(TableServiceClient tables, QueueServiceClient queues, IOptions<LedgerOptions> options)
{
    public TableClient Table { get; } = tables.GetTableClient(options.Value.TableName);
    public QueueClient Jobs { get; } = queues.GetQueueClient(options.Value.JobsQueue);
    public QueueClient Progress { get; } = queues.GetQueueClient(options.Value.ProgressQueue);
    public QueueClient ProgressPoison { get; } = queues.GetQueueClient(options.Value.ProgressQueue + "-poison");
    public QueueClient Callbacks { get; } = queues.GetQueueClient(options.Value.CallbacksQueue);

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        await Table.CreateIfNotExistsAsync(cancellationToken);
        await Jobs.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await Progress.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await ProgressPoison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await Callbacks.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    /// <summary>Deletes the table and the queues (tests and benchmarks clean up with it).</summary>
    public async Task DeleteAsync()
    {
        await Table.DeleteAsync();
        foreach (var queue in new[] { Jobs, Progress, ProgressPoison, Callbacks }) await queue.DeleteIfExistsAsync();
    }
}

public static class LedgerStorageRegistration
{

    /// <summary>
    /// Registers <see cref="TableServiceClient"/>, <see cref="QueueServiceClient"/> and
    /// <see cref="LedgerStorage"/> from the <c>AzureWebJobsStorage</c> settings. The app, the tests
    /// and the tools all call this, so they reach storage the same way.
    /// </summary>
    /// <remarks>
    /// Retries: exponential, 5 retries from 0.4 s up to 10 s apart, so a throttled or briefly
    /// unreachable account is ridden out within about 20 s; each try times out after 30 s
    /// (the SDK's default is 100 s, far longer than any ledger request should wait).
    /// Queue messages are base64, which the Functions queue trigger expects.
    /// </remarks>
    public static IServiceCollection AddLedgerStorage(this IServiceCollection services, IConfiguration configuration)
    {
        var connection = new Lazy<StorageConnection>(() => StorageConnection.FromConfiguration(configuration));
        services.AddAzureClients(clients =>
        {
            clients.AddClient<TableServiceClient, TableClientOptions>(options => connection.Value.CreateTableServiceClient(options));
            clients.AddClient<QueueServiceClient, QueueClientOptions>(options => connection.Value.CreateQueueServiceClient(options))
                .ConfigureOptions(options => options.MessageEncoding = QueueMessageEncoding.Base64);
            clients.ConfigureDefaults(ConfigureRetries);
            clients.ConfigureDefaults(options => options.AddPolicy(new Telemetry.StorageRetryCounter(), HttpPipelinePosition.PerRetry));
        });
        services.AddSingleton<LedgerStorage>();
        return services;
    }

    public static void ConfigureRetries(ClientOptions options)
    {
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 5;
        options.Retry.Delay = TimeSpan.FromMilliseconds(400);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
    }
}

/// <summary>Creates storage at start-up when <see cref="LedgerOptions.CreateStorageOnStart"/> is set.</summary>
public sealed class StorageInitializer(LedgerStorage storage, IOptions<LedgerOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.CreateStorageOnStart ? storage.CreateIfNotExistsAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
