using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Hosting;
using RunLedger.Pipelines;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Lifecycle;

/// <summary>A host with retention on (1 day); the timers' schedules never come during a test.</summary>
public sealed class RetentionHost : LedgerHost
{
    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings => [new("RunLedger__RetentionDays", "1")];
}

/// <summary>The timers end to end: fired through the local host's admin API, run by the real worker.</summary>
public sealed class LifecycleTimerTests(RetentionHost host) : LedgerTest(host), IClassFixture<RetentionHost>
{
    [Fact]
    public async Task FiringTheStaleSweepMarksAnIdleRunStaleAndTheCountsSayIt()
    {
        await StartAsync($$$$"""{"projectId":"{{{{P}}}}","runId":"r1","config":{"pipeline":{"staleAfter":"PT1S"}}}""");
        await StartAsync($$$$"""{"projectId":"{{{{P}}}}","runId":"r2","config":{"pipeline":{"staleAfter":"PT1H"}}}""");
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        await App.Harness.RunFunctionAsync("StaleSweep");

        await Eventually.HoldsAsync(async () =>
            (await (await Client.GetAsync($"/api/projects/{P}/runs/r1")).JsonAsync())["stale"] is JsonValue v && (bool)v, "r1 marked stale");
        var counts = await (await Client.GetAsync($"/api/projects/{P}/runs/counts")).JsonAsync();
        Assert.Equal(2, (long)counts["queued"]!);
        Assert.Equal(1, (long)counts["stale"]!);
        Assert.Null((await (await Client.GetAsync($"/api/projects/{P}/runs/r2")).JsonAsync())["stale"]);
        var listed = (await (await Client.GetAsync($"/api/projects/{P}/runs?status=queued")).JsonAsync())["items"]!.AsArray();
        Assert.True((bool)listed.Single(r => (string)r!["runId"]! == "r1")!["stale"]!);

        // A report clears it.
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/r1/progress", """{"eventId":"back","agent":"voice"}""")).EnsureSuccessStatusCode();
        Assert.False((bool)(await (await Client.GetAsync($"/api/projects/{P}/runs/r1")).JsonAsync())["stale"]!);
        Assert.Equal(0, (long)(await (await Client.GetAsync($"/api/projects/{P}/runs/counts")).JsonAsync())["stale"]!);
    }

    [Fact]
    public async Task FiringTheRetentionPurgeDeletesRunsThatEndedBeforeTheLimitAndKeepsTheRest()
    {
        // Runs that started and ended ten days ago, written by the app's own services with a clock
        // set back, into the table this host's worker uses.
        var clock = new FixedClock(DateTimeOffset.UtcNow.AddDays(-10));
        await using var services = LedgerServices.Build(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = App.ConnectionString,
            ["RunLedger:TableName"] = App.TableName,
            ["RunLedger:JobsQueue"] = App.JobsQueue,
            ["RunLedger:ProgressQueue"] = App.ProgressQueue,
        }).Build(), s => s.AddSingleton<TimeProvider>(clock));
        foreach (var runId in new[] { "old", "oldButOpen" })
        {
            await services.GetRequiredService<PipelineStarter>().StartAsync(
                StartRequest.Parse(JsonNode.Parse($$"""{"projectId":"{{P}}","runId":"{{runId}}"}""")!.AsObject()), null, default);
        }
        await services.GetRequiredService<ProgressHandler>().ApplyAsync(ProgressReport.Parse(
            JsonNode.Parse($$"""{"projectId":"{{P}}","runId":"old","agent":"publisher","status":"completed"}""")!.AsObject(), "done", clock.Now), default);
        await StartAsync($$"""{"projectId":"{{P}}","runId":"fresh"}""");
        (await Client.PatchJsonAsync($"/api/projects/{P}/runs/fresh", """{"status":"completed"}""")).EnsureSuccessStatusCode();

        await App.Harness.RunFunctionAsync("RetentionPurge");

        await Eventually.HoldsAsync(async () =>
            (await Client.GetAsync($"/api/projects/{P}/runs/old")).StatusCode == System.Net.HttpStatusCode.NotFound, "the old run purged");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await Client.GetAsync($"/api/projects/{P}/runs/oldButOpen")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await Client.GetAsync($"/api/projects/{P}/runs/fresh")).StatusCode);
        var left = new List<string>();
        await foreach (var row in App.Table.QueryAsync<Azure.Data.Tables.TableEntity>(Azure.Data.Tables.TableClient.CreateQueryFilter($"PartitionKey eq {P}")))
        {
            if (row.RowKey.Contains("|old|", StringComparison.Ordinal) || row.RowKey.EndsWith("|old", StringComparison.Ordinal)) left.Add(row.RowKey);
        }
        Assert.Empty(left);
        var counts = await (await Client.GetAsync($"/api/projects/{P}/runs/counts")).JsonAsync();
        Assert.Equal(2, (long)counts["total"]!);
        Assert.Equal(1, (long)counts["completed"]!);
    }
}
