using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Billing;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Projects;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Billing;

/// <summary>
/// Monthly statements in process, with a clock the test moves: what a month holds, that it equals
/// its cost rows to the micro-dollar, that closing freezes it, and where a late cost goes.
/// </summary>
public sealed class StatementTests : ComponentTest
{
    private readonly FixedClock _clock = new(new DateTimeOffset(2026, 11, 10, 12, 0, 0, TimeSpan.Zero));
    private int _reports;

    public StatementTests()
    {
        App.Clock = _clock;
    }

    private Statements Statements => App.Get<Statements>();

    private static readonly CloseRequest ByAdmin = new("admin key", "Ada", null);

    private async Task<string> StartRunAsync(string project = "p1") =>
        (string)(await StartAsync($$"""{"projectId":"{{project}}"}"""))["runId"]!;

    private async Task ReportAsync(string runId, string usage, DateTimeOffset? at = null, string agent = "voice", string project = "p1")
    {
        var time = (at ?? _clock.GetUtcNow()).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var report = ProgressReport.Parse(
            JsonNode.Parse($$"""{"projectId":"{{project}}","runId":"{{runId}}","agent":"{{agent}}","timestamp":"{{time}}","usage":{{usage}}}""")!.AsObject(),
            $"evt-{++_reports}", _clock.GetUtcNow());
        Assert.Equal(ReportOutcome.Applied, (await App.Get<ProgressHandler>().ApplyAsync(report, default)).Outcome);
    }

    private async Task<long> CostRowsMicrosAsync(string project = "p1")
    {
        var (from, to) = Keys.CostRange();
        long sum = 0;
        await foreach (var row in App.Storage.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {project} and RowKey ge {from} and RowKey lt {to}")))
        {
            sum += row.GetInt64("CostMicros") ?? 0;
        }
        return sum;
    }

    [Fact]
    public async Task AMonthsStatementHoldsItsRunsWithBreakdownsAndItsSubtotalIsTheSumOfItsCostRows()
    {
        await App.Get<ProjectConfigs>().PutAsync("p1", JsonNode.Parse("""{"invoice":{"markupRate":0.25}}""")!.AsObject(), default);
        var first = await StartRunAsync();
        await ReportAsync(first, """{"model":"gpt-4o","inputTokens":1234567,"outputTokens":7654}""");
        await ReportAsync(first, """{"model":"eleven_multilingual_v2","characters":3333}""", agent: "narration");
        var second = await StartRunAsync();
        await ReportAsync(second, """{"model":"x","costUsd":0.333333}""", agent: "music");

        var statement = await Statements.GetAsync("p1", "2026-11", default);

        Assert.Equal("open", (string)statement["status"]!);
        Assert.Null(statement["statementId"]);
        var sum = await CostRowsMicrosAsync();
        Assert.True(sum > 0);
        Assert.Equal(sum, (long)statement["subtotalMicros"]!);
        Assert.Equal(Money(sum), (string)statement["exactSubtotal"]!);
        Assert.Equal([first, second], statement["runs"]!.AsArray().Select(r => (string)r!["runId"]!).Order(StringComparer.Ordinal));
        Assert.Equal(sum, statement["runs"]!.AsArray().Sum(r => Micros((string)r!["exactAmount"]!)));
        foreach (var breakdown in new[] { "byAgent", "byModel", "byUnit" })
        {
            Assert.Equal(sum, statement[breakdown]!.AsArray().Sum(r => Micros((string)r!["exactAmount"]!)));
        }
        Assert.Equal(["music", "narration", "voice"], statement["byAgent"]!.AsArray().Select(a => (string)a!["agent"]!).Order(StringComparer.Ordinal));
        // Rounded as a run's invoice: the lines add up to the subtotal, the markup is the project's.
        Assert.Equal((decimal)statement["subtotal"]!, statement["lineItems"]!.AsArray().Sum(l => (decimal)l!["amount"]!));
        Assert.Equal(0.25m, (decimal)statement["markupRate"]!);
        Assert.Equal((decimal)statement["subtotal"]! + (decimal)statement["markup"]!, (decimal)statement["total"]!);
        Assert.Equal(decimal.Round(sum / 1_000_000m * 0.25m, 2, MidpointRounding.AwayFromZero), (decimal)statement["markup"]!);

        // Another month holds none of it.
        var december = await Statements.GetAsync("p1", "2026-12", default);
        Assert.Equal(0, (long)december["subtotalMicros"]!);
        Assert.Empty(december["runs"]!.AsArray());
    }

    [Fact]
    public async Task ClosingFreezesTheStatementAndALateCostIsAnAdjustmentOnTheNextOpenMonth()
    {
        var runId = await StartRunAsync();
        await ReportAsync(runId, """{"model":"m","costUsd":1.5}""");
        _clock.Now = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

        var closed = await Statements.CloseAsync("p1", "2026-11", ByAdmin, default);
        var frozen = closed.ToJsonString();

        Assert.Equal("STMT_202611_0001", (string)closed["statementId"]!);
        Assert.Equal("closed", (string)closed["status"]!);
        Assert.Equal("2026-12-01T09:00:00.000Z", (string)closed["closedAt"]!);
        Assert.Equal("admin key", (string)closed["closedBy"]!["credential"]!);
        Assert.Equal("Ada", (string)closed["closedBy"]!["name"]!);
        Assert.Equal(1_500_000, (long)closed["subtotalMicros"]!);

        // A report dated in November, arriving after the close: never written into November.
        _clock.Now = new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);
        await ReportAsync(runId, """{"model":"m","costUsd":0.25}""", at: new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero));

