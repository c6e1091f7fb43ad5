using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Tests.Support;
using Xunit.Abstractions;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// The host and the worker reach Azurite only through fault-injecting proxies (503s, resets
/// before a request reaches storage and after it committed, stalls, a total outage of 30 s),
/// while agents send every report one to five times, shuffled, through the queue and over HTTP.
/// The ledger must end exactly where an independent computation says, stay up, and tell HTTP
/// readers during the outage to come back later (503 with Retry-After).
/// </summary>
[Collection(ReliabilitySuite.Name)]
public sealed class StorageFaultTests(StorageFaultTests.Host host, ITestOutputHelper output) : LedgerTest(host), IClassFixture<StorageFaultTests.Host>
{
    private static readonly TimeSpan OutageLength = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan HardPhase = TimeSpan.FromSeconds(20);

    /// <summary>Storage settings of host and worker point at the proxies; the test's own clients go to Azurite directly.</summary>
    public sealed class Host : LedgerHost
    {
        // Disposed in DisposeAsync (a list, since the fixture's lifetime is IAsyncLifetime, not IDisposable).
        private readonly List<FaultProxy> _proxies = [];
        private int _tablePort;
        private int _queuePort;

        public int Seed { get; } = ReliabilitySuite.Seed(20261125);

        /// <summary>About one request in eleven is faulted (3% 503, 3% reset before, 2% reset after the write, 1% stalled 2–5 s); a phase runs it tripled.</summary>
        public FaultPlan Plan { get; } = new(ReliabilitySuite.Seed(20261125))
        {
            BusyRate = 0.03, ResetBeforeRate = 0.03, ResetAfterRate = 0.02, StallRate = 0.01,
        };

        // A message whose receive answer was lost reappears after this (the host's 10 minutes would stall the drain).
        protected override TimeSpan? QueueMessageLease => TimeSpan.FromSeconds(6);

        protected override IEnumerable<KeyValuePair<string, string>> QueueSettings =>
            [new("visibilityTimeout", "00:00:00.500"), new("maxPollingInterval", "00:00:01")];

        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [
            new("AzureWebJobsStorage",
                $"DefaultEndpointsProtocol=http;AccountName={Azurite.AccountName};AccountKey={Azurite.AccountKey};" +
                $"QueueEndpoint=http://127.0.0.1:{_queuePort}/{Azurite.AccountName};TableEndpoint=http://127.0.0.1:{_tablePort}/{Azurite.AccountName};"),
        ];

        public override async Task InitializeAsync()
        {
            var azurite = await Azurite.GetAsync();
            _proxies.Add(new FaultProxy(azurite.TablePort, Plan, json: true));
            _proxies.Add(new FaultProxy(azurite.QueuePort, Plan, json: false));
            foreach (var proxy in _proxies) proxy.Start();
            (_tablePort, _queuePort) = (_proxies[0].Port, _proxies[1].Port);
            await base.InitializeAsync();
        }

        public override async Task DisposeAsync()
        {
            Plan.Enabled = false;
            Plan.EndOutage();
            await base.DisposeAsync();
            foreach (var proxy in _proxies) await proxy.DisposeAsync();
        }
    }

    private new Host App => (Host)base.App;

    [Fact]
    public async Task UnderStorageFaultsAndAThirtySecondOutageEveryReportCountsExactlyOnceAndReadsAnswer503WithRetryAfter()
    {
        var figures = new Figures("storage-faults", output);
        try
        {
            await RunAsync(figures);
        }
        finally
        {
            figures.Save();
        }
    }

