using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using FunctionsHost;
using FunctionsHost.Testing;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Runs;

namespace RunLedger.Bench;

/// <summary>
/// Reports applied per second through the AgentProgress queue trigger (the local Functions host
/// and the real worker, host.json's queue settings), 16 runs at once, next to the bare
/// Azure.Data.Tables work per report (a point read and a six-action transaction: the ledger's rows) by 16
/// concurrent writers on the same Azurite; with the CPU each process spent per report.
/// </summary>
public static class QueueThroughput
{
    public const int Runs = 16;

    /// <summary>Reports per second, and CPU milliseconds per report of each process that did the work.</summary>
    public sealed record Figures(double PerSecond, IReadOnlyList<(string Process, double MsPerReport)> Cpu)
    {
        /// <summary>For a mean, each measurement's reports per second.</summary>
        public IReadOnlyList<double> Each { get; init; } = [PerSecond];
    }

    /// <summary>CPU used by each named process from now until <see cref="PerReport"/>.</summary>
    private sealed class CpuMeter((string Name, int? Pid)[] processes)
    {
        private readonly TimeSpan[] _start = [.. processes.Select(p => p.Pid is { } pid ? ProcessCpu.Of(pid) : TimeSpan.Zero)];

        public List<(string Process, double MsPerReport)> PerReport(double reports) =>
            [.. processes.Select((p, i) => (p.Name, p.Pid is { } pid ? (ProcessCpu.Of(pid) - _start[i]).TotalMilliseconds / reports : double.NaN))];
    }

