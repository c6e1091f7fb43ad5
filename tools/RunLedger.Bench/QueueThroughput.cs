using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using FunctionsHost;
using FunctionsHost.Testing;
using RunLedger.Progress;
using RunLedger.Runs;

namespace RunLedger.Bench;

/// <summary>
/// Reports applied per second through the AgentProgress queue trigger (the local Functions host
/// and the real worker, host.json's queue settings), 16 runs at once, next to the bare
/// Azure.Data.Tables work per report (a point read and a five-action transaction) by 16
/// concurrent writers on the same Azurite.
/// </summary>
public static class QueueThroughput
{
    public const int Runs = 16;

    public static async Task<(double Ledger, double Baseline, double QueueBaseline)> RunAsync(string connectionString, string appDirectory, string hostJson, int reportsPerRun)
    {
        await using var bench = await BenchLedger.CreateAsync(connectionString, "benchq");
        var storage = bench.Storage;
        var runs = bench.Get<RunStore>();
        var runIds = Enumerable.Range(0, Runs).Select(i => $"RUN_Q{i:D2}").ToList();
        foreach (var runId in runIds) await bench.StartRunAsync("bench", runId);
        // Runs take turns, as 16 pipelines reporting side by side do. Agents keep the queue fed
        // but never more than a few batches deep, as with live progress, so what is measured is
        // the steady rate of applying, not draining a backlog (Azurite slows as a queue grows long).
        var messages = Enumerable.Range(1, reportsPerRun).SelectMany(i => runIds.Select(runId => $$$"""
            {"projectId":"bench","runId":"{{{runId}}}","eventId":"{{{runId}}}-{{{i}}}","agent":"voice","status":"running",
             "message":"step {{{i}}}","progress":{{{i % 100}}},"usage":{"model":"gpt-4o","inputTokens":{{{1000 + i}}},"outputTokens":350}}
            """)).ToList();

        double ledger;
        await using (var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions
        {
            AppDirectory = appDirectory,
            HostJsonPath = hostJson,
            Settings = bench.AppSettings,
        }))
        {
            var start = Stopwatch.GetTimestamp();
            foreach (var batch in messages.Chunk(Runs))
            {
                while ((await storage.Progress.GetPropertiesAsync()).Value.ApproximateMessagesCount >= 3 * Runs)
                {
                    await Task.Delay(20);
                }
                await Task.WhenAll(batch.Select(text => storage.Progress.SendMessageAsync(text)));
            }
            await harness.WaitForQueueDrainedAsync(storage.Progress.Name, TimeSpan.FromMinutes(10));
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            ledger = await AppliedAsync(runs, runIds) / elapsed;
        }

        var baseline = await BaselineAsync(storage.Table, null, reportsPerRun);
        var queueBaseline = await BaselineAsync(storage.Table, storage.Jobs, reportsPerRun);
        return (ledger, baseline, queueBaseline);
    }

    private static async Task<long> AppliedAsync(RunStore runs, List<string> runIds)
    {
        long total = 0;
        foreach (var runId in runIds) total += (await runs.GetAsync("bench", runId, default))!.EventCount;
        return total;
    }

    /// <summary>
    /// 16 writers in one partition (as the ledger's 16 runs of one project), each reading its row
    /// and writing it back with four new rows in one transaction.
    /// </summary>
    /// <remarks>
    /// With <paramref name="queue"/>, each report also makes the queue requests a queue trigger
    /// costs in storage (send, receive, delete), so the ratio shows what the host, the worker and
    /// the ledger add beyond the storage work itself.
    /// </remarks>
    private static async Task<double> BaselineAsync(TableClient table, Azure.Storage.Queues.QueueClient? queue, int reportsPerRun)
    {
        var payload = new byte[600];
        var start = Stopwatch.GetTimestamp();
        await Parallel.ForAsync(0, Runs, new ParallelOptions { MaxDegreeOfParallelism = Runs }, async (writer, ct) =>
        {
            var partition = queue is null ? "baseline" : "queuebaseline";
            var w = writer.ToString("D2", CultureInfo.InvariantCulture);
            await table.UpsertEntityAsync(new TableEntity(partition, "run|" + w) { ["Doc0"] = payload }, cancellationToken: ct);
            for (var n = 1; n <= reportsPerRun; n++)
            {
                Azure.Storage.Queues.Models.QueueMessage? message = null;
                if (queue is not null)
                {
                    await queue.SendMessageAsync("{}", ct);
                    message = (await queue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(1), ct)).Value.FirstOrDefault();
                }
                var read = (await table.GetEntityAsync<TableEntity>(partition, "run|" + w, cancellationToken: ct)).Value;
                var key = w + "|" + n.ToString("D10", CultureInfo.InvariantCulture);
                await table.SubmitTransactionAsync(
                [
                    new(TableTransactionActionType.UpdateReplace, new TableEntity(partition, "run|" + w) { ["Doc0"] = payload, ["N"] = n }, read.ETag),
                    new(TableTransactionActionType.UpsertReplace, new TableEntity(partition, "idx|" + w) { ["Doc0"] = payload }),
                    new(TableTransactionActionType.Add, new TableEntity(partition, "eid|" + key) { ["Seq"] = n }),
                    new(TableTransactionActionType.Add, new TableEntity(partition, "evt|" + key) { ["Doc0"] = payload }),
                    new(TableTransactionActionType.Add, new TableEntity(partition, "cost|" + key) { ["Doc0"] = payload }),
                ], ct);
                if (message is not null) await queue!.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
            }
        });
        return Runs * reportsPerRun / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
