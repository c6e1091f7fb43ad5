using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Billing;
using RunLedger.Budgets;
using RunLedger.Costs;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Projects;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Billing;

/// <summary>
/// Repricing past costs in process: a dry run changes nothing; applying it changes rows, run
/// totals and invoices and the budget's spend together, once, however often it is sent; costs the
/// agent reported stay unless asked; a closed month gets an adjustment, never an edit.
/// </summary>
public sealed class RepriceTests : ComponentTest
{
    private readonly FixedClock _clock = new(new DateTimeOffset(2026, 11, 10, 12, 0, 0, TimeSpan.Zero));
    private int _reports;

    private readonly FailOnce _failure = new();

    public RepriceTests()
    {
        App.Clock = _clock;
        App.WithStoragePolicy(_failure);
    }

    /// <summary>Fails the <see cref="FailAt"/>th transaction from now (the instance stopping there, as far as storage can tell), once.</summary>
    private sealed class FailOnce : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        private int _seen;

        public int FailAt
        {
            get;
            set { field = value; _seen = 0; }
        }

        public override void OnSendingRequest(Azure.Core.HttpMessage message)
        {
            if (FailAt > 0 && message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal) && ++_seen == FailAt)
            {
                FailAt = 0;
                throw new InvalidOperationException("The instance stopped here.");
            }
        }
    }

    private Repricing Repricing => App.Get<Repricing>();

    private static Repricing.Request Window(bool apply, bool includeReported = false) => new(
        "p1", new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 30, 23, 59, 59, TimeSpan.Zero),
        apply, includeReported, "admin key");

    private async Task<string> RunWithUsageAsync(params string[] usages)
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        foreach (var usage in usages)
        {
            var report = ProgressReport.Parse(
                JsonNode.Parse($$"""{"projectId":"p1","runId":"{{runId}}","agent":"video","usage":{{usage}}}""")!.AsObject(),
                $"evt-{++_reports}", _clock.GetUtcNow());
            Assert.Equal(ReportOutcome.Applied, (await App.Get<ProgressHandler>().ApplyAsync(report, default)).Outcome);
        }
        return runId;
    }

    private Task<JsonObject> PriceClipAsync(string perSecond) =>
        App.Get<PriceBook>().PutModelAsync("clip-x", JsonNode.Parse($$"""{"prices":[{"effective":"2020-01-01","secondsPerSecond":"{{perSecond}}"}]}""")!.AsObject(), default);

    private async Task<List<TableEntity>> CostRowsAsync() =>
        await App.Storage.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter(
            $"PartitionKey eq {"p1"} and RowKey ge {Keys.CostRange().From} and RowKey lt {Keys.CostRange().To}")).ToListAsync();

    [Fact]
    public async Task ADryRunAnswersEachRunsDifferenceAndChangesNothing()
    {
        var runId = await RunWithUsageAsync("""{"model":"clip-x","seconds":10}""");
        await PriceClipAsync("0.1");

        var preview = await Repricing.RunAsync(Window(apply: false), default);

        Assert.True((bool)preview["dryRun"]!);
        Assert.Equal("0.000000", (string)preview["runs"]![runId]!["oldCostUsd"]!);
        Assert.Equal("1.000000", (string)preview["runs"]![runId]!["newCostUsd"]!);
        Assert.Equal("1.000000", (string)preview["differenceUsd"]!);
        Assert.All(await CostRowsAsync(), row => Assert.Equal(0, row.GetInt64("CostMicros")));
        Assert.Equal(0, (long)(await App.Get<RunStore>().GetAsync("p1", runId, default))!.Document["totalCostMicros"]!);
    }

    [Fact]
    public async Task ApplyingUpdatesRowsTotalsInvoiceAndBudgetTogetherAndOnceWhenRepeated()
    {
        await App.Get<ProjectConfigs>().PutAsync("p1", JsonNode.Parse("""{"budget":{"monthlyUsd":100}}""")!.AsObject(), default);
        var runId = await RunWithUsageAsync("""{"model":"clip-x","seconds":10}""", """{"model":"clip-x","seconds":20}""", """{"model":"m","costUsd":0.5}""");
        await App.Get<RunPatcher>().PatchAsync("p1", runId, RunRules.ValidatePatch(new JsonObject { ["status"] = "completed" }), null, default);
        await PriceClipAsync("0.1");

        var applied = await Repricing.RunAsync(Window(apply: true), default);
        var again = await Repricing.RunAsync(Window(apply: true), default);

        Assert.Equal("applied", (string)applied["state"]!);
        Assert.Equal("admin key", (string)applied["by"]!);
        Assert.Equal(2, (int)applied["runs"]![runId]!["changedRows"]!);
        Assert.Equal("3.000000", (string)applied["runs"]![runId]!["differenceUsd"]!);
        Assert.Equal(applied.ToJsonString(), again.ToJsonString());
        var rows = await CostRowsAsync();
        Assert.Equal(3_500_000, rows.Sum(r => r.GetInt64("CostMicros") ?? 0));
        var run = (await App.Get<RunStore>().GetAsync("p1", runId, default))!;
        Assert.Equal(3_500_000, (long)run.Document["totalCostMicros"]!);
        Assert.Equal(3.50m, (decimal)run.Document["invoice"]!["subtotal"]!);
        Assert.Null(run.Document["unpricedSteps"]);
        var budget = await App.Get<BudgetLedger>().ShowAsync("p1", _clock.GetUtcNow(), default);
        Assert.Equal(3_500_000, (long)budget["spendMicros"]!);
        var repriced = DocumentColumns.Read(rows.First(r => r.GetInt64("CostMicros") == 1_000_000));
        Assert.Equal("computed", (string)repriced["priceSource"]!);
        Assert.Equal("clip-x", (string)repriced["pricedWith"]!["book"]!["model"]!);
        Assert.Equal((string)applied["repriceId"]!, (string)repriced["repriceId"]!);
    }

    [Fact]
    public async Task AnApplyInterruptedBetweenRunsFinishesTheRestWhenSentAgainAndCountsEachRunOnce()
    {
        await App.Get<ProjectConfigs>().PutAsync("p1", JsonNode.Parse("""{"budget":{"monthlyUsd":100}}""")!.AsObject(), default);
        var first = await RunWithUsageAsync("""{"model":"clip-x","seconds":10}""");
        var second = await RunWithUsageAsync("""{"model":"clip-x","seconds":30}""");
        await PriceClipAsync("0.1");
        var repriceId = (string)(await Repricing.RunAsync(Window(apply: false), default))["repriceId"]!;

        // The first run's transaction commits; the instance stops at the second's.
        _failure.FailAt = 2;
        await Assert.ThrowsAsync<InvalidOperationException>(() => Repricing.RunAsync(Window(apply: true), default));
        var partial = DocumentColumns.Read((await App.Storage.Table.GetEntityAsync<TableEntity>("p1", Keys.RepriceRow(repriceId))).Value);
        Assert.Equal("applying", (string)partial["state"]!);
        Assert.Equal([first], partial["runs"]!.AsObject().Select(r => r.Key));

        var applied = await Repricing.RunAsync(Window(apply: true), default);

        Assert.Equal("applied", (string)applied["state"]!);
        Assert.Equal("1.000000", (string)applied["runs"]![first]!["differenceUsd"]!);
        Assert.Equal("3.000000", (string)applied["runs"]![second]!["differenceUsd"]!);
        Assert.Equal(4_000_000, (await CostRowsAsync()).Sum(r => r.GetInt64("CostMicros") ?? 0));
        Assert.Equal(4_000_000, (long)(await App.Get<BudgetLedger>().ShowAsync("p1", _clock.GetUtcNow(), default))["spendMicros"]!);
        Assert.Equal(1_000_000, (long)(await App.Get<RunStore>().GetAsync("p1", first, default))!.Document["totalCostMicros"]!);
        Assert.Equal(3_000_000, (long)(await App.Get<RunStore>().GetAsync("p1", second, default))!.Document["totalCostMicros"]!);
    }

    [Fact]
    public async Task ReportedCostsKeepTheirAmountUnlessTheRequestIncludesThem()
    {
        var runId = await RunWithUsageAsync("""{"model":"clip-x","seconds":10,"costUsd":5}""");
        await PriceClipAsync("0.1");

        var kept = await Repricing.RunAsync(Window(apply: false), default);
        var included = await Repricing.RunAsync(Window(apply: false, includeReported: true), default);

        Assert.Equal("0.000000", (string)kept["differenceUsd"]!);
        Assert.Equal("-4.000000", (string)included["runs"]![runId]!["differenceUsd"]!);
    }

    [Fact]
    public async Task ARepriceOfAClosedMonthIsAnAdjustmentOnTheNextOpenStatementNeverAnEdit()
    {
        var runId = await RunWithUsageAsync("""{"model":"clip-x","seconds":10}""");
        await PriceClipAsync("0.1");
        await Repricing.RunAsync(Window(apply: true), default);    // November billed at $1.00
        _clock.Now = new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);
        var closed = (await App.Get<Statements>().CloseAsync("p1", "2026-11", new CloseRequest("admin key", null, null), default)).ToJsonString();
        await PriceClipAsync("0.25");

        await Repricing.RunAsync(Window(apply: true), default);

        Assert.Equal(closed, (await App.Get<Statements>().GetAsync("p1", "2026-11", default)).ToJsonString());
        var december = await App.Get<Statements>().GetAsync("p1", "2026-12", default);
        var adjustment = Assert.Single(december["adjustments"]!.AsArray())!;
        Assert.Equal(runId, (string)adjustment["runId"]!);
        Assert.Equal("1.500000", (string)adjustment["exactAmount"]!);
        Assert.Contains("Repriced", (string)adjustment["reason"]!, StringComparison.Ordinal);
        Assert.Equal(1_500_000, (long)december["subtotalMicros"]!);
    }
}
