using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using RunLedger.Ledger;
using RunLedger.Progress;
using Azure.Data.Tables;

// Usage: RunLedger.Bench <storage connection string> [reports per round] [rounds] [queue reports per run <worker dir> <host.json> [published worker dir]]
// Prints, for applying agent reports through the ledger and for a baseline that makes the same
// storage calls with the same payload sizes directly (one read, one six-action transaction),
// the time and managed allocation per report, and their ratio. Rounds alternate the two so that
// a noisy machine affects both alike; the medians are reported. With a worker, also live streams
// on one run (StreamFanout): the worker's table requests per second for 1, 20 and 200 streams.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: RunLedger.Bench <connection string> [reports per round] [rounds]");
    return 2;
}
// Rounds of each side run before measuring, to let tiered compilation settle.
const int WarmUpRounds = 12;
var perRound = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
// RUNLEDGER_BENCH_STREAMS: how many live streams watch one run, e.g. "1,20,200" (the default);
// RUNLEDGER_BENCH_ONLY=streams runs that scenario alone (against the worker in args[4]).
var streamCounts = (Environment.GetEnvironmentVariable("RUNLEDGER_BENCH_STREAMS") is { Length: > 0 } counts ? counts : "1,20,200")
    .Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToList();
if (Environment.GetEnvironmentVariable("RUNLEDGER_BENCH_ONLY") == "streams")
{
    await PrintStreamsAsync(args[0], args[4], args[5], streamCounts);
    return 0;
}
if (Environment.GetEnvironmentVariable("RUNLEDGER_BENCH_ONLY") == "queue")
{
    await PrintQueueAsync(args[0], args[4], args[5], int.Parse(args[3], CultureInfo.InvariantCulture));
    return 0;
}

