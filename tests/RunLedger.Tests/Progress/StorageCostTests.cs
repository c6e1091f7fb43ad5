using RunLedger.Progress;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// Pins the storage work each operation costs, request by request (docs/scale.md derives the
/// scale envelope from these): a report is one read of the run and one transaction, with or without
/// usage; a cost of a budgeted run also reads the project's budget row, whose month-to-date spend
/// its transaction updates; a status read is one point read; a start, a PATCH, a cancel and a
/// config PUT each state theirs.
/// </summary>
public sealed class StorageCostTests : ComponentTest
{
    private readonly StorageRequests _counter = new();

    public StorageCostTests()
    {
        _counter.Install(App);
    }

    private static ProgressReport Report(string runId, string eventId, string fields = "") => ProgressReport.Parse(
        System.Text.Json.Nodes.JsonNode.Parse($$$"""{"projectId":"p1","runId":"{{{runId}}}","agent":"voice"{{{fields}}}}""")!.AsObject(),
        eventId, DateTimeOffset.UtcNow);

    private async Task PutConfigAsync(string config) =>
        await App.Functions<RunLedger.Projects.ConfigFunctions>().PutConfig(LedgerComponents.Request(body: config), "p1", default);

    /// <summary>A started run that is running (its first report applied), with the price book read, as it is between reports.</summary>
    private async Task<(string RunId, ProgressHandler Handler)> RunningRunAsync()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        await handler.ApplyAsync(Report(runId, "evt-0"), default); // queued → running
        await App.Get<RunLedger.Costs.PriceBook>().CurrentAsync(default); // read once per instance per 30 s, not per report
        return (runId, handler);
    }

    private const string BudgetConfig = """
        {"budget":{"monthlyUsd":1,"alertAt":[0.5]},"callbacks":[{"url":"https://hooks.example.com/b","events":["budget"],"secret":"0123456789abcdef"}]}
        """;

    [Fact]
    public async Task AnAppliedReportWithUsageOfAProjectWithoutABudgetCostsOneReadAndOneTransaction()
    {
        var (runId, handler) = await RunningRunAsync();

        _counter.Clear();
        var (outcome, _) = await handler.ApplyAsync(Report(runId, "evt-1", ""","usage":{"model":"gpt-4o","inputTokens":10}"""), default);

        Assert.Equal(ReportOutcome.Applied, outcome);
        Assert.Equal(["GET run", "POST $batch"], _counter.Snapshot());
        Assert.Equal(10, (long)(await GetRunAsync("p1", runId))["totalTokens"]!);
    }

    [Fact]
    public async Task AReportWithUsageOfAProjectWithABudgetAlsoReadsTheBudgetRowAndOneQueryMoreWhenItCrossesAThreshold()
    {
        await PutConfigAsync(BudgetConfig);
        var (runId, handler) = await RunningRunAsync();

        _counter.Clear();
        await handler.ApplyAsync(Report(runId, "evt-1", ""","usage":{"model":"m","costUsd":0.1}"""), default);
        var below = _counter.Snapshot();
        _counter.Clear();
        await handler.ApplyAsync(Report(runId, "evt-2", ""","usage":{"model":"m","costUsd":0.5}"""), default);

        // The budget row is read once the run says it is budgeted, and updated in the report's transaction.
        Assert.Equal(["GET run", "GET budget", "POST $batch"], below);
        // Crossing 0.5: whether its alert exists this month (a query), the alert's schedule entry (a
        // transaction of its own partition), then the report's transaction with the alert record.
        Assert.Equal(["GET run", "GET budget", "GET alerts", "POST $batch", "POST $batch"], _counter.Snapshot());
    }

    [Fact]
    public async Task ARunStartedBeforeItsProjectHadABudgetReadsTheBudgetRowOnceABudgetIsTurnedOn()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        await handler.ApplyAsync(Report(runId, "evt-0"), default); // queued → running
        await handler.ApplyAsync(Report(runId, "evt-1", ""","usage":{"model":"m","costUsd":0.25}"""), default);

        _counter.Clear();
        await PutConfigAsync(BudgetConfig);
        // Counts (their ETag), the budget row, the active runs (one, marked in one transaction), the
        // budget row again and the month's cost rows (summed), then config, budget and counts in one transaction.
        Assert.Equal(["GET counts", "GET budget", "GET active runs", "POST $batch", "GET budget", "GET costs", "POST $batch"], _counter.Snapshot());

        _counter.Clear();
        await handler.ApplyAsync(Report(runId, "evt-2", ""","usage":{"model":"m","costUsd":0.1}"""), default);
        Assert.Equal(["GET run", "GET budget", "POST $batch"], _counter.Snapshot());
        var budget = await App.Get<RunLedger.Budgets.BudgetLedger>().ShowAsync("p1", DateTimeOffset.UtcNow, default);
        Assert.Equal(350_000, (long)budget["spendMicros"]!);
    }

    [Fact]
    public async Task ARunStartedAfterItsProjectsBudgetWasTurnedOffReadsNoBudgetRow()
    {
        await PutConfigAsync(BudgetConfig);
        _counter.Clear();
        await PutConfigAsync("{}");
        // Without a budget to turn on, a config PUT reads the counts and budget rows and writes once.
        Assert.Equal(["GET counts", "GET budget", "POST $batch"], _counter.Snapshot());
        var (runId, handler) = await RunningRunAsync();

        _counter.Clear();
        await handler.ApplyAsync(Report(runId, "evt-1", ""","usage":{"model":"m","costUsd":0.1}"""), default);

        Assert.Equal(["GET run", "POST $batch"], _counter.Snapshot());
    }

    [Fact]
    public async Task AStartReadsTheConfigAndCountsAndWritesOneTransactionAndTheDispatchMark()
    {
        App.Clock = new FixedClock(new DateTimeOffset(2026, 11, 10, 12, 0, 0, TimeSpan.Zero));
        await StartAsync("""{"projectId":"p1"}""");
        ((FixedClock)App.Clock).Now += TimeSpan.FromSeconds(1); // a generated run id is per second

        _counter.Clear();
        await StartAsync("""{"projectId":"p1"}""");
        // The jobs queue's send (not a table request) comes between the transaction and the mark.
        Assert.Equal(["GET config", "GET counts", "POST $batch", "PATCH run"], _counter.Snapshot());

        ((FixedClock)App.Clock).Now += TimeSpan.FromSeconds(1);
        _counter.Clear();
        await StartAsync("""{"projectId":"p1"}""", idempotencyKey: "order-17");
        Assert.Equal(["GET idempotency", "GET config", "GET counts", "POST $batch", "PATCH run"], _counter.Snapshot());
    }

    [Fact]
    public async Task APatchIsOneReadAndOneTransactionAndACancelReadsTheCountsToo()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var runsFunctions = App.Functions<RunLedger.Runs.RunsFunctions>();

        _counter.Clear();
        await runsFunctions.PatchRun(LedgerComponents.Request(body: """{"message":"mixing"}"""), "p1", runId, default);
        Assert.Equal(["GET run", "POST $batch"], _counter.Snapshot());

        _counter.Clear();
        await runsFunctions.PatchRun(LedgerComponents.Request(body: """{"status":"running"}"""), "p1", runId, default);
        Assert.Equal(["GET run", "GET counts", "POST $batch"], _counter.Snapshot());

        _counter.Clear();
        await App.Functions<RunLedger.Lifecycle.LifecycleFunctions>().CancelRun(LedgerComponents.Request(), "p1", runId, default);
        Assert.Equal(["GET run", "GET counts", "POST $batch"], _counter.Snapshot());
    }

    [Fact]
    public async Task AnAppliedReportWithoutUsageCostsOneReadAndOneTransaction()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        await handler.ApplyAsync(Report(runId, "evt-0"), default); // queued → running

        _counter.Clear();
        var (outcome, _) = await handler.ApplyAsync(Report(runId, "evt-1", ""","message":"hi" """), default);

        Assert.Equal(ReportOutcome.Applied, outcome);
        Assert.Equal(["GET run", "POST $batch"], _counter.Requests);
    }

    [Fact]
    public async Task AReportThatChangesTheStatusAlsoReadsTheProjectsCountsRow()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();

        _counter.Clear();
        var (outcome, _) = await handler.ApplyAsync(Report(runId, "evt-1"), default); // queued → running

        Assert.Equal(ReportOutcome.Applied, outcome);
        Assert.Equal(["GET run", "GET counts", "POST $batch"], _counter.Requests);
    }

    [Fact]
    public async Task CountsAreOnePointRead()
    {
        await StartAsync("""{"projectId":"p1"}""");

        _counter.Clear();
        var counts = await LedgerComponents.BodyAsync(App.Functions<RunLedger.Lifecycle.LifecycleFunctions>().GetRunCounts(LedgerComponents.Request(), "p1", default));

        Assert.Equal(1, (long)counts["queued"]!);
        Assert.Equal(["GET counts"], _counter.Requests);
    }

    [Fact]
    public async Task ADuplicateReportCostsOneReadAndOneRejectedTransaction()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        var report = ProgressReport.Parse(
            System.Text.Json.Nodes.JsonNode.Parse($$"""{"projectId":"p1","runId":"{{runId}}","agent":"voice"}""")!.AsObject(),
            "evt-1", DateTimeOffset.UtcNow);
        await handler.ApplyAsync(report, default);

        _counter.Clear();
        var (outcome, _) = await handler.ApplyAsync(report, default);

        Assert.Equal(ReportOutcome.Duplicate, outcome);
        Assert.Equal(["GET run", "POST $batch"], _counter.Requests);
    }

    [Fact]
    public async Task AStatusReadIsOnePointRead()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;

        _counter.Clear();
        var run = await GetRunAsync("p1", runId);

        Assert.Equal(runId, (string)run["runId"]!);
        Assert.Equal(["GET run"], _counter.Requests);
    }
}
