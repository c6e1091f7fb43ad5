using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using RunLedger.Ledger;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>
/// What the ledger relies on from Azure.Data.Tables against a real Azurite: which action a failed
/// transaction names, escaped filters, documents near the entity limit, and paging past 1,000 rows.
/// Each test has its own table.
/// </summary>
public sealed class LedgerTableTests : IAsyncLifetime
{
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        var azurite = await Azurite.GetAsync();
        _table = TestStorage.For(azurite.ConnectionString, Names.Table(), Names.Queue("j"), Names.Queue("p")).Table;
        await _table.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await _table.DeleteAsync();

    [Fact]
    public async Task ATransactionWithAStaleEtagIsRejectedWholeAndNamesTheFailingAction()
    {
        var first = (await _table.SubmitAsync([new(TableTransactionActionType.Add, new TableEntity("p", "run|r") { ["V"] = 1 })], default))[0];
        await _table.UpdateEntityAsync(new TableEntity("p", "run|r") { ["V"] = 2 }, first, TableUpdateMode.Replace);

        var e = await Assert.ThrowsAsync<TableTransactionFailedException>(() => _table.SubmitAsync(
        [
            new(TableTransactionActionType.UpdateReplace, new TableEntity("p", "run|r") { ["V"] = 3 }, first),
            new(TableTransactionActionType.Add, new TableEntity("p", "evt|r|1")),
        ], default));

        Assert.Equal(412, e.Status);
        Assert.Equal(0, e.FailedTransactionActionIndex);
        Assert.Null(await _table.FindAsync("p", "evt|r|1", default));
        Assert.Equal(2, (await _table.FindAsync("p", "run|r", default))!.GetInt32("V"));
    }

    [Fact]
    public async Task ReinsertingAMarkerIsA409NamingItsActionAndWritesNothing()
    {
        await _table.AddEntityAsync(new TableEntity("p", "eid|r|x"));

        var e = await Assert.ThrowsAsync<TableTransactionFailedException>(() => _table.SubmitAsync(
        [
            new(TableTransactionActionType.UpsertReplace, new TableEntity("p", "idx|r") { ["V"] = 1 }),
            new(TableTransactionActionType.Add, new TableEntity("p", "eid|r|x")),
        ], default));

        Assert.Equal(409, e.Status);
        Assert.Equal(1, e.FailedTransactionActionIndex);
        Assert.Null(await _table.FindAsync("p", "idx|r", default));
    }

    [Fact]
    public async Task ATransactionReturnsTheEtagOfEachWrittenRowInOrder()
    {
        var etags = await _table.SubmitAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("p", "a")),
            new(TableTransactionActionType.UpsertReplace, new TableEntity("p", "b")),
        ], default);

        Assert.Equal((await _table.FindAsync("p", "a", default))!.ETag, etags[0]);
        Assert.Equal((await _table.FindAsync("p", "b", default))!.ETag, etags[1]);
    }

    [Fact]
    public async Task AValueShapedLikeAFilterStaysInsideItsLiteral()
    {
        const string hostile = "x' or PartitionKey ne 'none";
        await _table.AddEntityAsync(new TableEntity("p", "plain"));
        await _table.AddEntityAsync(new TableEntity("p", hostile));

        var rows = new List<TableEntity>();
        await foreach (var row in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {"p"} and RowKey eq {hostile}")))
        {
            rows.Add(row);
        }

        Assert.Equal(hostile, Assert.Single(rows).RowKey);
    }

    [Fact]
    public async Task ADocumentNearTheEntityLimitRoundTripsInChunks()
    {
        var document = new JsonObject { ["seedData"] = new string('x', DocumentColumns.MaxJsonBytes - 100) };
        var entity = new TableEntity("p", "big");
        DocumentColumns.Write(entity, document);

        await _table.AddEntityAsync(entity);
        var read = DocumentColumns.Read((await _table.FindAsync("p", "big", default))!);

        Assert.Equal(document.ToJsonString(), read.ToJsonString());
    }

    [Fact]
    public async Task PagingFollowsContinuationsPastOneThousandRowsAndSaysWhetherMoreFollow()
    {
        for (var batch = 0; batch < 11; batch++)
        {
            await _table.SubmitAsync(Enumerable.Range(batch * 100, 100)
                .Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", $"row|{i:D5}"))), default);
        }
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {"p"} and RowKey gt {"row|"}");

        var (rows, more) = await TablePaging.ReadAsync(_table, filter, 1050, null, default);
        var (all, noMore) = await TablePaging.ReadAsync(_table, filter, 1100, null, default);

        Assert.Equal(1050, rows.Count);
        Assert.True(more);
        Assert.Equal(1100, all.Count);
        Assert.False(noMore);
        Assert.Equal(all.Select(r => r.RowKey).Order(StringComparer.Ordinal), all.Select(r => r.RowKey));
    }
}