var ledger = await RunLedger.Bench.BenchLedger.CreateAsync(args[0], "bench");
try
{
    var storage = ledger.Storage;
    var handler = ledger.Get<ProgressHandler>();
    var run = await ledger.StartRunAsync("bench", "RUN_BENCH",
        ""","seedData":{"topic":"volcanoes","lead_url":"https://example.com/lead"},"config":{"pipeline":{"finalAgent":"publisher"}}""");

    var sequence = 0;
    ProgressReport NextReport()
    {
        var i = Interlocked.Increment(ref sequence);
        var agent = (i % 3) switch { 0 => "voice", 1 => "music", _ => "video" };
        return ProgressReport.Parse(JsonNode.Parse($$$$"""
            {"projectId":"bench","runId":"RUN_BENCH","eventId":"e{{{{i}}}}","agent":"{{{{agent}}}}","status":"running",
             "message":"step {{{{i}}}}","progress":{{{{i % 100}}}},"usage":{"model":"gpt-4o","inputTokens":{{{{1000 + i}}}},"outputTokens":350},
             "artifacts":{"narrationKey":"audio/{{{{i}}}}.mp3"},"metadata":{"{{{{agent}}}}":{"lastStep":{{{{i}}}}}}}
            """)!.AsObject(), "unused", DateTimeOffset.UtcNow);
    }

    async Task Ledger(int count)
    {
        for (var i = 0; i < count; i++) await handler.ApplyAsync(NextReport(), default);
    }

    // Warm the ledger first, so the run row has its steady-state size (field clocks, cost lines)
    // when the baseline copies it.
    await Ledger(20);

    // The baseline writes what the ledger writes, minus the ledger: a copy of the run row, its
    // index row and active-runs row, an event-id marker, an event and a cost row of the sizes the
    // ledger stores (a project without a budget: no budget row; pinned by StorageCostTests).
    var table = storage.Table;
    var baselineKey = "run|BASELINE";
    var sample = (await table.GetEntityAsync<TableEntity>("bench", Keys.RunRow("RUN_BENCH"))).Value;
    await table.UpsertEntityAsync(Copy(sample, baselineKey), TableUpdateMode.Replace);
    var indexSample = (await table.GetEntityAsync<TableEntity>("bench", run.IndexRowKey)).Value;
    var activeSample = (await table.GetEntityAsync<TableEntity>("bench", Keys.ActiveRow("RUN_BENCH"))).Value;
    // Every column of the rows the ledger wrote for its 20th report (a report with usage, like each one measured).
    var eventSample = (await table.GetEntityAsync<TableEntity>("bench", Keys.EventRow("RUN_BENCH", 20))).Value;
    var costSample = (await table.GetEntityAsync<TableEntity>("bench", Keys.CostRow("RUN_BENCH", 20))).Value;
    var markerSample = (await table.GetEntityAsync<TableEntity>("bench", Keys.EventIdRow("RUN_BENCH", "e20"))).Value;
    var baselineSequence = 0L;
    async Task Baseline(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var read = (await table.GetEntityAsync<TableEntity>("bench", baselineKey)).Value;
            var n = ++baselineSequence;
            var key = n.ToString("D10", CultureInfo.InvariantCulture);
            var updated = Copy(read, baselineKey);
            await table.SubmitTransactionAsync(
            [
                new(TableTransactionActionType.UpdateReplace, updated, read.ETag),
                new(TableTransactionActionType.UpsertReplace, Copy(indexSample, "idx|BASELINE")),
                new(TableTransactionActionType.UpsertReplace, Copy(activeSample, "act|BASELINE")),
                new(TableTransactionActionType.Add, Copy(markerSample, "eid|BASELINE|" + key)),
                new(TableTransactionActionType.Add, Copy(eventSample, "evt|BASELINE|" + key)),
                new(TableTransactionActionType.Add, Copy(costSample, "cost|BASELINE|" + key)),
            ]);
        }
    }

    // Warm both until the JIT is done with them: tiered compilation recompiles hot methods in the
    // background for a while, which would be counted against whichever side has more code. The
    // figures below say how much JIT time still fell inside the measured rounds.
    await Baseline(20);
    for (var warm = 0; warm < WarmUpRounds; warm++)
    {
        await Ledger(perRound);
        await Baseline(perRound);
    }
    var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
    var jittedBefore = System.Runtime.JitInfo.GetCompiledMethodCount();

    var ledgerMs = new List<double>();
    var baselineMs = new List<double>();
    var ledgerBytes = new List<double>();
    var baselineBytes = new List<double>();
    var azurite = RunLedger.Bench.ProcessCpu.Azurite(args[0]);
    var self = Environment.ProcessId;
    TimeSpan ledgerCpu = default, baselineCpu = default, ledgerAzurite = default, baselineAzurite = default;
    for (var round = 0; round < rounds; round++)
    {
        var (cpu, azuriteCpu) = (RunLedger.Bench.ProcessCpu.Of(self), azurite is { } a1 ? RunLedger.Bench.ProcessCpu.Of(a1) : default);
        var (ms, bytes) = await Measure(() => Ledger(perRound));
        ledgerCpu += RunLedger.Bench.ProcessCpu.Of(self) - cpu;
        if (azurite is { } a2) ledgerAzurite += RunLedger.Bench.ProcessCpu.Of(a2) - azuriteCpu;
        ledgerMs.Add(ms / perRound);
        ledgerBytes.Add(bytes / perRound);
        (cpu, azuriteCpu) = (RunLedger.Bench.ProcessCpu.Of(self), azurite is { } a3 ? RunLedger.Bench.ProcessCpu.Of(a3) : default);
        (ms, bytes) = await Measure(() => Baseline(perRound));
        baselineCpu += RunLedger.Bench.ProcessCpu.Of(self) - cpu;
        if (azurite is { } a4) baselineAzurite += RunLedger.Bench.ProcessCpu.Of(a4) - azuriteCpu;
        baselineMs.Add(ms / perRound);
        baselineBytes.Add(bytes / perRound);
    }

    var lm = Median(ledgerMs);
    var bm = Median(baselineMs);
    var la = Median(ledgerBytes) / 1024;
    var ba = Median(baselineBytes) / 1024;
    var jit = System.Runtime.JitInfo.GetCompilationTime() - jitBefore;
    var jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jittedBefore;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"reports applied: {rounds * perRound} (+{20 + WarmUpRounds * perRound} warm-up), run document {sample.Count} properties; JIT during the measured rounds: {jitted} methods, {jit.TotalMilliseconds:F0} ms"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ledger   : {lm,8:F2} ms/report  {la,8:F1} KiB allocated/report"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline : {bm,8:F2} ms/report  {ba,8:F1} KiB allocated/report  (same storage calls, no ledger logic)"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio    : {lm / bm,8:F2} x time   {la / ba,8:F2} x allocation"));
    var reports = (double)rounds * perRound;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"CPU per report: ledger {ledgerCpu.TotalMilliseconds / reports:F2} ms here + {ledgerAzurite.TotalMilliseconds / reports:F2} ms Azurite; baseline {baselineCpu.TotalMilliseconds / reports:F2} ms here + {baselineAzurite.TotalMilliseconds / reports:F2} ms Azurite{(azurite is null ? " (Azurite's process not found)" : "")}"));

    if (args.Length > 6)
    {
        var (cold, empty) = await RunLedger.Bench.ColdStart.RunAsync(args[0], args[6], args[5], rounds);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cold start, worker launch -> first GET of a run answered 200 (median of {rounds}, {args[6]}):"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ledger   : {Median(cold),8:F0} ms under the local Functions host   ({string.Join(", ", cold.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline : {Median(empty),8:F0} ms an empty ASP.NET Core app started the same way   ({string.Join(", ", empty.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio    : {Median(cold) / Median(empty),8:F2} x"));
    }

    if (args.Length > 5)
    {
        await PrintQueueAsync(args[0], args[4], args[5], int.Parse(args[3], CultureInfo.InvariantCulture));
        await PrintStreamsAsync(args[0], args[4], args[5], streamCounts);
    }
    return 0;
}
finally
{
    await ledger.DisposeAsync();
}

