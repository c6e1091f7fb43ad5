using RunLedger.Storage;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>Gives each test class instance (so each test) its own table in Azurite, deleted afterwards.</summary>
public abstract class TableTestBase : IAsyncLifetime
{
    protected TableClient Table { get; private set; } = null!;

    protected TableServiceClient Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var azurite = await Azurite.GetAsync();
        Service = StorageAccount.Parse(azurite.ConnectionString).CreateTableServiceClient();
        Table = Service.GetTableClient(Names.Table());
        await Table.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await Table.DeleteAsync();
}
