using RunLedger.Storage;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>Gives each test its own queue in Azurite, deleted afterwards.</summary>
public abstract class QueueTestBase : IAsyncLifetime
{
    protected QueueClient Queue { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var azurite = await Azurite.GetAsync();
        Queue = StorageAccount.Parse(azurite.ConnectionString).CreateQueueServiceClient().GetQueueClient(Names.Queue());
        await Queue.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await Queue.DeleteAsync();
}