// Reports applied per second through the queue trigger, against the bare storage work, and the CPU of each process per report.
static async Task PrintQueueAsync(string connectionString, string appDirectory, string hostJson, int perRun)
{
    var (queued, bare, bareWithQueue) = await RunLedger.Bench.QueueThroughput.RunAsync(connectionString, appDirectory, hostJson, perRun);
    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"queue trigger: {RunLedger.Bench.QueueThroughput.Runs} runs x {perRun} reports through the local Functions host and the worker (after {RunLedger.Bench.QueueThroughput.WarmUpReports} each to warm up)"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ledger   : {queued.PerSecond,8:F0} reports/s applied from the queue"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline : {bare.PerSecond,8:F0} reports/s (read + transaction, {RunLedger.Bench.QueueThroughput.Runs} concurrent writers; before and after the ledger: {string.Join(", ", bare.Each.Select(e => e.ToString("F0", CultureInfo.InvariantCulture)))})"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio    : {queued.PerSecond / bare.PerSecond,8:F2} x throughput"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline+: {bareWithQueue.PerSecond,8:F0} reports/s (the same plus each report's queue requests: send, delete, receives of 16; {string.Join(", ", bareWithQueue.Each.Select(e => e.ToString("F0", CultureInfo.InvariantCulture)))})"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio    : {queued.PerSecond / bareWithQueue.PerSecond,8:F2} x throughput against the storage work a queue trigger needs"));
    Console.WriteLine($"CPU per report ({Environment.ProcessorCount} cores), where the time goes:");
    foreach (var (name, figures) in new[] { ("ledger", queued), ("baseline", bare), ("baseline+", bareWithQueue) })
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-9}: {string.Join(", ", figures.Cpu.Select(c => $"{c.Process} {c.MsPerReport:F2} ms"))}; total {figures.Cpu.Where(c => !double.IsNaN(c.MsPerReport)).Sum(c => c.MsPerReport):F2} ms"));
    }
}

// Live streams on one run: the worker's table requests for them, per second, by number of streams.
static async Task PrintStreamsAsync(string connectionString, string appDirectory, string hostJson, List<int> counts)
{
    const int Reports = 30;
    var idle = TimeSpan.FromSeconds(10);
    var results = await RunLedger.Bench.StreamFanout.RunAsync(connectionString, appDirectory, hostJson, counts, Reports, idle);
    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"live streams on one run through the local Functions host and the worker: the worker's table requests for them (counted by a proxy);"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"idle {idle.TotalSeconds:F0} s, then {Reports} reports about 10/s and the final one (applied by another process, so the worker learns of them by polling)"));
    Console.WriteLine("streams | requests to join, per stream | idle: run reads/s  event queries/s | active: run reads/s  event queries/s | every event once, in order, and the end");
    foreach (var r in results)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{r.Streams,7} | {r.JoinRequestsPerStream,28:F2} | {r.IdleRunReads,18:F2} {r.IdleEventQueries,16:F2} | {r.ActiveRunReads,20:F2} {r.ActiveEventQueries,16:F2} | {r.StreamsComplete}/{r.Streams} streams got all {r.Events}{(r.Problem is null ? "" : "; " + r.Problem)}"));
    }
}

// The properties of a run row under another key of its partition (RunLedger.Bench.QueueThroughput.Copy).
static TableEntity Copy(TableEntity source, string rowKey) => RunLedger.Bench.QueueThroughput.Copy(source, source.PartitionKey, rowKey);

static async Task<(double Ms, double Bytes)> Measure(Func<Task> work)
{
    var allocated = GC.GetTotalAllocatedBytes(precise: true);
    var watch = Stopwatch.StartNew();
    await work();
    return (watch.Elapsed.TotalMilliseconds, GC.GetTotalAllocatedBytes(precise: true) - allocated);
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
