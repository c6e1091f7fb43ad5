using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Budgets;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Callbacks;

/// <summary>
/// The outbox rules, in process: records are raised by the save that changes the run (so any
/// writer that saves through the run store raises them: reports, PATCH, and stale marks), once per
/// event, and budget alerts once per threshold per month.
/// </summary>
public sealed class OutboxTests : ComponentTest
{
    private readonly FixedClock _clock = new(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero));

    public OutboxTests()
    {
        App.Clock = _clock;
    }

    private async Task<List<string>> OutboxKeysAsync(string prefix) =>
        await App.Storage.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {"p1"} and RowKey ge {prefix} and RowKey lt {prefix + "~"}"))
            .Select(e => e.RowKey).ToListAsync();

    private const string Callbacks = """
        "callbacks":[{"url":"https://hooks.example.com/a","events":["stale","completed"],"secret":"0123456789abcdef"},
                     {"url":"https://hooks.example.com/b","events":["budget"],"secret":"0123456789abcdef"}]
        """;

    [Fact]
    public async Task EachTimeARunIsMarkedStaleOneRecordIsWrittenAndClearingItRaisesNothing()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1","config":{""" + Callbacks + "}}"))["runId"]!;
        var store = App.Get<RunStore>();

        async Task SetStaleAsync(bool stale)
        {
            // As the stale sweep marks a run (a save that is not activity), and as any activity clears it.
            var run = (await store.GetAsync("p1", runId, default))!;
            if (stale) run.Document["stale"] = true;
            await store.SaveAsync(run, null, default, stale ? RunSave.Sweep : RunSave.Activity);
        }

        await SetStaleAsync(true);
        await SetStaleAsync(true);
        Assert.Single(await OutboxKeysAsync($"cb|{runId}|"));
        await SetStaleAsync(false);
        Assert.Single(await OutboxKeysAsync($"cb|{runId}|"));
        await SetStaleAsync(true);

        var keys = await OutboxKeysAsync($"cb|{runId}|");
        Assert.Equal(2, keys.Count);
        Assert.All(keys, k => Assert.Matches($@"\Acb\|{runId}\|stale\.[0-9]+\|00\z", k));
    }

    [Fact]
    public async Task ARunThatBecomesFinalByPatchRaisesItsRecordOnceEvenWhenThePatchIsRetried()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1","config":{""" + Callbacks + "}}"))["runId"]!;
        var patcher = App.Get<RunPatcher>();
        var done = RunRules.ValidatePatch(new JsonObject { ["status"] = "completed" });

        await patcher.PatchAsync("p1", runId, done, null, default);
        await patcher.PatchAsync("p1", runId, done, null, default);

        Assert.Equal([$"cb|{runId}|completed|00"], await OutboxKeysAsync($"cb|{runId}|"));
        Assert.Equal(1, await App.Storage.Callbacks.CountAsync());
    }

    private async Task<JsonObject> OutboxBodyAsync(string rowKey)
    {
        var row = (await App.Storage.Table.GetEntityAsync<TableEntity>("p1", rowKey)).Value;
        return DocumentColumns.Read(row, RunLedger.Callbacks.OutboxFields.BodyPrefix);
    }

    private async Task ReportAsync(string runId, string eventId, string fields) =>
        await App.Get<ProgressHandler>().ApplyAsync(ProgressReport.Parse(
            JsonNode.Parse($$"""{"projectId":"p1","runId":"{{runId}}","agent":"publisher"{{fields}}}""")!.AsObject(), eventId, _clock.GetUtcNow()), default);

    [Fact]
    public async Task ACompletedCallbackCarriesTheRunsCostItsInvoiceTotalAndWhatRemainsOfTheBudget()
    {
        await App.Functions<RunLedger.Projects.ConfigFunctions>().PutConfig(
            LedgerComponents.Request(body: """{"budget":{"monthlyUsd":10},"invoice":{"markupRate":0.5},""" + Callbacks + "}"), "p1", default);
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        await ReportAsync(runId, "e1", ""","usage":{"model":"m","costUsd":1.25}""");
        // The final report carries a cost too: the budget it reports includes it.
        await ReportAsync(runId, "e2", ""","status":"completed","usage":{"model":"m","costUsd":0.75}""");

        var money = (await OutboxBodyAsync($"cb|{runId}|completed|00"))["money"]!;

        Assert.Equal("USD", (string)money["currency"]!);
        Assert.Equal("2.000000", (string)money["costUsd"]!);
        Assert.Equal(2_000_000, (long)money["costMicros"]!);
        Assert.Equal(3.00m, (decimal)money["invoiceTotal"]!);
        Assert.Equal("2.000000", (string)money["budget"]!["spendUsd"]!);
        Assert.Equal("8.000000", (string)money["budget"]!["remainingUsd"]!);
        Assert.Equal("10.000000", (string)money["budget"]!["monthlyUsd"]!);
    }

    [Fact]
    public async Task ARunFinishedByPatchReportsItsMoneyWithoutABudgetWhenTheProjectHasNone()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1","config":{""" + Callbacks + "}}"))["runId"]!;
        await ReportAsync(runId, "e1", ""","usage":{"model":"m","costUsd":0.5}""");
        await App.Get<RunPatcher>().PatchAsync("p1", runId, RunRules.ValidatePatch(new JsonObject { ["status"] = "completed" }), null, default);

        var money = (await OutboxBodyAsync($"cb|{runId}|completed|00"))["money"]!;

        Assert.Equal("0.500000", (string)money["costUsd"]!);
        Assert.Equal(0.60m, (decimal)money["invoiceTotal"]!);
        Assert.Null(money["budget"]);
    }

    [Fact]
    public async Task ANewMonthStartsItsSpendAndAlertsAgainAndKeepsTheMonthThatEnded()
    {
        var config = LedgerComponents.Request(body: """{"budget":{"monthlyUsd":1,"alertAt":[0.5]},""" + Callbacks + "}");
        await App.Functions<RunLedger.Projects.ConfigFunctions>().PutConfig(config, "p1", default);
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var handler = App.Get<ProgressHandler>();
        Task Cost(string eventId) => handler.ApplyAsync(ProgressReport.Parse(
            JsonNode.Parse($$$"""{"projectId":"p1","runId":"{{{runId}}}","agent":"voice","usage":{"model":"m","costUsd":0.6}}""")!.AsObject(),
            eventId, _clock.GetUtcNow()), default);

        await Cost("nov-1");
        await Cost("nov-2");
        _clock.Now = _clock.Now.AddHours(2); // 1 December, 01:00 UTC
        await Cost("dec-1");

        Assert.Equal(["cbb|2026-11|0.5|01", "cbb|2026-12|0.5|01"], await OutboxKeysAsync("cbb|"));
        var november = await App.Storage.Table.GetEntityAsync<TableEntity>("p1", Keys.SpendRow("2026-11"));
        Assert.Equal(1_200_000, november.Value.GetInt64("SpendMicros"));
        var budget = await App.Get<BudgetLedger>().ShowAsync("p1", _clock.Now, default);
        Assert.Equal("2026-12", (string)budget["month"]!);
        Assert.Equal(600_000, (long)budget["spendMicros"]!);
        Assert.Equal([0.5m], budget["crossed"]!.AsArray().Select(t => (decimal)t!));
    }
}
