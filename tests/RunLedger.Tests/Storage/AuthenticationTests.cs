using RunLedger.Storage;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>Proves the emulator really checks our signatures, so the passing tests mean the signing is right.</summary>
public sealed class AuthenticationTests
{
    private static async Task<StorageAccount> WrongKeyAccountAsync()
    {
        var azurite = await Azurite.GetAsync();
        var wrongKey = Convert.ToBase64String(new byte[64]);
        return StorageAccount.Parse(azurite.ConnectionString.Replace(Azurite.AccountKey, wrongKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATableRequestSignedWithTheWrongKeyIsRejectedWith403()
    {
        var table = (await WrongKeyAccountAsync()).CreateTableServiceClient().GetTableClient(Names.Table());

        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(() => table.CreateIfNotExistsAsync());

        Assert.Equal(403, ex.Status);
        Assert.DoesNotContain("SharedKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AQueueRequestSignedWithTheWrongKeyIsRejectedWith403()
    {
        var queue = (await WrongKeyAccountAsync()).CreateQueueServiceClient().GetQueueClient(Names.Queue());

        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(() => queue.CreateIfNotExistsAsync());

        Assert.Equal(403, ex.Status);
    }
}