        Assert.Equal(frozen, (await Statements.GetAsync("p1", "2026-11", default)).ToJsonString());
        Assert.Equal(frozen, (await Statements.CloseAsync("p1", "2026-11", new CloseRequest("project key", "Bob", null), default)).ToJsonString());
        var december = await Statements.GetAsync("p1", "2026-12", default);
        var adjustment = Assert.Single(december["adjustments"]!.AsArray())!;
        Assert.Equal(runId, (string)adjustment["runId"]!);
        Assert.Equal("2026-11", (string)adjustment["month"]!);
        Assert.Equal("0.250000", (string)adjustment["exactAmount"]!);
        Assert.Equal(250_000, (long)december["subtotalMicros"]!);
        Assert.Empty(december["runs"]!.AsArray());
        Assert.Contains(december["lineItems"]!.AsArray(), l => ((string)l!["unit"]!).Contains("adjustment for 2026-11", StringComparison.Ordinal));
        // Every cost row is billed once: November's frozen subtotal and December's adjustment make the whole.
        Assert.Equal(await CostRowsMicrosAsync(), (long)closed["subtotalMicros"]! + (long)december["subtotalMicros"]!);
    }

    [Fact]
    public async Task AMonthThatHasNotEndedCannotBeClosed()
    {
        var problem = await Assert.ThrowsAsync<LedgerException>(() => Statements.CloseAsync("p1", "2026-11", ByAdmin, default));

        Assert.Equal(409, problem.Status);
        Assert.Contains("2026-12-01T00:00:00.000Z", problem.Message, StringComparison.Ordinal);
        Assert.Empty(await Statements.ListClosedAsync("p1", default));
    }

    [Fact]
    public async Task StatementNumbersCountUpPerMonthAcrossProjectsAndAreGivenOnce()
    {
        foreach (var project in new[] { "p1", "p2" })
        {
            var runId = await StartRunAsync(project);
            await ReportAsync(runId, """{"model":"m","costUsd":1}""", project: project);
        }
        _clock.Now = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        var closes = await Task.WhenAll(
            Statements.CloseAsync("p1", "2026-11", ByAdmin, default), Statements.CloseAsync("p1", "2026-11", ByAdmin, default),
            Statements.CloseAsync("p2", "2026-11", ByAdmin, default));

        Assert.Equal((string)closes[0]["statementId"]!, (string)closes[1]["statementId"]!);
        Assert.Equal(["STMT_202611_0001", "STMT_202611_0002"], new[] { (string)closes[0]["statementId"]!, (string)closes[2]["statementId"]! }.Order(StringComparer.Ordinal));
        Assert.Equal("STMT_202610_0001", (string)(await Statements.CloseAsync("p1", "2026-10", ByAdmin, default))["statementId"]!);
    }

    [Fact]
    public async Task AStatementInTheClientsCurrencyShowsTheRateAndItsDate()
    {
        var runId = await StartRunAsync();
        await ReportAsync(runId, """{"model":"m","costUsd":10}""");
        _clock.Now = new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

        var closed = await Statements.CloseAsync("p1", "2026-11", new CloseRequest("admin key", null, new Exchange("EUR", 0.9215m, "2026-11-30")), default);

        var exchange = closed["exchange"]!;
        Assert.Equal("EUR", (string)exchange["currency"]!);
        Assert.Equal("0.9215", (string)exchange["rate"]!);
        Assert.Equal("2026-11-30", (string)exchange["rateDate"]!);
        Assert.Equal(9.22m, (decimal)exchange["subtotal"]!);     // 10.00 × 0.9215 = 9.215 → 9.22
        Assert.Equal(1.84m, (decimal)exchange["markup"]!);       // 2.00 × 0.9215 = 1.843 → 1.84
        Assert.Equal(11.06m, (decimal)exchange["total"]!);
        Assert.Contains("total EUR at 0.9215 (2026-11-30),,2026-11,,,,,,11.06,", Statements.Csv(closed), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCsvHasALinePerInvoiceLineRunAndTotalAndNeutralisesFormulas()
    {
        var runId = await StartRunAsync();
        await ReportAsync(runId, """{"model":"=HYPERLINK(\"x\")","costUsd":1}""", agent: "voice");

        var csv = Statements.Csv(await Statements.GetAsync("p1", "2026-11", default));

        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("kind,runId,month,agent,model,unit,quantity,unitPrice,amount,exactAmount", lines[0]);
        Assert.Contains(lines, l => l.StartsWith($"run,{runId},2026-11,", StringComparison.Ordinal) && l.EndsWith(",1.000000", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("line,,2026-11,voice,\"'=HYPERLINK(\"\"x\"\")\",reported cost,", StringComparison.Ordinal));
        Assert.Contains("total,,2026-11,,,,,,1.2", csv, StringComparison.Ordinal);
    }

    private static long Micros(string exact) => (long)(decimal.Parse(exact, System.Globalization.CultureInfo.InvariantCulture) * 1_000_000m);

    private static string Money(long micros) => (micros / 1_000_000m).ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture);
}
