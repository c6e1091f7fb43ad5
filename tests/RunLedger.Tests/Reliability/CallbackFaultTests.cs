using System.Diagnostics;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using RunLedger.Callbacks;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// The outside probe's shape for callbacks: 50 deliveries to a receiver while 40% of the writes
/// to callback rows (outbox records, schedule entries, dead letters, delivery messages) reach
/// storage and commit but lose their answer, so the SDK sends them again; then a clean period
/// with sweeps. Every delivery must end delivered (the receiver got it, the record says so) or
/// dead-lettered with its reason; none may be left sending or pending.
/// </summary>
/// <remarks>
/// In process, so the sweep's clock can be moved on instead of waited for: the app's services run
/// against Azurite through a <see cref="FaultProxy"/>, and a loop stands in for the host's queue
/// trigger (a message whose function throws comes back; after five tries it is set aside).
/// </remarks>
[Collection(ReliabilitySuite.Name)]
public sealed class CallbackFaultTests(ITestOutputHelper output) : ComponentTest
{
    private const string Secret = "s3cr3t-0123456789-abcdef";
    private const int Deliveries = 50;
    private const int MaxAttempts = 3;
    private readonly ShiftedClock _clock = new();
    private readonly List<FaultProxy> _proxies = [];
    private CallbackReceiver? _receiver;
    private QueueClient? _queue;
    private HostLoop? _host;

    private readonly FaultPlan _plan = new(ReliabilitySuite.Seed(20261207))
    {
        ResetAfterRate = 0.4,
        Targets = CallbackWrite,
    };

    /// <summary>A write to a callback row: an outbox record, a schedule entry, a dead letter, or a delivery message.</summary>
    private static bool CallbackWrite(string method, string target)
    {
        if (method is "GET" or "HEAD") return false;
        var decoded = Uri.UnescapeDataString(target);
        return decoded.Contains("RowKey='cb|", StringComparison.Ordinal)
            || decoded.Contains("RowKey='cbb|", StringComparison.Ordinal)
            || decoded.Contains($"PartitionKey='{Keys.CallbackSchedulePartition}'", StringComparison.Ordinal)
            || decoded.Contains($"PartitionKey='{Keys.DeadLetterPartition}'", StringComparison.Ordinal)
            || (method == "POST" && decoded.Contains("/messages", StringComparison.Ordinal));
    }

