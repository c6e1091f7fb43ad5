using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Projects;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Costs;

/// <summary>
/// A project's negotiated rates (<c>pricing.models</c> in its config): they price the units they
/// name before the price book does, the cost row says so (<c>priceSource: project</c>) and names
/// the entries it used, and a run keeps the rates it started with.
/// </summary>
public sealed class NegotiatedRateTests : ComponentTest
{
    private const string Rates = """
        {"pricing":{"models":[{"id":"gpt-4o","prices":[{"effective":"2020-01-01","inputTokensPer1M":"1.00"}]},
                              {"id":"video-gen","prices":[{"effective":"2020-01-01","secondsPerSecond":"0.05"}]}]}}
        """;

    private async Task<JsonObject> CostRowAsync(string runId, string usage)
    {
        var report = ProgressReport.Parse(
            JsonNode.Parse($$"""{"projectId":"p1","runId":"{{runId}}","agent":"voice","usage":{{usage}}}""")!.AsObject(),
            "evt-" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow);
        await App.Get<ProgressHandler>().ApplyAsync(report, default);
        var rows = await App.Storage.Table.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {"p1"} and RowKey ge {Keys.RunCostRange(runId).From} and RowKey lt {Keys.RunCostRange(runId).To}")).ToListAsync();
        return DocumentColumns.Read(rows[^1]);
    }

    [Fact]
    public async Task ANegotiatedRatePricesTheUnitsItNamesAndTheBookPricesTheRest()
    {
        await App.Get<ProjectConfigs>().PutAsync("p1", JsonNode.Parse(Rates)!.AsObject(), default);
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;

        var row = await CostRowAsync(runId, """{"model":"gpt-4o","inputTokens":1000000,"outputTokens":1000000}""");

        // Input at the project's $1.00 per 1M, output at the book's $10.00 per 1M.
        Assert.Equal("11.000000", (string)row["costUsd"]!);
        Assert.Equal("project", (string)row["priceSource"]!);
        Assert.Equal("gpt-4o", (string)row["pricedWith"]!["project"]!["model"]!);
        Assert.Equal("2020-01-01T00:00:00.000Z", (string)row["pricedWith"]!["project"]!["effective"]!);
        Assert.Equal("2024-10-01T00:00:00.000Z", (string)row["pricedWith"]!["book"]!["effective"]!);
        // A model the book does not know, priced per video second by the project alone.
        var video = await CostRowAsync(runId, """{"model":"video-gen","seconds":42}""");
        Assert.Equal("2.100000", (string)video["costUsd"]!);
        Assert.Null(video["pricedWith"]!["book"]);
    }

    [Fact]
    public async Task ARunKeepsTheRatesItStartedWith()
    {
        var before = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        await App.Get<ProjectConfigs>().PutAsync("p1", JsonNode.Parse(Rates)!.AsObject(), default);
        var after = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;

        var old = await CostRowAsync(before, """{"model":"gpt-4o","inputTokens":1000000}""");
        var negotiated = await CostRowAsync(after, """{"model":"gpt-4o","inputTokens":1000000}""");

        Assert.Equal(("2.500000", "computed"), ((string)old["costUsd"]!, (string)old["priceSource"]!));
        Assert.Equal(("1.000000", "project"), ((string)negotiated["costUsd"]!, (string)negotiated["priceSource"]!));
    }

    [Theory]
    [InlineData("""{"pricing":[]}""", "'pricing' must be an object with 'models'")]
    [InlineData("""{"pricing":{"models":[{"id":"m"}]}}""", "model 'm' has no 'prices'")]
    [InlineData("""{"pricing":{"models":[{"id":"m","prices":[{"effective":"2020-01-01","inputTokensPer1M":"-1"}]}]}}""", "'inputTokensPer1M' is not a non-negative decimal")]
    [InlineData("""{"pricing":{"models":[{"id":"m","prices":[]},{"id":"m","prices":[]}]}}""", "model 'm' is named twice")]
    public async Task RatesThatCannotPriceAreRefusedWithTheReason(string config, string detail)
    {
        var problem = await Assert.ThrowsAsync<LedgerException>(() => App.Get<ProjectConfigs>().PutAsync("p1", JsonNode.Parse(config)!.AsObject(), default));

        Assert.Equal(400, problem.Status);
        Assert.Contains(detail, problem.Message, StringComparison.Ordinal);
    }
}
