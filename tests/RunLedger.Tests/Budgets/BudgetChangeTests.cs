using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Budgets;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Projects;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Budgets;

/// <summary>
/// A budget changed in the middle of a month, in process: turned off and on, its limit or its
/// thresholds changed. A cost report always applies, and each threshold value alerts at most once
/// a month, whatever the changes (its alert record, <c>cbb|{month}|{threshold}|{i}</c>, exists once).
/// </summary>
public sealed class BudgetChangeTests : ComponentTest
{
    private const string Callback = """{"url":"https://hooks.example.com/budget","events":["budget"],"secret":"0123456789abcdef"}""";
    private readonly FixedClock _clock = new(new DateTimeOffset(2026, 11, 10, 12, 0, 0, TimeSpan.Zero));
    private string _runId = "";
    private int _reports;

    public BudgetChangeTests()
    {
        App.Clock = _clock;
    }

    private async Task PutConfigAsync(string? budget) =>
        await App.Functions<ConfigFunctions>().PutConfig(
            LedgerComponents.Request(body: "{" + (budget is null ? "" : $"\"budget\":{budget},") + $"\"callbacks\":[{Callback}]}}"), "p1", default);

    private async Task<ReportOutcome> CostAsync(string costUsd)
    {
        if (_runId.Length == 0) _runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var report = ProgressReport.Parse(
            JsonNode.Parse($$$"""{"projectId":"p1","runId":"{{{_runId}}}","agent":"voice","usage":{"model":"m","costUsd":{{{costUsd}}}}}""")!.AsObject(),
            $"cost-{++_reports}", _clock.GetUtcNow());
        return (await App.Get<ProgressHandler>().ApplyAsync(report, default)).Outcome;
    }

    private async Task<List<string>> AlertKeysAsync() =>
        await App.Storage.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {"p1"} and RowKey ge {"cbb|"} and RowKey lt {"cbb}"}"))
            .Select(e => e.RowKey).ToListAsync();

    private Task<JsonObject> BudgetAsync() => App.Get<BudgetLedger>().ShowAsync("p1", _clock.GetUtcNow(), default);

    private static List<decimal> Crossed(JsonObject budget) => [.. budget["crossed"]!.AsArray().Select(t => (decimal)t!)];

    [Fact]
    public async Task ABudgetTurnedOffAndOnAgainInOneMonthKeepsItsAlertsAndEveryReportApplies()
    {
        await PutConfigAsync("""{"monthlyUsd":1,"alertAt":[0.5,1]}""");
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.6"));
        await PutConfigAsync(null);
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.1"));
        await PutConfigAsync("""{"monthlyUsd":1,"alertAt":[0.5,1]}""");
        Assert.Equal([0.5m], Crossed(await BudgetAsync()));   // the month's alert stands, and the spend is recounted
        Assert.Equal(700_000, (long)(await BudgetAsync())["spendMicros"]!);

        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.1"));
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.3"));

        var budget = await BudgetAsync();
        Assert.Equal(1_100_000, (long)budget["spendMicros"]!);
        Assert.Equal([0.5m, 1m], Crossed(budget));
        Assert.Equal(["cbb|2026-11|0.5|00", "cbb|2026-11|1|00"], await AlertKeysAsync());
        Assert.Equal(1_100_000, (long)(await GetRunAsync("p1", _runId))["totalCostMicros"]!);
    }

    [Fact]
    public async Task ABudgetTurnedOffInOneMonthAndOnInTheNextAlertsAgainThatMonth()
    {
        await PutConfigAsync("""{"monthlyUsd":1,"alertAt":[0.5]}""");
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.6"));
        await PutConfigAsync(null);
        _clock.Now = new DateTimeOffset(2026, 12, 2, 8, 0, 0, TimeSpan.Zero);
        await PutConfigAsync("""{"monthlyUsd":1,"alertAt":[0.5]}""");

        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.6"));

        Assert.Equal([0.5m], Crossed(await BudgetAsync()));
        Assert.Equal(["cbb|2026-11|0.5|00", "cbb|2026-12|0.5|00"], await AlertKeysAsync());
    }

    [Fact]
    public async Task AChangedLimitOrThresholdsAlertOnlyForThresholdValuesNotYetAlertedThisMonth()
    {
        await PutConfigAsync("""{"monthlyUsd":1,"alertAt":[0.5]}""");
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.6"));
        // Twice the limit, and a new threshold: 0.5 alerted this month already (of the old limit).
        await PutConfigAsync("""{"monthlyUsd":2,"alertAt":[0.5,0.8]}""");
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.5"));
        Assert.Equal(["cbb|2026-11|0.5|00"], await AlertKeysAsync());

        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.6"));   // 1.7 of 2: past 0.8

        var budget = await BudgetAsync();
        Assert.Equal(1_700_000, (long)budget["spendMicros"]!);
        Assert.Equal([0.5m, 0.8m], Crossed(budget));
        Assert.Equal(["cbb|2026-11|0.5|00", "cbb|2026-11|0.8|00"], await AlertKeysAsync());
    }

