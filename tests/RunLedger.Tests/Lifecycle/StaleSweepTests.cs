using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Ledger;
using RunLedger.Lifecycle;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Lifecycle;

/// <summary>The stale sweep, in process with a clock the test moves.</summary>
public sealed class StaleSweepTests : ComponentTest
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FixedClock _clock = new(T0);
    private readonly QueryLog _queries = new();

    public StaleSweepTests()
    {
        App.Clock = _clock;
        App.WithStoragePolicy(_queries);
    }

    private Task<RunRecord> StartRunAsync(string runId, string pipeline = "{}", string projectId = "p1") =>
        App.Get<PipelineStarter>().StartAsync(StartRequest.Parse(JsonNode.Parse(
            $$$"""{"projectId":"{{{projectId}}}","runId":"{{{runId}}}","config":{"pipeline":{{{pipeline}}}}}""")!.AsObject()), null, default);

    private async Task ReportAsync(string runId, string eventId, string fields = "", string projectId = "p1", string agent = "voice") =>
        await App.Get<ProgressHandler>().ApplyAsync(ProgressReport.Parse(JsonNode.Parse(
            $$"""{"projectId":"{{projectId}}","runId":"{{runId}}","agent":"{{agent}}"{{fields}}}""")!.AsObject(), eventId, _clock.Now), default);

    private async Task<RunRecord> RunAsync(string runId, string projectId = "p1") => (await App.Get<RunStore>().GetAsync(projectId, runId, default))!;

    private async Task<List<JsonObject>> EventsAsync(string runId) =>
        (await App.Get<EventStore>().ListAsync("p1", runId, 0, 1000, default)).Events.ToList();

    private async Task<JsonObject> CountsAsync(string projectId = "p1") =>
        await LedgerComponents.BodyAsync(App.Functions<LifecycleFunctions>().GetRunCounts(LedgerComponents.Request(), projectId, default));

    [Fact]
    public async Task ARunIdleForLongerThanStaleAfterIsMarkedStaleWithOneEventAndASecondSweepAddsNothing()
    {
        await StartRunAsync("idle", """{"staleAfter":"PT30M"}""");
        await StartRunAsync("busy", """{"staleAfter":"PT30M"}""");
        await ReportAsync("idle", "e1");
        _clock.Now = T0.AddMinutes(20);
        await ReportAsync("busy", "e2");

        _clock.Now = T0.AddMinutes(31);
        var first = await App.Get<StaleSweep>().RunAsync(default);
        var second = await App.Get<StaleSweep>().RunAsync(default);

        Assert.Equal(1, first.Marked);
        Assert.Equal(0, second.Marked + second.Due);
        var idle = await RunAsync("idle");
        Assert.True((bool)idle.Document["stale"]!);
        Assert.Equal("2026-03-01T12:00:00.000Z", (string)idle.Document["staleSince"]!);
        Assert.Equal("running", idle.Status);
        var stale = Assert.Single(await EventsAsync("idle"), e => (string?)e["status"] == "stale");
        Assert.Equal("ledger", (string)stale["agent"]!);
        Assert.Contains("No change since 2026-03-01T12:00:00.000Z (staleAfter PT30M)", (string)stale["message"]!, StringComparison.Ordinal);
        Assert.Null((await RunAsync("busy")).Document["stale"]);
        Assert.Equal(1, (long)(await CountsAsync())["stale"]!);
    }

    [Fact]
    public async Task ConcurrentSweepsMarkARunOnce()
    {
        await StartRunAsync("r1", """{"staleAfter":"PT1M"}""");
        _clock.Now = T0.AddMinutes(2);

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => App.Get<StaleSweep>().RunAsync(default)));

        Assert.Equal(1, results.Sum(r => r.Marked));
        Assert.Single(await EventsAsync("r1"), e => (string?)e["status"] == "stale");
        Assert.Equal(1, (long)(await CountsAsync())["stale"]!);
    }

    [Fact]
    public async Task ALaterReportClearsStaleAndTheRunCanTurnStaleAgain()
    {
        await StartRunAsync("r1", """{"staleAfter":"PT10M"}""");
        _clock.Now = T0.AddMinutes(11);
        await App.Get<StaleSweep>().RunAsync(default);
        Assert.True((await RunAsync("r1")).Stale);

        _clock.Now = T0.AddMinutes(12);
        await ReportAsync("r1", "back", ",\"message\":\"back again\"");
        var run = await RunAsync("r1");
        Assert.False(run.Stale);
        Assert.Null(run.Document["staleSince"]);
        Assert.Equal(0, (long)(await CountsAsync())["stale"]!);

        _clock.Now = T0.AddMinutes(21); // 9 minutes after the report: not yet
        Assert.Equal(0, (await App.Get<StaleSweep>().RunAsync(default)).Marked);
        _clock.Now = T0.AddMinutes(23);
        Assert.Equal(1, (await App.Get<StaleSweep>().RunAsync(default)).Marked);
        Assert.Equal(2, (await EventsAsync("r1")).Count(e => (string?)e["status"] == "stale"));
    }

    [Fact]
    public async Task AStaleEventInTheHistoryDoesNotStopARebuildAfterAnOutOfOrderCompletion()
    {
        await StartRunAsync("r1", """{"staleAfter":"PT10M"}""");
        _clock.Now = T0.AddMinutes(11);
        await App.Get<StaleSweep>().RunAsync(default);
        _clock.Now = T0.AddMinutes(22);
        // A report dated after the completion arrives first; the completion then makes the ledger
        // rebuild the fields from the history, which now holds the sweep's own event.
        await ReportAsync("r1", "after", ",\"message\":\"too late\",\"timestamp\":\"2026-03-01T12:21:00Z\"");
        await ReportAsync("r1", "done", agent: "publisher", fields: ",\"status\":\"completed\",\"message\":\"published\",\"timestamp\":\"2026-03-01T12:20:30Z\"");

        var run = await RunAsync("r1");
        Assert.Equal("completed", run.Status);
        Assert.Equal("published", (string)run.Document["message"]!);
        Assert.False(run.Stale);
    }

    [Fact]
    public async Task FailWhenStaleFailsTheRunSayingSinceWhenNothingHappened()
    {
        await StartRunAsync("r1", """{"staleAfter":"PT1H","failWhenStale":true}""");
        _clock.Now = T0.AddMinutes(5);
        await ReportAsync("r1", "e1");
        _clock.Now = T0.AddMinutes(66);

        var result = await App.Get<StaleSweep>().RunAsync(default);

        Assert.Equal(1, result.Failed);
        var run = await RunAsync("r1");
        Assert.Equal("failed", run.Status);
        Assert.False(run.Stale);
        Assert.Equal("Nothing happened since 2026-03-01T12:05:00.000Z (staleAfter PT1H); failed as stale.", (string)run.Document["error"]!);
        Assert.NotNull(run.Document["completedAt"]);
        var counts = await CountsAsync();
        Assert.Equal(1, (long)counts["failed"]!);
        Assert.Equal(0, (long)counts["running"]! + (long)counts["stale"]!);
        // Final: no active-runs entry left for the next sweep.
        Assert.Null(await App.Storage.Table.FindAsync("p1", "act|r1", default));
    }

    [Fact]
    public async Task TheDefaultIsTwoHoursAndFinalRunsAreNeverTouched()
    {
        await StartRunAsync("open");
        await StartRunAsync("done");
        await ReportAsync("done", "e1", ",\"runStatus\":\"completed\"");
        _clock.Now = T0.AddMinutes(119);
        Assert.Equal(0, (await App.Get<StaleSweep>().RunAsync(default)).Due);

        _clock.Now = T0.AddHours(50);
        var result = await App.Get<StaleSweep>().RunAsync(default);

        Assert.Equal(1, result.Marked);
        Assert.True((await RunAsync("open")).Stale);
        Assert.Null((await RunAsync("done")).Document["stale"]);
    }

    [Fact]
    public async Task TheSweepReadsOnlyTheProjectRegistryAndActiveRowsNeverTheWholeTable()
    {
        await StartRunAsync("a", """{"staleAfter":"PT1M"}""");
        await StartRunAsync("b", """{"staleAfter":"PT1M"}""", projectId: "p2");
        for (var i = 0; i < 5; i++)
        {
            await StartRunAsync($"done{i}");
            await ReportAsync($"done{i}", $"c{i}", ",\"runStatus\":\"completed\"");
        }
        _clock.Now = T0.AddMinutes(5);

        _queries.Filters.Clear();
        var result = await App.Get<StaleSweep>().RunAsync(default);

        Assert.Equal(2, result.Marked);
        Assert.NotEmpty(_queries.Filters);
        Assert.All(_queries.Filters, filter => Assert.Matches(
            @"^PartitionKey eq '~projects'$|^PartitionKey eq 'p[12]' and RowKey gt 'act\|' and RowKey lt 'act}'", filter));
    }

    [Theory]
    [InlineData("""{"staleAfter":"2 hours"}""", "'config.pipeline.staleAfter' must be an ISO 8601 duration")]
    [InlineData("""{"staleAfter":"PT0S"}""", "'config.pipeline.staleAfter' must be an ISO 8601 duration")]
    [InlineData("""{"staleAfter":"-PT1H"}""", "'config.pipeline.staleAfter' must be an ISO 8601 duration")]
    [InlineData("""{"staleAfter":7200}""", "'config.pipeline.staleAfter' must be an ISO 8601 duration")]
    [InlineData("""{"failWhenStale":"yes"}""", "'config.pipeline.failWhenStale' must be true or false")]
    public async Task InvalidPipelineSettingsAre400AtStartAndOnConfigPut(string pipeline, string detail)
    {
        var start = await Assert.ThrowsAsync<RunLedger.Http.LedgerException>(() => StartRunAsync("r1", pipeline));
        Assert.Equal(400, start.Status);
        Assert.Contains(detail, start.Message, StringComparison.Ordinal);

        var put = await Assert.ThrowsAsync<RunLedger.Http.LedgerException>(() => App.Functions<RunLedger.Projects.ConfigFunctions>()
            .PutConfig(LedgerComponents.Request(body: $$"""{"pipeline":{{pipeline}}}"""), "p1", default));
        Assert.Equal(400, put.Status);
        Assert.Contains(detail.Replace("config.", "", StringComparison.Ordinal), put.Message, StringComparison.Ordinal);
    }

    /// <summary>The $filter of every table query the app sends.</summary>
    private sealed class QueryLog : HttpPipelineSynchronousPolicy
    {
        public List<string> Filters { get; } = [];

        public override void OnSendingRequest(HttpMessage message)
        {
            var query = System.Web.HttpUtility.ParseQueryString(message.Request.Uri.Query);
            if (message.Request.Method == RequestMethod.Get && query["$filter"] is { } filter)
            {
                lock (Filters) Filters.Add(filter);
            }
        }
    }
}
