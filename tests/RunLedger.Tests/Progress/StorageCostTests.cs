using RunLedger.Progress;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// Pins the storage work one report costs: one read of the run and one transaction; a report with
/// usage also reads the project's budget row (at the same time as the run), whose month-to-date
/// spend its transaction updates.
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

    [Fact]
    public async Task AnAppliedReportWithUsageCostsTwoConcurrentReadsAndOneTransaction()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        await handler.ApplyAsync(Report(runId, "evt-0"), default); // queued → running
        await App.Get<RunLedger.Costs.PriceBook>().CurrentAsync(default); // read once per instance per 30 s, not per report

        _counter.Requests.Clear();
        var (outcome, _) = await handler.ApplyAsync(Report(runId, "evt-1", ""","usage":{"model":"gpt-4o","inputTokens":10}"""), default);

        Assert.Equal(ReportOutcome.Applied, outcome);
        // The two reads go out together, in either order; the transaction follows them.
        Assert.Equal(["GET budget", "GET run"], _counter.Requests.Take(2).Order(StringComparer.Ordinal));
        Assert.Equal(["POST $batch"], _counter.Requests.Skip(2));
    }

    [Fact]
    public async Task AReportWithUsageOfAProjectWithABudgetCostsTheSameAndOneQueryMoreWhenItCrossesAThreshold()
    {
        await App.Functions<RunLedger.Projects.ConfigFunctions>().PutConfig(LedgerComponents.Request(body: """
            {"budget":{"monthlyUsd":1,"alertAt":[0.5]},"callbacks":[{"url":"https://hooks.example.com/b","events":["budget"],"secret":"0123456789abcdef"}]}
            """), "p1", default);
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        await handler.ApplyAsync(Report(runId, "evt-0"), default); // queued → running
        await App.Get<RunLedger.Costs.PriceBook>().CurrentAsync(default);

        _counter.Requests.Clear();
        await handler.ApplyAsync(Report(runId, "evt-1", ""","usage":{"model":"m","costUsd":0.1}"""), default);
        var below = _counter.Requests.ToList();
        _counter.Requests.Clear();
        await handler.ApplyAsync(Report(runId, "evt-2", ""","usage":{"model":"m","costUsd":0.5}"""), default);

        // The budget row is read beside the run and updated in the report's transaction.
        Assert.Equal(["GET budget", "GET run"], below.Take(2).Order(StringComparer.Ordinal));
        Assert.Equal(["POST $batch"], below.Skip(2));
        // Crossing 0.5: whether its alert exists this month (a query), the alert's schedule entry (a
        // transaction of its own partition), then the report's transaction with the alert record.
        Assert.Equal(["GET budget", "GET run"], _counter.Requests.Take(2).Order(StringComparer.Ordinal));
        Assert.Equal(["GET alerts", "POST $batch", "POST $batch"], _counter.Requests.Skip(2));
    }

    [Fact]
    public async Task AnAppliedReportWithoutUsageCostsOneReadAndOneTransaction()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        await handler.ApplyAsync(Report(runId, "evt-0"), default); // queued → running

        _counter.Requests.Clear();
        var (outcome, _) = await handler.ApplyAsync(Report(runId, "evt-1", ""","message":"hi" """), default);

        Assert.Equal(ReportOutcome.Applied, outcome);
        Assert.Equal(["GET run", "POST $batch"], _counter.Requests);
    }

    [Fact]
    public async Task AReportThatChangesTheStatusAlsoReadsTheProjectsCountsRow()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();

        _counter.Requests.Clear();
        var (outcome, _) = await handler.ApplyAsync(Report(runId, "evt-1"), default); // queued → running

        Assert.Equal(ReportOutcome.Applied, outcome);
        Assert.Equal(["GET run", "GET counts", "POST $batch"], _counter.Requests);
    }

    [Fact]
    public async Task CountsAreOnePointRead()
    {
        await StartAsync("""{"projectId":"p1"}""");

        _counter.Requests.Clear();
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

        _counter.Requests.Clear();
        var (outcome, _) = await handler.ApplyAsync(report, default);

        Assert.Equal(ReportOutcome.Duplicate, outcome);
        Assert.Equal(["GET run", "POST $batch"], _counter.Requests);
    }

    [Fact]
    public async Task AStatusReadIsOnePointRead()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;

        _counter.Requests.Clear();
        var run = await GetRunAsync("p1", runId);

        Assert.Equal(runId, (string)run["runId"]!);
        Assert.Equal(["GET run"], _counter.Requests);
    }
}