    private async Task RunAsync(Figures figures)
    {
        var plan = App.Plan;
        var workload = new RedeliveryWorkload(App.Seed, P, runs: 10, reportsPerRun: 30, DateTimeOffset.UtcNow);
        var agents = new Agents(Client, App.Progress);
        var worker = App.Harness.Host.Supervisor.Process!.Id;
        figures.Line($"seed {App.Seed} (replay: RELIABILITY_SEED={App.Seed}); {workload.RunIds.Count} runs, {workload.Reports.Count} progress reports + {workload.Finals.Count} completions; " +
                     $"fault rates: 503 {plan.BusyRate:P0}, reset before {plan.ResetBeforeRate:P0}, reset after write {plan.ResetAfterRate:P0}, stall {plan.StallRate:P0} ({plan.StallMin.TotalSeconds}-{plan.StallMax.TotalSeconds} s), tripled for {HardPhase.TotalSeconds} s after an outage of {OutageLength.TotalSeconds} s");
        var clock = Stopwatch.StartNew();
        plan.Enabled = true;

        await agents.StartRunsAsync(P, workload.RunIds);
        // Starts by Idempotency-Key, as Make.com retries them: each key 2-3 times at once, retried on 5xx.
        var keyed = await Task.WhenAll(Enumerable.Range(0, 5).SelectMany(k => Enumerable.Range(0, 2 + k % 2).Select(async _ =>
            (Key: $"make-exec-{k}", Body: await agents.SendAsync(HttpMethod.Post, "/api/pipelines", $$$"""{"projectId":"{{{P}}}","triggeredBy":"make.com","seedData":{"k":{{{k}}}}}""", [202], $"make-exec-{k}")))));
        var keyedRuns = keyed.GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.Select(s => s.Body is null ? "(none)" : (string)JsonNode.Parse(s.Body)!["runId"]!).Distinct().ToList());
        figures.Line($"{keyed.Length} starts by Idempotency-Key for {keyedRuns.Count} keys: " + string.Join(", ", keyedRuns.Select(k => $"{k.Key} → {string.Join("/", k.Value)}")));
        var deliveries = workload.Deliveries(workload.Reports, 1, 5, salt: 1);
        var sending = agents.DeliverAsync(P, deliveries, concurrency: 16);

