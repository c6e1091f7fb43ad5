using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Costs;

public sealed class RunCostsTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    private async Task<string> NewRunAsync(string config = "{}") =>
        (string)(await StartAsync($$"""{"projectId":"{{P}}","config":{{config}}}"""))["runId"]!;

    private async Task ReportAsync(string runId, string json) =>
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", json)).EnsureSuccessStatusCode();

    private async Task<JsonObject> CostsAsync(string runId) =>
        await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/costs")).JsonAsync();

    [Fact]
    public async Task UsageIsPricedFromTheTableIntoACostRowAndExactTotals()
    {
        var runId = await NewRunAsync();
        // gpt-4o from 2024-10-01: 1,200 input × $2.50/1M = $0.003; 350 output × $10/1M = $0.0035.
        await ReportAsync(runId, """{"eventId":"e1","agent":"video","usage":{"model":"gpt-4o","inputTokens":1200,"outputTokens":350},"timestamp":"2026-01-15T18:12:06Z"}""");
        // tts-1: 1,500 characters × $0.015/1K = $0.0225.
        await ReportAsync(runId, """{"eventId":"e2","agent":"voice","usage":{"model":"tts-1","characters":1500},"timestamp":"2026-01-15T18:12:07Z"}""");

        var costs = await CostsAsync(runId);
        var rows = costs["rows"]!.AsArray();
        Assert.Equal(2, rows.Count);
        var video = rows.Single(r => (string)r!["agent"]! == "video")!;
        Assert.Equal("0.006500", (string)video["costUsd"]!);
        Assert.Equal(6500, (long)video["costMicros"]!);
        Assert.Equal("computed", (string)video["priceSource"]!);
        Assert.Equal("e1", (string)video["eventId"]!);
        Assert.Equal(1550, (long)video["tokens"]!);
        Assert.Equal(29_000, (long)costs["totalCostMicros"]!);
        Assert.Equal(0.0290m, (decimal)costs["totalCost"]!);
        Assert.Equal(1550, (long)costs["totalTokens"]!);

        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
        Assert.Equal("0.0290", run["totalCost"]!.ToJsonString());
        Assert.Equal(1550, (long)run["totalTokens"]!);
        Assert.Null(run["invoice"]); // not final yet
    }

    [Fact]
    public async Task AReportedCostOverridesTheComputedOneAndSaysSo()
    {
        var runId = await NewRunAsync();
        await ReportAsync(runId, """{"agent":"music","usage":{"model":"gpt-4o","inputTokens":1000,"costUsd":0.125}}""");
        var row = (await CostsAsync(runId))["rows"]![0]!;
        Assert.Equal("reported", (string)row["priceSource"]!);
        Assert.Equal("0.125000", (string)row["costUsd"]!);
        Assert.Equal("0.002500", (string)row["computedCostUsd"]!);
    }

    [Fact]
    public async Task AnUnknownModelIsRecordedUnpricedAtZeroAndCounted()
    {
        var runId = await NewRunAsync();
        await ReportAsync(runId, """{"agent":"music","usage":{"model":"suno-v4","requests":1}}""");
        var costs = await CostsAsync(runId);
        var row = costs["rows"]![0]!;
        Assert.Equal("unpriced", (string)row["priceSource"]!);
        Assert.Equal(0, (long)row["costMicros"]!);
        Assert.Equal(1, (long)costs["unpricedSteps"]!);
        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
        Assert.Equal(1, (int)run["unpricedSteps"]!);
    }

    [Fact]
    public async Task ARedeliveredReportNeverCountsTwice()
    {
        var runId = await NewRunAsync();
        const string report = """{"eventId":"same","agent":"video","usage":{"model":"gpt-4o","inputTokens":1000000}}""";
        await ReportAsync(runId, report);
        await ReportAsync(runId, report);
        var costs = await CostsAsync(runId);
        Assert.Single(costs["rows"]!.AsArray());
        Assert.Equal(2_500_000, (long)costs["totalCostMicros"]!);
    }

    [Fact]
    public async Task TheInvoiceAppearsOnTheRunWhenItIsFinalWithTheConfiguredMarkup()
    {
        var runId = await NewRunAsync("""{"invoice":{"markupRate":0.5}}""");
        await ReportAsync(runId, """{"agent":"video","usage":{"model":"gpt-4o","inputTokens":10000,"outputTokens":1000}}""");
        await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""");

        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
        var invoice = run["invoice"]!;
        // $0.025 + $0.01 = $0.035 → $0.04; 50% of $0.035 = $0.0175 → $0.02.
        Assert.Equal(0.04m, (decimal)invoice["subtotal"]!);
        Assert.Equal(0.5m, (decimal)invoice["markupRate"]!);
        Assert.Equal(0.02m, (decimal)invoice["markup"]!);
        Assert.Equal(0.06m, (decimal)invoice["total"]!);
        Assert.Equal("USD", (string)invoice["currency"]!);
        var lines = invoice["lineItems"]!.AsArray();
        Assert.Equal(["1M input tokens", "1M output tokens"], lines.Select(l => (string)l!["unit"]!));
        Assert.Equal(10000m, (decimal)lines[0]!["quantity"]!);
        Assert.Equal(2.50m, (decimal)lines[0]!["unitPrice"]!);
        Assert.Equal((decimal)invoice["subtotal"]!, lines.Sum(l => (decimal)l!["amount"]!));
    }

    [Fact]
    public async Task DefaultMarkupIsTwentyPercent()
    {
        var runId = await NewRunAsync();
        await ReportAsync(runId, """{"agent":"video","usage":{"model":"gpt-4o","outputTokens":100000}}""");
        (await Client.PatchJsonAsync($"/api/projects/{P}/runs/{runId}", """{"status":"failed","error":"cancelled"}""")).EnsureSuccessStatusCode();
        var invoice = (await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync())["invoice"]!;
        Assert.Equal(0.20m, (decimal)invoice["markupRate"]!);
        Assert.Equal(1.00m, (decimal)invoice["subtotal"]!);
        Assert.Equal(1.20m, (decimal)invoice["total"]!);
    }

    [Fact]
    public async Task CostsReportedAfterCompletionStillCountAndUpdateTheInvoice()
    {
        var runId = await NewRunAsync();
        await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""");
        await ReportAsync(runId, """{"agent":"video","status":"running","usage":{"model":"gpt-4o","outputTokens":100000}}""");
        var run = await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}")).JsonAsync();
        Assert.Equal("completed", (string)run["status"]!);
        Assert.Equal("publisher", (string)run["step"]!);
        Assert.Equal(1_000_000, (long)run["totalCostMicros"]!);
        Assert.Equal(1.00m, (decimal)run["invoice"]!["subtotal"]!);
    }

    [Fact]
    public async Task InvoiceLinesAreAvailableAsCsv()
    {
        var runId = await NewRunAsync();
        await ReportAsync(runId, """{"agent":"voice","usage":{"model":"tts-1","characters":1500}}""");
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs/{runId}/costs");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("agent,model,quantity,unit,unitPrice,amount,exactAmount", lines[0]);
        Assert.Equal("voice,tts-1,1500,1K characters,0.015,0.02,0.022500", lines[1]);
    }

    [Theory]
    [InlineData("""{"agent":"x","usage":{"model":"gpt-4o","inputTokens":1.5}}""", "'usage.inputTokens' must be a whole number")]
    [InlineData("""{"agent":"x","usage":{"model":"gpt-4o","costUsd":-1}}""", "'usage.costUsd' must be a number of at least 0")]
    [InlineData("""{"agent":"x","usage":{"model":7}}""", "'usage.model' must be a string")]
    [InlineData("""{"agent":"x","usage":{"model":"gpt-4o","inputTokens":1e15}}""", "implausibly large")]
    public async Task InvalidUsageIs400AndRecordsNoCost(string report, string detail)
    {
        var runId = await NewRunAsync();
        var response = await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", report);
        Assert.Contains(detail, await response.AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Empty((await CostsAsync(runId))["rows"]!.AsArray());
    }

    [Fact]
    public async Task TenReportsAtTheLargestAllowedCostAddUpExactlyAndAnyMoreIs400()
    {
        var runId = await NewRunAsync();
        for (var i = 0; i < 10; i++)
        {
            await ReportAsync(runId, $$$"""{"eventId":"big-{{{i}}}","agent":"video","usage":{"model":"gpt-4o","costUsd":1000000}}""");
        }

        var tooMuch = await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress",
            """{"eventId":"too-much","agent":"video","usage":{"model":"gpt-4o","costUsd":1000000000000}}""");

        Assert.Contains("over the most one report may cost", await tooMuch.AssertProblemAsync(400), StringComparison.Ordinal);
        var costs = await CostsAsync(runId);
        Assert.Equal(10_000_000_000_000L, (long)costs["totalCostMicros"]!);
        Assert.Equal(10, costs["rows"]!.AsArray().Count);
        await ReportAsync(runId, """{"eventId":"done","agent":"publisher","status":"completed"}""");
        var invoice = (await CostsAsync(runId))["invoice"]!;
        Assert.Equal(10_000_000.00m, (decimal)invoice["subtotal"]!);
        Assert.Equal(12_000_000.00m, (decimal)invoice["total"]!);
    }

    [Fact]
    public async Task AComputedCostOverTheBoundIs400AndRecordsNothing()
    {
        var runId = await NewRunAsync();

        // 1e12 output tokens at $10 per million is $10,000,000.
        var response = await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress",
            """{"agent":"video","usage":{"model":"gpt-4o","outputTokens":1000000000000}}""");

        await response.AssertProblemAsync(400);
        Assert.Empty((await CostsAsync(runId))["rows"]!.AsArray());
    }

    [Fact]
    public async Task ATopLevelCostUsdCountsLikeUsageCostUsd()
    {
        var runId = await NewRunAsync();

        await ReportAsync(runId, """{"agent":"video","costUsd":0.42,"usage":{"model":"unknown-model","inputTokens":5}}""");
        await ReportAsync(runId, """{"agent":"music","costUsd":0.08}""");

        var costs = await CostsAsync(runId);
        Assert.Equal(500_000L, (long)costs["totalCostMicros"]!);
        Assert.All(costs["rows"]!.AsArray(), row => Assert.Equal("reported", (string)row!["priceSource"]!));
        Assert.Equal(0L, (long?)costs["unpricedSteps"] ?? 0);
    }

    [Fact]
    public async Task ATopLevelCostUsdThatDiffersFromUsageCostUsdIs400()
    {
        var runId = await NewRunAsync();

        var response = await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress",
            """{"agent":"video","costUsd":0.42,"usage":{"model":"gpt-4o","costUsd":0.40}}""");

        Assert.Contains("both given and differ", await response.AssertProblemAsync(400), StringComparison.Ordinal);
        Assert.Empty((await CostsAsync(runId))["rows"]!.AsArray());
    }
}