    public static async Task<(Figures Ledger, Figures Baseline, Figures QueueBaseline)> RunAsync(string connectionString, string appDirectory, string hostJson, int reportsPerRun)
    {
        var azurite = ProcessCpu.Azurite(connectionString);
        await using var bench = await BenchLedger.CreateAsync(connectionString, "benchq");
        var storage = bench.Storage;
        var runs = bench.Get<RunStore>();
        var runIds = Enumerable.Range(0, Runs).Select(i => $"RUN_Q{i:D2}").ToList();
        foreach (var runId in runIds) await bench.StartRunAsync("bench", runId);
        // Runs take turns, as 16 pipelines reporting side by side do. Agents keep the queue fed
        // but never more than a few batches deep, as with live progress, so what is measured is
        // the steady rate of applying, not draining a backlog (Azurite slows as a queue grows long).
        // Before measuring, each run takes WarmUpReports (its first report, which starts it, among
        // them): the host and the worker are new processes whose JIT would otherwise be measured.
        var messages = Enumerable.Range(1, WarmUpReports + reportsPerRun).SelectMany(i => runIds.Select(runId => $$$"""
            {"projectId":"bench","runId":"{{{runId}}}","eventId":"{{{runId}}}-{{{i}}}","agent":"voice","status":"running",
             "message":"step {{{i}}}","progress":{{{i % 100}}},"usage":{"model":"gpt-4o","inputTokens":{{{1000 + i}}},"outputTokens":350}}
            """)).ToList();

        Figures ledger;
        var baselines = new List<Figures>();
        var queueBaselines = new List<Figures>();
        await using (var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions
        {
            AppDirectory = appDirectory,
            HostJsonPath = hostJson,
            Settings = bench.AppSettings,
        }))
        {
            var worker = ProcessCpu.Children(Environment.ProcessId)
                .FirstOrDefault(pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains("RunLedger", StringComparison.Ordinal));
            async Task FeedAsync(IEnumerable<string> reports)
            {
                foreach (var batch in reports.Chunk(Runs))
                {
                    while ((await storage.Progress.GetPropertiesAsync()).Value.ApproximateMessagesCount >= 3 * Runs)
                    {
                        await Task.Delay(50);
                    }
                    await Task.WhenAll(batch.Select(text => storage.Progress.SendMessageAsync(text)));
                }
                await harness.WaitForQueueDrainedAsync(storage.Progress.Name, TimeSpan.FromMinutes(10));
            }
            await FeedAsync(messages.Take(WarmUpReports * Runs));
            var warm = await AppliedAsync(runs, runIds);

            // The baselines write copies of the rows the ledger wrote for a report, each in a table
            // (and queue) of its own, warmed like the ledger's: Azurite slows as a table grows. They
            // run before and after the ledger is measured, and their mean is the baseline, since
            // Azurite also slows over a run.
            var rows = await LedgerRows.ReadAsync(storage.Table, runIds[0], WarmUpReports, messages[^1]);
            baselines.Add(await BaselineOnItsOwnAsync(connectionString, "bare1", queued: false, rows, azurite, reportsPerRun));
            queueBaselines.Add(await BaselineOnItsOwnAsync(connectionString, "queued1", queued: true, rows, azurite, reportsPerRun));

            var cpu = new CpuMeter([("host and agents (this process)", Environment.ProcessId), ("worker", worker == 0 ? null : worker), ("Azurite", azurite)]);
            var start = Stopwatch.GetTimestamp();
            await FeedAsync(messages.Skip(WarmUpReports * Runs));
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var applied = await AppliedAsync(runs, runIds) - warm;
            ledger = new(applied / elapsed, cpu.PerReport(applied));

            baselines.Add(await BaselineOnItsOwnAsync(connectionString, "bare2", queued: false, rows, azurite, reportsPerRun));
            queueBaselines.Add(await BaselineOnItsOwnAsync(connectionString, "queued2", queued: true, rows, azurite, reportsPerRun));
        }
        return (ledger, Mean(baselines), Mean(queueBaselines));
    }

    private static Figures Mean(List<Figures> figures) => new(
        figures.Average(f => f.PerSecond),
        [.. figures[0].Cpu.Select((c, i) => (c.Process, figures.Average(f => f.Cpu[i].MsPerReport)))])
    {
        Each = [.. figures.Select(f => f.PerSecond)],
    };

    /// <summary>A baseline in a new table (and, <paramref name="queued"/>, a new queue), warmed, then measured; both deleted after.</summary>
    private static async Task<Figures> BaselineOnItsOwnAsync(
        string connectionString, string name, bool queued, LedgerRows rows, int? azurite, int reportsPerRun)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var table = new TableClient(connectionString, "baseline" + name + suffix);
        // A queue per writer, so that no writer takes another's messages (and waits for its own).
        var queues = queued
            ? Enumerable.Range(0, Runs).Select(w => new Azure.Storage.Queues.QueueClient(connectionString, $"baseline-{name}-{suffix}-{w}",
                new Azure.Storage.Queues.QueueClientOptions { MessageEncoding = Azure.Storage.Queues.QueueMessageEncoding.Base64 })).ToList()
            : null;
        await table.CreateIfNotExistsAsync();
        foreach (var queue in queues ?? []) await queue.CreateIfNotExistsAsync();
        try
        {
            await BaselineAsync(table, queues, rows, "warm", WarmUpReports);
            return await MeasureAsync(() => BaselineAsync(table, queues, rows, "", reportsPerRun), azurite, Runs * reportsPerRun);
        }
        finally
        {
            await table.DeleteAsync();
            foreach (var queue in queues ?? []) await queue.DeleteAsync();
        }
    }

    /// <summary>Reports per run applied (and baseline rounds made) before measuring.</summary>
    public const int WarmUpReports = 200;

    private static async Task<Figures> MeasureAsync(Func<Task<double>> run, int? azurite, double reports)
    {
        var cpu = new CpuMeter([("client (this process)", Environment.ProcessId), ("Azurite", azurite)]);
        var perSecond = await run();
        return new(perSecond, cpu.PerReport(reports));
    }

    private static async Task<long> AppliedAsync(RunStore runs, List<string> runIds)
    {
        long total = 0;
        foreach (var runId in runIds) total += (await runs.GetAsync("bench", runId, default))!.EventCount;
        return total;
    }

    /// <summary>The rows the ledger wrote for a run's last report, every column: what the baseline writes, under its own keys.</summary>
    private sealed record LedgerRows(TableEntity Run, TableEntity Index, TableEntity Active, TableEntity Marker, TableEntity Event, TableEntity Cost)
    {
        /// <summary>A queue message of a report's size.</summary>
        public string MessageText { get; init; } = "";

        public static async Task<LedgerRows> ReadAsync(TableClient table, string runId, int sequence, string messageText)
        {
            async Task<TableEntity> Row(string rowKey) => (await table.GetEntityAsync<TableEntity>("bench", rowKey)).Value;
            var run = await Row(Keys.RunRow(runId));
            var active = await table.GetEntityIfExistsAsync<TableEntity>("bench", Keys.ActiveRow(runId));
            return new(run, await Row(run.GetString("IndexRow")!),
                active.HasValue ? active.Value! : new TableEntity("bench", Keys.ActiveRow(runId)) { ["RunId"] = runId },
                await Row(Keys.EventIdRow(runId, $"{runId}-{sequence}")), await Row(Keys.EventRow(runId, sequence)), await Row(Keys.CostRow(runId, sequence)))
            {
                MessageText = messageText,
            };
        }
    }

    /// <summary>
    /// 16 writers in one partition (as the ledger's 16 runs of one project), each reading its row
    /// and writing it back with its index and active rows and three new rows in one transaction:
    /// copies of the rows the ledger wrote, so the storage work is the ledger's.
    /// </summary>
    /// <remarks>
    /// With <paramref name="queues"/> (one per writer), each report also makes the queue requests a queue trigger
    /// costs in storage (its send and delete, and a share of a receive of up to 16), so the ratio
    /// shows what the host, the worker and the ledger add beyond the storage work itself.
    /// </remarks>
    private static async Task<double> BaselineAsync(TableClient table, List<Azure.Storage.Queues.QueueClient>? queues, LedgerRows rows, string round, int reportsPerRun)
    {
        var start = Stopwatch.GetTimestamp();
        await Parallel.ForAsync(0, Runs, new ParallelOptions { MaxDegreeOfParallelism = Runs }, async (writer, ct) =>
        {
            var partition = "baseline" + round;
            var queue = queues?[writer];
            var w = writer.ToString("D2", CultureInfo.InvariantCulture);
            await table.UpsertEntityAsync(Copy(rows.Run, partition, "run|" + w), cancellationToken: ct);
            var received = new Queue<Azure.Storage.Queues.Models.QueueMessage>();
            for (var n = 1; n <= reportsPerRun; n++)
            {
                Azure.Storage.Queues.Models.QueueMessage? message = null;
                if (queue is not null)
                {
                    // As the trigger does: messages are received up to a batch (16) at a time, each sent and deleted on its own.
                    if (received.Count == 0)
                    {
                        var batch = Math.Min(16, reportsPerRun - n + 1);
                        await Task.WhenAll(Enumerable.Range(0, batch).Select(_ => queue.SendMessageAsync(rows.MessageText, ct)));
                        while (received.Count < batch)
                        {
                            foreach (var m in (await queue.ReceiveMessagesAsync(batch - received.Count, TimeSpan.FromMinutes(1), ct)).Value) received.Enqueue(m);
                        }
                    }
                    message = received.Dequeue();
                }
                var read = (await table.GetEntityAsync<TableEntity>(partition, "run|" + w, cancellationToken: ct)).Value;
                var key = w + "|" + n.ToString("D10", CultureInfo.InvariantCulture);
                try
                {
                    await table.SubmitTransactionAsync(
                    [
                        new(TableTransactionActionType.UpdateReplace, Copy(read, partition, "run|" + w), read.ETag),
                        new(TableTransactionActionType.UpsertReplace, Copy(rows.Index, partition, "idx|" + w)),
                        new(TableTransactionActionType.UpsertReplace, Copy(rows.Active, partition, "act|" + w)),
                        new(TableTransactionActionType.Add, Copy(rows.Marker, partition, "eid|" + key)),
                        new(TableTransactionActionType.Add, Copy(rows.Event, partition, "evt|" + key)),
                        new(TableTransactionActionType.Add, Copy(rows.Cost, partition, "cost|" + key)),
                    ], ct);
                }
                catch (TableTransactionFailedException e) when (e.Status == 412)
                {
                    // The SDK sent it again after a lost answer (a busy Azurite): fine if the first try had committed.
                    if (!(await table.GetEntityIfExistsAsync<TableEntity>(partition, "eid|" + key, cancellationToken: ct)).HasValue) throw;
                }
                if (message is not null)
                {
                    try
                    {
                        await queue!.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
                    }
                    catch (Azure.RequestFailedException e) when (e.Status == 404)
                    {
                        // Sent again by the SDK after a lost answer: the first try deleted it.
                    }
                }
            }
        });
        return Runs * reportsPerRun / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>The columns of <paramref name="source"/> under other keys (its own keys and ETag stay behind): a baseline's copy of a ledger row.</summary>
    public static TableEntity Copy(TableEntity source, string partition, string rowKey)
    {
        var copy = new TableEntity(partition, rowKey);
        foreach (var (name, value) in source)
        {
            if (name is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")) copy[name] = value;
        }
        return copy;
    }
}
