using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Costs;

/// <summary>
/// The price book as data, through the host: an admin adds or changes a model's prices under
/// <c>/api/pricing</c>, reads the book there, and the next report is priced from it and names the
/// entry it used; the shipped <c>pricing.json</c> stays the default.
/// </summary>
public sealed class PriceBookTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    [Fact]
    public async Task AModelAddedThroughTheApiPricesTheNextReportAndTheBookShowsWhereEachModelComesFrom()
    {
        var model = "clip-" + Guid.NewGuid().ToString("N")[..8];
        var put = await Client.PutAsync($"/api/pricing/models/{model}", JsonContent.Create(JsonNode.Parse(
            """{"prefixes":[],"prices":[{"effective":"2020-01-01","secondsPerSecond":"0.125"}]}""")));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        (await Client.PostAsync($"/api/projects/{P}/runs/{runId}/progress", JsonContent.Create(JsonNode.Parse(
            $$$"""{"agent":"video","usage":{"model":"{{{model}}}","seconds":8}}""")))).EnsureSuccessStatusCode();
        var costs = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/costs")).JsonAsync();
        var row = costs["rows"]!.AsArray().Single()!;

        Assert.Equal("1.000000", (string)row["costUsd"]!);
        Assert.Equal("computed", (string)row["priceSource"]!);
        Assert.Equal(model, (string)row["pricedWith"]!["book"]!["model"]!);
        var book = await (await Client.GetAsync("/api/pricing")).JsonAsync();
        var models = book["models"]!.AsArray();
        Assert.Equal("api", (string)models.Single(m => (string)m!["id"]! == model)!["source"]!);
        Assert.Equal("0.125", (string)models.Single(m => (string)m!["id"]! == model)!["prices"]![0]!["secondsPerSecond"]!);
        Assert.Equal("file", (string)models.Single(m => (string)m!["id"]! == "gpt-4o")!["source"]!);
    }

    [Fact]
    public async Task ChangingAShippedModelsPricesReplacesItsEntryForReportsDatedAfterTheChange()
    {
        var put = await Client.PutAsync("/api/pricing/models/GPT-4O-MINI", JsonContent.Create(JsonNode.Parse(
            """{"prices":[{"effective":"2024-07-18","inputTokensPer1M":"0.15"},{"effective":"2026-01-01","inputTokensPer1M":"0.10"}]}""")));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        (await Client.PostAsync($"/api/projects/{P}/runs/{runId}/progress", JsonContent.Create(JsonNode.Parse(
            """{"agent":"writer","usage":{"model":"gpt-4o-mini","inputTokens":1000000}}""")))).EnsureSuccessStatusCode();
        var row = (await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/costs")).JsonAsync())["rows"]!.AsArray().Single()!;

        Assert.Equal("0.100000", (string)row["costUsd"]!);
        Assert.Equal("2026-01-01T00:00:00.000Z", (string)row["pricedWith"]!["book"]!["effective"]!);
    }

    [Theory]
    [InlineData("m1", """{"prices":"cheap"}""", "'prices'")]
    [InlineData("m1", """{"id":"other","prices":[]}""", "'id' must be the model id of the address")]
    [InlineData("m1", """{"prices":[{"effective":"2020-01-01","inputTokensPer1M":"free"}]}""", "'inputTokensPer1M' is not a non-negative decimal")]
    [InlineData("m%20x", """{"prices":[]}""", "'modelId' may contain only")]
    [InlineData("m1", """{"prices":[],"currency":"EUR"}""", "'currency' is not a member")]
    public async Task PricesThatCannotPriceAreRefusedWithTheReason(string modelId, string body, string detail)
    {
        var response = await Client.PutAsync($"/api/pricing/models/{modelId}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Contains(detail, await response.AssertProblemAsync(400), StringComparison.Ordinal);
    }
}
