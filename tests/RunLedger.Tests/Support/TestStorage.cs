using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Ledger;

namespace RunLedger.Tests.Support;

/// <summary>Storage clients for tests, built by the app's own registration (<see cref="LedgerStorageRegistration"/>).</summary>
public static class TestStorage
{
    public static LedgerStorage For(string connectionString, string table, string jobs, string progress, Action<IServiceCollection>? configure = null, string? callbacks = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["RunLedger:TableName"] = table,
            ["RunLedger:JobsQueue"] = jobs,
            ["RunLedger:ProgressQueue"] = progress,
            ["RunLedger:CallbacksQueue"] = callbacks ?? Names.Queue("callbacks"),
        }).Build();
        return RunLedger.Hosting.LedgerServices.Storage(configuration, configure);
    }

    public static async Task<int> CountAsync(this QueueClient queue) =>
        (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
}
