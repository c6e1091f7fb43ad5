using System.Globalization;
using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

public sealed class TableQueryTests : TableTestBase
{
    [Fact]
    public async Task AFilterWithAQuotedValueFindsExactlyTheMatchingRow()
    {
        await Table.AddEntityAsync(new TableEntity("p", "1") { ["Name"] = "o'brien" });
        await Table.AddEntityAsync(new TableEntity("p", "2") { ["Name"] = "obrien" });
        await Table.AddEntityAsync(new TableEntity("p", "3") { ["Name"] = "x' or Name ne 'y" });

        var hostile = "x' or Name ne 'y";
        var byQuote = await TableEntityTests.ToListAsync(Table.QueryAsync(TableFilter.Create($"PartitionKey eq {"p"} and Name eq {"o'brien"}")));
        var byInjection = await TableEntityTests.ToListAsync(Table.QueryAsync(TableFilter.Create($"Name eq {hostile}")));

        Assert.Equal("1", Assert.Single(byQuote).RowKey);
        Assert.Equal("3", Assert.Single(byInjection).RowKey);
    }

    [Fact]
    public async Task TypedFilterArgumentsCompareAsTheirEdmTypes()
    {
        var when = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var id = Guid.NewGuid();
        await Table.AddEntityAsync(new TableEntity("p", "a") { ["Big"] = 10_000_000_000L, ["When"] = when, ["Id"] = id, ["Ratio"] = 2.0, ["On"] = true });
        await Table.AddEntityAsync(new TableEntity("p", "b") { ["Big"] = 1L, ["When"] = when.AddDays(-10), ["Id"] = Guid.NewGuid(), ["Ratio"] = 0.5, ["On"] = false });

        async Task<string> OnlyRow(FormattableString filter) =>
            Assert.Single(await TableEntityTests.ToListAsync(Table.QueryAsync(TableFilter.Create(filter)))).RowKey;

        Assert.Equal("a", await OnlyRow($"Big gt {5_000_000_000L}"));
        Assert.Equal("a", await OnlyRow($"When ge {when.AddDays(-1)}"));
        Assert.Equal("a", await OnlyRow($"Id eq {id}"));
        Assert.Equal("a", await OnlyRow($"Ratio gt {1.5}"));
        Assert.Equal("a", await OnlyRow($"On eq {true}"));
    }

    [Fact]
    public async Task SelectReturnsOnlyTheNamedProperties()
    {
        await Table.AddEntityAsync(new TableEntity("p", "r") { ["A"] = "a", ["B"] = "b" });

        var page = await Table.QueryPageAsync(null, select: ["A"]);

        var row = Assert.Single(page.Values);
        Assert.Equal("a", row.GetString("A"));
        Assert.False(row.ContainsKey("B"));
        Assert.NotEqual(default, row.ETag);
    }

    [Fact]
    public async Task QueryingPastOneThousandRowsFollowsContinuations()
    {
        const int rows = 1_150;
        for (var start = 0; start < rows; start += 100)
        {
            var actions = Enumerable.Range(start, Math.Min(100, rows - start))
                .Select(i => new TableTransactionAction(
                    TableTransactionActionType.Add,
                    new TableEntity("p", i.ToString("D5", CultureInfo.InvariantCulture)) { ["N"] = i }))
                .ToList();
            await Table.SubmitTransactionAsync(actions);
        }

        var all = await TableEntityTests.ToListAsync(Table.QueryAsync(TableFilter.Create($"PartitionKey eq {"p"}")));
        var firstPage = await Table.QueryPageAsync(null, top: 400);
        var secondPage = await Table.QueryPageAsync(null, top: 400, continuation: firstPage.Continuation);
        var unbounded = await Table.QueryPageAsync(null);
        var small = await TableEntityTests.ToListAsync(Table.QueryAsync(null, maxPerPage: 300));

        Assert.Equal(rows, all.Count);
        Assert.Equal(Enumerable.Range(0, rows), all.Select(e => e.GetInt32("N")!.Value));
        Assert.Equal(400, firstPage.Values.Count);
        Assert.NotNull(firstPage.Continuation);
        Assert.Equal("00400", secondPage.Values[0].RowKey);
        Assert.Equal(1_000, unbounded.Values.Count);
        Assert.NotNull(unbounded.Continuation);
        Assert.Equal(rows, small.Count);
    }

    [Fact]
    public async Task AnEmptyTableGivesAnEmptyPageWithoutContinuation()
    {
        var page = await Table.QueryPageAsync(null);

        Assert.Empty(page.Values);
        Assert.Null(page.Continuation);
    }
}
