using Azure;
using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

public sealed class TableTransactionTests : TableTestBase
{
    [Fact]
    public async Task ATransactionAppliesEveryActionAndReturnsEtagsInOrder()
    {
        var existing = await Table.AddEntityAsync(new TableEntity("p", "merge") { ["A"] = 1 });
        await Table.AddEntityAsync(new TableEntity("p", "delete"));
        await Table.AddEntityAsync(new TableEntity("p", "replace") { ["A"] = 1 });

        var etags = await Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("p", "new") { ["A"] = 1 }),
            new(TableTransactionActionType.UpdateMerge, new TableEntity("p", "merge") { ["B"] = 2 }, existing),
            new(TableTransactionActionType.UpdateReplace, new TableEntity("p", "replace") { ["B"] = 2 }),
            new(TableTransactionActionType.UpsertMerge, new TableEntity("p", "upsert1") { ["A"] = 1 }),
            new(TableTransactionActionType.UpsertReplace, new TableEntity("p", "upsert2") { ["A"] = 1 }),
            new(TableTransactionActionType.Delete, new TableEntity("p", "delete")),
        ]);

        Assert.Equal(6, etags.Count);
        Assert.All(etags.Take(5), e => Assert.NotEqual(default, e));
        Assert.Equal(default, etags[5]);
        Assert.Equal(etags[0], (await Table.GetEntityAsync("p", "new")).ETag);
        var merged = await Table.GetEntityAsync("p", "merge");
        Assert.Equal(etags[1], merged.ETag);
        Assert.Equal(1, merged.GetInt32("A"));
        Assert.Equal(2, merged.GetInt32("B"));
        Assert.False((await Table.GetEntityAsync("p", "replace")).ContainsKey("A"));
        Assert.NotNull(await Table.GetEntityIfExistsAsync("p", "upsert1"));
        Assert.NotNull(await Table.GetEntityIfExistsAsync("p", "upsert2"));
        Assert.Null(await Table.GetEntityIfExistsAsync("p", "delete"));
    }

    [Fact]
    public async Task ATransactionWithAStaleEtagIsRejectedWholeAndNamesTheFailingAction()
    {
        var stale = await Table.AddEntityAsync(new TableEntity("p", "existing") { ["N"] = 1 });
        await Table.UpdateEntityAsync(new TableEntity("p", "existing") { ["N"] = 2 }, stale);

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("p", "inserted")),
            new(TableTransactionActionType.UpdateMerge, new TableEntity("p", "existing") { ["N"] = 3 }, stale),
        ]));

        Assert.Equal(412, ex.Status);
        Assert.Equal("UpdateConditionNotSatisfied", ex.ErrorCode);
        Assert.Equal(1, ex.FailedActionIndex);
        Assert.Null(await Table.GetEntityIfExistsAsync("p", "inserted"));
        Assert.Equal(2, (await Table.GetEntityAsync("p", "existing")).GetInt32("N"));
    }

    [Fact]
    public async Task ATransactionReinsertingAnExistingRowIsRejectedWith409()
    {
        await Table.AddEntityAsync(new TableEntity("p", "b"));

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("p", "a")),
            new(TableTransactionActionType.Add, new TableEntity("p", "b")),
            new(TableTransactionActionType.Add, new TableEntity("p", "c")),
        ]));

        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.Equal(1, ex.FailedActionIndex);
        Assert.Null(await Table.GetEntityIfExistsAsync("p", "a"));
    }

    [Fact]
    public async Task ATransactionAcrossPartitionsIsRejectedBeforeSending()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("p1", "a")),
            new(TableTransactionActionType.Add, new TableEntity("p2", "b")),
        ]));

        Assert.Contains("PartitionKey", ex.Message, StringComparison.Ordinal);
        Assert.Null(await Table.GetEntityIfExistsAsync("p1", "a"));
    }

    [Fact]
    public async Task ATransactionOfMoreThan100ActionsIsRejectedBeforeSending()
    {
        var actions = Enumerable.Range(0, 101)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", $"r{i}")));

        await Assert.ThrowsAsync<ArgumentException>(() => Table.SubmitTransactionAsync(actions));
        Assert.Null(await Table.GetEntityIfExistsAsync("p", "r0"));
    }

    [Fact]
    public async Task AnEmptyTransactionOrARepeatedRowKeyIsRejectedBeforeSending()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Table.SubmitTransactionAsync([]));
        await Assert.ThrowsAsync<ArgumentException>(() => Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("p", "a")),
            new(TableTransactionActionType.Delete, new TableEntity("p", "a")),
        ]));
    }

    [Fact]
    public async Task ATransactionBodyOver4MiBIsRejectedBeforeSending()
    {
        var actions = Enumerable.Range(0, 6).Select(i =>
        {
            var entity = new TableEntity("p", $"r{i}");
            for (var c = 0; c < 12; c++)
            {
                entity[$"C{c}"] = new byte[64_000];
            }

            return new TableTransactionAction(TableTransactionActionType.Add, entity);
        });

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Table.SubmitTransactionAsync(actions));

        Assert.Contains("4 MiB", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TransactionKeysWithQuotesAndUnicodeWork()
    {
        var etags = await Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("ünïcødé-日本", "o'brien")),
            new(TableTransactionActionType.UpsertMerge, new TableEntity("ünïcødé-日本", "it''s")),
        ]);
        await Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Delete, new TableEntity("ünïcødé-日本", "o'brien"), etags[0]),
        ]);

        Assert.Null(await Table.GetEntityIfExistsAsync("ünïcødé-日本", "o'brien"));
        Assert.NotNull(await Table.GetEntityIfExistsAsync("ünïcødé-日本", "it''s"));
    }

    [Fact]
    public async Task ADeleteOfAMissingRowInATransactionFailsWith404()
    {
        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => Table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Delete, new TableEntity("p", "missing"), ETag.All),
        ]));

        Assert.Equal(404, ex.Status);
        Assert.Equal(0, ex.FailedActionIndex);
    }
}
