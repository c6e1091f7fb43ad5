using Azure;
using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

public sealed class TableEntityTests : TableTestBase
{
    [Fact]
    public async Task CreateIfNotExistsTwiceSucceedsAndDeleteOfAMissingTableIsQuiet()
    {
        await Table.CreateIfNotExistsAsync();
        await Table.CreateIfNotExistsAsync();

        var other = Service.GetTableClient(Support.Names.Table("gone"));
        await other.DeleteAsync();
    }

    [Fact]
    public async Task EverySupportedTypeRoundTrips()
    {
        var when = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567);
        var id = Guid.NewGuid();
        var bytes = new byte[] { 0, 1, 2, 254, 255 };
        var entity = new TableEntity("p", "r")
        {
            ["Text"] = "hello ünïcødé 日本",
            ["Flag"] = true,
            ["Small"] = 42,
            ["Negative"] = -7,
            ["Big"] = 9_007_199_254_740_993L,
            ["Ratio"] = 0.25,
            ["WholeDouble"] = 5.0,
            ["When"] = when,
            ["Id"] = id,
            ["Bytes"] = bytes,
            ["Empty"] = string.Empty,
        };

        var etag = await Table.AddEntityAsync(entity);
        var read = await Table.GetEntityAsync("p", "r");

        Assert.NotEqual(default, etag);
        Assert.Equal(etag, read.ETag);
        Assert.Equal("p", read.PartitionKey);
        Assert.Equal("r", read.RowKey);
        Assert.NotNull(read.Timestamp);
        Assert.IsType<DateTimeOffset>(read[TableEntity.TimestampName]);
        Assert.Equal("hello ünïcødé 日本", read.GetString("Text"));
        Assert.True(read.GetBoolean("Flag"));
        Assert.Equal(42, read.GetInt32("Small"));
        Assert.Equal(42L, read.GetInt64("Small"));
        Assert.Equal(-7, read.GetInt32("Negative"));
        Assert.Equal(9_007_199_254_740_993L, read.GetInt64("Big"));
        Assert.Equal(0.25, read.GetDouble("Ratio"));
        Assert.Equal(5.0, read.GetDouble("WholeDouble"));
        Assert.IsType<double>(read["WholeDouble"]);
        Assert.Equal(when, read.GetDateTimeOffset("When"));
        Assert.Equal(id, read.GetGuid("Id"));
        Assert.Equal(bytes, read.GetBinary("Bytes"));
        Assert.Equal(string.Empty, read.GetString("Empty"));
        Assert.Null(read.GetString("Absent"));
    }

    [Fact]
    public async Task AddingAnExistingRowFailsWith409EntityAlreadyExists()
    {
        await Table.AddEntityAsync(new TableEntity("p", "r"));

        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(() => Table.AddEntityAsync(new TableEntity("p", "r")));

        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.Contains("409 EntityAlreadyExists", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Support.Azurite.AccountKey, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateWithStaleEtagFailsWith412AndWithCurrentEtagWorks()
    {
        var first = await Table.AddEntityAsync(new TableEntity("p", "r") { ["N"] = 1 });
        var second = await Table.UpdateEntityAsync(new TableEntity("p", "r") { ["N"] = 2 }, first);

        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(
            () => Table.UpdateEntityAsync(new TableEntity("p", "r") { ["N"] = 3 }, first));
        var third = await Table.UpdateEntityAsync(new TableEntity("p", "r") { ["N"] = 4 }, second);

        Assert.Equal(412, ex.Status);
        Assert.Equal("UpdateConditionNotSatisfied", ex.ErrorCode);
        Assert.NotEqual(first, second);
        var read = await Table.GetEntityAsync("p", "r");
        Assert.Equal(third, read.ETag);
        Assert.Equal(4, read.GetInt32("N"));
    }

    [Fact]
    public async Task AFailureCarriesTheRequestIdAndTheServicesExplanationInTheirPlaces()
    {
        var error = await Assert.ThrowsAsync<StorageRequestFailedException>(() => Table.GetEntityAsync("p", "missing"));
        Assert.Equal(404, error.Status);
        Assert.Equal("ResourceNotFound", error.ErrorCode);
        Assert.True(Guid.TryParse(error.RequestId, out _), $"RequestId is '{error.RequestId}'");
        Assert.Contains($"(request id {error.RequestId})", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnconditionalUpdateOfAMissingRowFailsWith404()
    {
        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(
            () => Table.UpdateEntityAsync(new TableEntity("p", "missing"), ETag.All));

        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public async Task UpdateWithoutAnEtagIsRefusedClientSide()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Table.UpdateEntityAsync(new TableEntity("p", "r"), default));
    }

    [Fact]
    public async Task MergeKeepsOtherPropertiesAndReplaceDropsThem()
    {
        await Table.AddEntityAsync(new TableEntity("p", "merge") { ["A"] = "a", ["B"] = "b" });
        await Table.AddEntityAsync(new TableEntity("p", "replace") { ["A"] = "a", ["B"] = "b" });

        await Table.UpdateEntityAsync(new TableEntity("p", "merge") { ["B"] = "B2" }, ETag.All, TableUpdateMode.Merge);
        await Table.UpdateEntityAsync(new TableEntity("p", "replace") { ["B"] = "B2" }, ETag.All, TableUpdateMode.Replace);

        var merged = await Table.GetEntityAsync("p", "merge");
        var replaced = await Table.GetEntityAsync("p", "replace");
        Assert.Equal("a", merged.GetString("A"));
        Assert.Equal("B2", merged.GetString("B"));
        Assert.False(replaced.ContainsKey("A"));
        Assert.Equal("B2", replaced.GetString("B"));
    }

    [Fact]
    public async Task UpsertInsertsThenMergesOrReplaces()
    {
        var inserted = await Table.UpsertEntityAsync(new TableEntity("p", "r") { ["A"] = 1, ["B"] = 1 });
        var merged = await Table.UpsertEntityAsync(new TableEntity("p", "r") { ["B"] = 2 });
        var afterMerge = await Table.GetEntityAsync("p", "r");
        await Table.UpsertEntityAsync(new TableEntity("p", "r") { ["C"] = 3 }, TableUpdateMode.Replace);
        var afterReplace = await Table.GetEntityAsync("p", "r");

        Assert.NotEqual(inserted, merged);
        Assert.Equal(1, afterMerge.GetInt32("A"));
        Assert.Equal(2, afterMerge.GetInt32("B"));
        Assert.False(afterReplace.ContainsKey("A"));
        Assert.Equal(3, afterReplace.GetInt32("C"));
    }

    [Fact]
    public async Task DeleteRemovesTheRowAndHonoursTheEtag()
    {
        var etag = await Table.AddEntityAsync(new TableEntity("p", "r"));
        var newer = await Table.UpdateEntityAsync(new TableEntity("p", "r") { ["X"] = 1 }, etag);

        var stale = await Assert.ThrowsAsync<StorageRequestFailedException>(() => Table.DeleteEntityAsync("p", "r", etag));
        await Table.DeleteEntityAsync("p", "r", newer);

        Assert.Equal(412, stale.Status);
        Assert.Null(await Table.GetEntityIfExistsAsync("p", "r"));
        var missing = await Assert.ThrowsAsync<StorageRequestFailedException>(() => Table.DeleteEntityAsync("p", "r"));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task GettingAMissingRowThrows404AndIfExistsReturnsNull()
    {
        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(() => Table.GetEntityAsync("p", "nope"));

        Assert.Equal(404, ex.Status);
        Assert.Null(await Table.GetEntityIfExistsAsync("p", "nope"));
    }

    [Fact]
    public async Task GettingFromAMissingTableThrowsEvenWithIfExists()
    {
        var missing = Service.GetTableClient(Support.Names.Table("none"));

        var ex = await Assert.ThrowsAsync<StorageRequestFailedException>(() => missing.GetEntityIfExistsAsync("p", "r"));

        Assert.Equal(404, ex.Status);
    }

    [Theory]
    [InlineData("o'brien", "it's")]
    [InlineData("ünïcødé-日本", "ключ 🔑")]
    [InlineData("a b+c%d&e=f", "x'y''z")]
    public async Task KeysWithQuotesAndUnicodeWorkForEveryOperation(string partitionKey, string rowKey)
    {
        var etag = await Table.AddEntityAsync(new TableEntity(partitionKey, rowKey) { ["V"] = 1 });
        var read = await Table.GetEntityAsync(partitionKey, rowKey);
        etag = await Table.UpdateEntityAsync(new TableEntity(partitionKey, rowKey) { ["V"] = 2 }, etag);
        var filter = TableFilter.Create($"PartitionKey eq {partitionKey} and RowKey eq {rowKey}");
        var found = await ToListAsync(Table.QueryAsync(filter));
        await Table.DeleteEntityAsync(partitionKey, rowKey, etag);

        Assert.Equal(partitionKey, read.PartitionKey);
        Assert.Equal(rowKey, read.RowKey);
        var only = Assert.Single(found);
        Assert.Equal(2, only.GetInt32("V"));
        Assert.Null(await Table.GetEntityIfExistsAsync(partitionKey, rowKey));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a\\b")]
    [InlineData("a\nb")]
    public async Task ForbiddenKeyCharactersAreRejectedClientSide(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Table.AddEntityAsync(new TableEntity("p", key)));
        await Assert.ThrowsAsync<ArgumentException>(() => Table.GetEntityAsync(key, "r"));
    }

    [Fact]
    public async Task AStringOf32000CharactersRoundTrips()
    {
        var text = string.Concat(Enumerable.Range(0, 32_000).Select(i => (char)('a' + (i % 26))));

        await Table.AddEntityAsync(new TableEntity("p", "long") { ["Text"] = text });

        Assert.Equal(text, (await Table.GetEntityAsync("p", "long")).GetString("Text"));
    }

    [Fact]
    public async Task AnEntityNearTheSizeLimitRoundTrips()
    {
        var entity = new TableEntity("p", "big");
        for (var i = 0; i < 15; i++)
        {
            var bytes = new byte[64_000];
            Random.Shared.NextBytes(bytes);
            entity[$"Chunk{i:00}"] = bytes;
        }

        await Table.AddEntityAsync(entity);
        var read = await Table.GetEntityAsync("p", "big");

        for (var i = 0; i < 15; i++)
        {
            Assert.Equal((byte[])entity[$"Chunk{i:00}"]!, read.GetBinary($"Chunk{i:00}"));
        }
    }

    [Fact]
    public async Task APipelinePolicyAddedThroughOptionsSeesEveryRequest()
    {
        var counter = new CountingPolicy();
        var options = new StorageClientOptions();
        options.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var azurite = await Support.Azurite.GetAsync();
        var table = StorageAccount.Parse(azurite.ConnectionString).CreateTableServiceClient(options).GetTableClient(Table.Name);

        await table.AddEntityAsync(new TableEntity("p", "counted"));
        await table.GetEntityAsync("p", "counted");

        Assert.Equal(2, counter.Count);
    }

    internal static async Task<List<TableEntity>> ToListAsync(IAsyncEnumerable<TableEntity> source)
    {
        var list = new List<TableEntity>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