    [Fact]
    public async Task AThresholdWhoseAlertExistsIsNotRaisedAgainEvenWhenTheSpendRowForgotIt()
    {
        await PutConfigAsync("""{"monthlyUsd":1,"alertAt":[0.5]}""");
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.6"));
        // However the spend row comes to forget an alerted threshold, the alert record is the truth.
        var row = (await App.Storage.Table.GetEntityAsync<TableEntity>("p1", Keys.BudgetRow)).Value;
        row["Crossed"] = "";
        await App.Storage.Table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.1"));

        Assert.Equal([0.5m], Crossed(await BudgetAsync()));
        Assert.Equal(["cbb|2026-11|0.5|00"], await AlertKeysAsync());
        Assert.Equal(700_000, (long)(await BudgetAsync())["spendMicros"]!);
    }

    /// <summary>
    /// The costs a turned-on budget must count: those of runs started before it (active, and final
    /// ones with late costs), of runs started while it is turned on, and those committed while it
    /// sums the month's cost rows. Each round turns the budget off, then on while reports with usage
    /// arrive on every kind of run and new runs start; the spend must equal the month's cost rows.
    /// </summary>
    [Fact]
    public async Task ABudgetTurnedOnWhileCostsArriveCountsEveryCostOfTheMonth()
    {
        var handler = App.Get<ProgressHandler>();
        var sent = 0;
        async Task<ReportOutcome> Report(string runId, string fields) =>
            (await handler.ApplyAsync(ProgressReport.Parse(
                JsonNode.Parse($$$"""{"projectId":"p1","runId":"{{{runId}}}","agent":"voice"{{{fields}}}}""")!.AsObject(),
                $"r-{Interlocked.Increment(ref sent)}", _clock.GetUtcNow()), default)).Outcome;
        async Task<string> RunAsync(string runId)
        {
            await StartAsync($$"""{"projectId":"p1","runId":"{{runId}}"}""");
            await Report(runId, "");
            return runId;
        }

        var active = new List<string>();
        for (var i = 0; i < 3; i++) active.Add(await RunAsync($"R_ACTIVE_{i}"));
        var final = await RunAsync("R_FINAL");
        await Report(final, ""","runStatus":"completed" """);

        for (var round = 0; round < 4; round++)
        {
            await PutConfigAsync(null);
            var costs = Enumerable.Range(0, 24).Select(async i =>
            {
                var runId = i % 4 == 3 ? final : active[i % 3];
                Assert.Equal(ReportOutcome.Applied, await Report(runId, """
                    ,"usage":{"model":"m","costUsd":0.01}
                    """));
            });
            var started = Enumerable.Range(0, 2).Select(async i =>
            {
                var runId = await RunAsync($"R_NEW_{round}_{i}");
                Assert.Equal(ReportOutcome.Applied, await Report(runId, """
                    ,"usage":{"model":"m","costUsd":0.02}
                    """));
            });
            var turnedOn = PutConfigAsync("""{"monthlyUsd":100}""");
            await Task.WhenAll([.. costs, .. started, turnedOn]);
            // And after it, on every kind of run.
            foreach (var runId in active.Append(final).Append($"R_NEW_{round}_0"))
            {
                Assert.Equal(ReportOutcome.Applied, await Report(runId, """
                    ,"usage":{"model":"m","costUsd":0.001}
                    """));
            }

            var costRows = await App.Storage.Table.QueryAsync<TableEntity>(
                TableClient.CreateQueryFilter($"PartitionKey eq {"p1"} and RowKey ge {"cost|"} and RowKey lt {"cost}"}"), select: ["CostMicros"])
                .Select(e => e.GetInt64("CostMicros") ?? 0).SumAsync();
            Assert.Equal(costRows, (long)(await BudgetAsync())["spendMicros"]!);
        }
    }

    /// <summary>Rows stored before runs carried the budget flag: such a run, and a start that finds no flag, count as budgeted.</summary>
    [Fact]
    public async Task RunsAndCountsStoredBeforeTheBudgetFlagKeepTheirBudget()
    {
        await PutConfigAsync("""{"monthlyUsd":1,"alertAt":[0.5]}""");
        _runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        foreach (var rowKey in new[] { Keys.RunRow(_runId), Keys.CountsRow })
        {
            var row = (await App.Storage.Table.GetEntityAsync<TableEntity>("p1", rowKey)).Value;
            Assert.True(row.Remove("Budgeted"));
            await App.Storage.Table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
        }

        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.2"));
        _clock.Now += TimeSpan.FromSeconds(1);
        _runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        Assert.Equal(ReportOutcome.Applied, await CostAsync("0.3"));

        Assert.Equal(500_000, (long)(await BudgetAsync())["spendMicros"]!);
        Assert.True((await App.Storage.Table.GetEntityAsync<TableEntity>("p1", Keys.RunRow(_runId))).Value.GetBoolean("Budgeted"));
        Assert.True((await App.Storage.Table.GetEntityAsync<TableEntity>("p1", Keys.CountsRow)).Value.GetBoolean("Budgeted"));
    }
}