        // The outage starts once a third of the deliveries are out, with the rest in flight.
        await Eventually.HoldsAsync(() => Task.FromResult(agents.Done >= deliveries.Count / 3 || sending.IsCompleted), "a third of the deliveries", 180);
        var outage = Stopwatch.StartNew();
        plan.BeginOutage();
        figures.Line($"outage starts at {clock.Elapsed.TotalSeconds:F1} s, {agents.Done} of {deliveries.Count} deliveries sent");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var reads = await Task.WhenAll(
            ReadDuringOutageAsync($"/api/projects/{P}/runs/{workload.RunIds[0]}"),
            ReadDuringOutageAsync($"/api/projects/{P}/runs/{workload.RunIds[1]}/events"),
            ReadDuringOutageAsync($"/api/projects/{P}/runs"),
            ReadDuringOutageAsync($"/api/projects/{P}/runs/{workload.RunIds[2]}/costs"));
        using (var health = await Client.GetAsync("/api/health"))
        {
            reads = [.. reads, $"GET /api/health → {(int)health.StatusCode}"];
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        foreach (var read in reads) figures.Line($"during the outage: {read}");
        Assert.True(outage.Elapsed < OutageLength, $"the reads took {outage.Elapsed.TotalSeconds:F1} s, longer than the outage");
        await Task.Delay(OutageLength - outage.Elapsed);
        plan.EndOutage();
        // Three times the faults (about 27% of requests) for a while, or until the progress reports are all in.
        plan.Intensity = 3;
        var before = plan.Counts;
        figures.Line($"outage ends at {clock.Elapsed.TotalSeconds:F1} s, {agents.Done} of {deliveries.Count} deliveries sent; fault rates tripled");

        var applying = Task.Run(async () =>
        {
            await sending;
            await Agents.AppliedAsync(Client, P, workload.Reports, TimeSpan.FromMinutes(3));
        });
        await Task.WhenAny(applying, Task.Delay(HardPhase));
        plan.Intensity = 1;
        var tripled = plan.Counts.ToDictionary(c => c.Key, c => c.Value - before.GetValueOrDefault(c.Key));
        figures.Line($"fault rates back to normal at {clock.Elapsed.TotalSeconds:F1} s");
        figures.Counts("  while tripled", tripled.OrderBy(c => c.Key, StringComparer.Ordinal));
        await applying;
        figures.Line($"progress reports all applied at {clock.Elapsed.TotalSeconds:F1} s");
        var finals = workload.Deliveries(workload.Finals, 1, 3, salt: 2);
        await agents.DeliverAsync(P, finals, concurrency: 8);
        await Agents.AppliedAsync(Client, P, workload.All, TimeSpan.FromMinutes(2));
        plan.Enabled = false;
        await App.ProgressDrainedAsync(TimeSpan.FromMinutes(1));
        figures.Line($"drained at {clock.Elapsed.TotalSeconds:F1} s");

        var differences = await workload.DifferencesAsync(Client);
        var poisoned = await App.ProgressPoison.CountAsync();
        var deadLetters = 0;
        await foreach (var _ in App.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {"~deadletters"}"))) deadLetters++;
        var pollFailures = App.Harness.Logs.Count(l => l.Message.StartsWith("Polling queue", StringComparison.Ordinal));
        var restarts = App.Harness.Logs.Count(l => l.Message.Contains("restarting in", StringComparison.Ordinal));

        figures.Line($"deliveries: {deliveries.Count + finals.Count} ({agents.QueueSends} queue, {agents.HttpSends} HTTP) of {workload.All.Count()} reports; {workload.TotalMicros} micro-dollars expected");
        figures.Counts("HTTP answers to agents (retries included)", agents.Answers);
        figures.Counts("storage requests through the proxies and faults injected", plan.Counts);
        figures.Line($"queue poll failures logged by the host: {pollFailures}; worker restarts: {restarts}; poison messages: {poisoned}; dead letters: {deadLetters}");
        figures.Line($"differences from the independent computation: {differences.Count}");
        foreach (var difference in differences.Take(20)) figures.Line($"  {difference}");
        foreach (var failure in agents.Failures.Take(10)) figures.Line($"  agent failure: {failure}");
        foreach (var error in agents.ServerErrors.Take(10)) figures.Line($"  server error: {error}");
        var errors = App.Harness.Logs.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error)
            .GroupBy(l => $"{l.Category}: {l.Message.Split('\n')[0]}").OrderByDescending(g => g.Count()).ToList();
        figures.Line($"error log lines: {errors.Sum(g => g.Count())}, the most frequent first:");
        foreach (var group in errors.Take(8)) figures.Line($"  {group.Count()} × {(group.Key.Length > 300 ? group.Key[..300] + "..." : group.Key)}");

        var listed = (await (await Client.GetAsync($"/api/projects/{P}/runs?limit=100")).JsonAsync())["items"]!.AsArray().Select(r => (string)r!["runId"]!).ToList();
        figures.Line($"runs listed: {listed.Count} ({workload.RunIds.Count} by run id, {keyedRuns.Count} by Idempotency-Key expected)");

        Assert.Empty(differences);
        Assert.All(keyedRuns, k => Assert.Single(k.Value));
        Assert.Equal(workload.RunIds.Concat(keyedRuns.Values.Select(v => v[0])).Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.Empty(agents.Failures);
        Assert.Equal(0, poisoned);
        Assert.Equal(0, deadLetters);
        Assert.DoesNotContain("500", agents.Answers.Keys);
        Assert.DoesNotContain("503 without Retry-After", agents.Answers.Keys);
        // The app stayed up: the same worker process throughout, and the listener kept polling.
        Assert.Equal(0, restarts);
        Assert.Equal(worker, App.Harness.Host.Supervisor.Process!.Id);
        Assert.True(pollFailures > 0, "the outage reached the queue listener");
        foreach (var fault in new[] { "busy503", "resetBefore", "resetAfterWrite", "stall", "outageResets" })
        {
            Assert.True(plan.Count(fault) > 0, $"no '{fault}' fault was injected");
        }
    }

    /// <summary>A read while storage is unreachable: 503 problem+json with Retry-After, within the outage.</summary>
    private async Task<string> ReadDuringOutageAsync(string url)
    {
        var clock = Stopwatch.StartNew();
        using var response = await Client.GetAsync(url);
        var detail = await response.AssertProblemAsync(503);
        Assert.NotEmpty(detail);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, $"GET {url}: 503 without Retry-After");
        return string.Create(CultureInfo.InvariantCulture,
            $"GET {url} → {(int)response.StatusCode} in {clock.Elapsed.TotalSeconds:F1} s, Retry-After {response.Headers.RetryAfter!.Delta!.Value.TotalSeconds} s, \"{detail}\"");
    }
}