    /// <summary>Real time, moved on by the test to make schedule entries overdue.</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + Offset;
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var azurite = await Azurite.GetAsync();
        _proxies.Add(new FaultProxy(azurite.TablePort, _plan, json: true));
        _proxies.Add(new FaultProxy(azurite.QueuePort, _plan, json: false));
        foreach (var proxy in _proxies) proxy.Start();
        _receiver = await CallbackReceiver.StartAsync();
        App.With("AzureWebJobsStorage",
                $"DefaultEndpointsProtocol=http;AccountName={Azurite.AccountName};AccountKey={Azurite.AccountKey};" +
                $"QueueEndpoint=http://127.0.0.1:{_proxies[1].Port}/{Azurite.AccountName};TableEndpoint=http://127.0.0.1:{_proxies[0].Port}/{Azurite.AccountName};")
            .With("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
            .With("RunLedger:CallbackRetryDelay", "00:00:00.200")
            .With("RunLedger:CallbackMaxRetryDelay", "00:00:00.400")
            .With("RunLedger:CallbackMaxAttempts", MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("RunLedger:CallbackTimeout", "00:00:02");
        App.Clock = _clock;
        App.ConfigureServices = services =>
        {
            // The SDK's retries as the app sets them (five), sooner apart, to keep the test short.
            services.AddAzureClients(clients => clients.ConfigureDefaults(options =>
            {
                options.Retry.Delay = TimeSpan.FromMilliseconds(50);
                options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
            }));
        };
        // The test's own view of the callbacks queue goes to Azurite directly.
        _queue = new QueueClient(azurite.ConnectionString, App.CallbacksQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
    }

    public override async Task DisposeAsync()
    {
        _plan.Enabled = false;
        await base.DisposeAsync();
        foreach (var proxy in _proxies) await proxy.DisposeAsync();
        if (_receiver is not null) await _receiver.DisposeAsync();
    }

    /// <summary>How a delivery's receiver answers: most take it at once, some fail once, some never take it.</summary>
    private static (string Kind, Func<int, (int, TimeSpan)> Respond) Receiver(int i) => (i % 5) switch
    {
        0 => ("fails once", attempt => (attempt == 1 ? 500 : 200, TimeSpan.Zero)),
        1 => ("always 503", _ => (503, TimeSpan.Zero)),
        _ => ("takes it", _ => (200, TimeSpan.Zero)),
    };

    [Fact]
    public async Task WithFortyPercentOfCallbackWritesLosingTheirAnswerEveryDeliveryEndsDeliveredOrDeadLetteredWithItsReason()
    {
        var figures = new Figures("callback-faults", output);
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
        var clock = Stopwatch.StartNew();
        var runs = new List<(string RunId, string Path, string Kind)>();
        for (var i = 0; i < Deliveries; i++)
        {
            var (kind, respond) = Receiver(i);
            var path = $"/d{i}";
            var body = new JsonObject
            {
                ["projectId"] = "p1",
                ["config"] = new JsonObject
                {
                    ["callbacks"] = new JsonArray(new JsonObject
                    {
                        ["url"] = _receiver!.Url(path, Secret, respond), ["events"] = new JsonArray("completed"), ["secret"] = Secret,
                    }),
                },
            };
            runs.Add(((string)(await StartAsync(body.ToJsonString()))["runId"]!, path, kind));
        }
        figures.Line($"{Deliveries} runs started at {clock.Elapsed.TotalSeconds:F1} s; seed {ReliabilitySuite.Seed(20261207)}; {Deliveries} deliveries ({string.Join(", ", runs.GroupBy(r => r.Kind).Select(g => $"{g.Count()} {g.Key}"))}), " +
                     $"at most {MaxAttempts} attempts; {_plan.ResetAfterRate:P0} of the writes to callback rows lose their answer after committing");

        using var stop = new CancellationTokenSource();
        var host = _host = new HostLoop(_queue!, App.Get<CallbackDelivery>(), _clock);
        var hosting = host.RunAsync(stop.Token);

        _plan.Enabled = true;
        var patcher = App.Get<RunPatcher>();
        var done = RunRules.ValidatePatch(new JsonObject { ["status"] = "completed" });
        await Parallel.ForEachAsync(runs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (run, ct) =>
            await patcher.PatchAsync("p1", run.RunId, done, null, ct));
        figures.Line($"runs completed at {clock.Elapsed.TotalSeconds:F1} s");
        await DrainedAsync(TimeSpan.FromSeconds(60));
        _plan.Enabled = false;
        figures.Line($"faulty period over at {clock.Elapsed.TotalSeconds:F1} s: {host.Handled} messages handled, {host.Failed} threw (retried), {host.Poisoned} set aside");
        foreach (var error in host.Errors.Take(5)) figures.Line($"  threw: {error}");
        figures.Counts("storage requests through the proxies and faults injected", _plan.Counts);
        var strandedAfterFaults = (await RecordsAsync()).Count(r => (string?)r["state"] is OutboxFields.Sending or OutboxFields.Pending);
        figures.Line($"records sending or pending when the faults stopped: {strandedAfterFaults}");

        // The clean period: the sweep's clock moves on (as the timer would find them, minutes later), three times.
        var delivery = App.Get<CallbackDelivery>();
        for (var round = 1; round <= 3; round++)
        {
            _clock.Offset += TimeSpan.FromMinutes(10);
            int resent, total = 0;
            while ((resent = await delivery.SweepAsync(default)) > 0) total += resent;
            await DrainedAsync(TimeSpan.FromSeconds(20));
            figures.Line($"sweep round {round} at {clock.Elapsed.TotalSeconds:F1} s: {total} deliveries re-sent");
        }
        await stop.CancelAsync();
        await hosting;

        var records = (await RecordsAsync()).ToDictionary(r => (string)r["body"]!["runId"]!);
        var letters = (await App.Get<DeadLetters>().ListAsync(1000, null, default)).Items;
        var entries = await App.Storage.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Keys.CallbackSchedulePartition}")).CountAsync();
        var states = records.Values.GroupBy(r => (string)r["state"]!).ToDictionary(g => g.Key, g => g.Count());
        var duplicates = runs.Sum(r => Math.Max(0, _receiver!.For(r.Path).Count - records[r.RunId]["history"]!.AsArray().Count));
        figures.Counts("records by state", states.OrderBy(s => s.Key, StringComparer.Ordinal));
        figures.Line($"dead letters: {letters.Count}; schedule entries left: {entries}; posts the receiver got beyond the attempts recorded: {duplicates}; " +
                     $"messages set aside after five failures: {host.Poisoned}; done at {clock.Elapsed.TotalSeconds:F1} s");

        Assert.True(_plan.Count("resetAfterWrite") >= 50, $"only {_plan.Count("resetAfterWrite")} answers were lost");
        Assert.Equal(Deliveries, records.Count);
        foreach (var (runId, path, kind) in runs)
        {
            var record = records[runId];
            var state = (string)record["state"]!;
            var deliveryId = (string)record["deliveryId"]!;
            var received = _receiver!.For(path);
            if (kind == "always 503")
            {
                Assert.True(state == OutboxFields.DeadLettered, $"{path} ({kind}) is {state}");
                var letter = Assert.Single(letters, l => (string)l["messageId"]! == deliveryId);
                Assert.Equal("run-callbacks", (string)letter["source"]!);
                Assert.Contains($"Every one of {MaxAttempts} attempts failed", (string)letter["reason"]!, StringComparison.Ordinal);
                Assert.True(received.Count >= 1, $"{path} was never posted");
            }
            else
            {
                Assert.True(state == OutboxFields.Delivered, $"{path} ({kind}) is {state} after {(int)record["attempts"]!} attempts");
                Assert.DoesNotContain(letters, l => (string)l["messageId"]! == deliveryId);
                // (Signatures are not checked here: the sweep's clock runs ahead of the receiver's.)
                Assert.Contains(received, d => d.DeliveryId == deliveryId);
                Assert.All(received, d => Assert.Equal(deliveryId, d.DeliveryId));
            }
        }
        Assert.Equal(0, entries);
    }

    private async Task<List<JsonObject>> RecordsAsync()
    {
        var items = await App.Get<CallbackOutbox>().ShowRangeAsync("p1", "cb|", "cb}", default);
        return [.. items.Select(i => i!.AsObject())];
    }

    /// <summary>Waits until the callbacks queue holds nothing, visible or not, for a moment.</summary>
    private async Task DrainedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var emptySince = (DateTime?)null;
        while (true)
        {
            if ((await _queue!.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0)
            {
                emptySince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - emptySince > TimeSpan.FromSeconds(1)) return;
            }
            else
            {
                emptySince = null;
            }
            Assert.True(DateTime.UtcNow < deadline,
                $"the callbacks queue did not drain; the host loop handled {_host?.Handled} messages, {_host?.Failed} threw (first: {_host?.Errors.FirstOrDefault()})");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Stands in for the host's queue trigger: takes messages, runs the delivery function on each
    /// (sixteen at once), deletes a message when the function returns, and lets it come back soon
    /// when it throws; after five tries a message is set aside, as the host moves it to poison.
    /// </summary>
    private sealed class HostLoop(QueueClient queue, CallbackDelivery delivery, TimeProvider clock)
    {
        private int _handled, _failed, _poisoned;

        public int Handled => Volatile.Read(ref _handled);
        public int Failed => Volatile.Read(ref _failed);
        public int Poisoned => Volatile.Read(ref _poisoned);

        /// <summary>Sixteen functions at once, as the host's batch size lets run.</summary>
        public Task RunAsync(CancellationToken stop) => Task.WhenAll(Enumerable.Range(0, 16).Select(_ => WorkAsync(stop)));

        private async Task WorkAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                Azure.Storage.Queues.Models.QueueMessage? message;
                try
                {
                    message = (await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(60), stop)).Value;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                if (message is null)
                {
                    await Task.Delay(100, CancellationToken.None);
                    continue;
                }
                try
                {
                    await delivery.HandleAsync(message.Body.ToString(), message.MessageId, message.InsertedOn ?? clock.GetUtcNow(), message.DequeueCount, CancellationToken.None);
                    Interlocked.Increment(ref _handled);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref _failed);
                    Errors.Enqueue(e.GetType().Name + ": " + e.Message.Split('\n')[0]);
                    if (message.DequeueCount < 5)
                    {
                        await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.FromMilliseconds(200), cancellationToken: CancellationToken.None);
                        continue;
                    }
                    Interlocked.Increment(ref _poisoned);
                }
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
            }
        }

        public System.Collections.Concurrent.ConcurrentQueue<string> Errors { get; } = new();
    }
}
