using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Callbacks;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Callbacks;

/// <summary>
/// A write to a callback's outbox row that reached storage and committed, whose answer was lost:
/// the SDK sends it again, and the retry fails its ETag on our own write. Each step of a delivery
/// (the claim, the reschedule after a failed attempt, the finishing write, the sweep's re-send)
/// must take that as done, so the delivery goes on to delivered or dead-lettered with its reason;
/// and the sweep never drops the one schedule entry a delivery still has.
/// </summary>
public sealed class CallbackLostReplyTests : ComponentTest
{
    private const string Secret = "s3cr3t-0123456789-abcdef";
    private readonly FixedClock _clock = new(DateTimeOffset.UtcNow);
    private readonly LoseOutboxAnswers _faults = new();
    private CallbackReceiver? _receiver;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _receiver = await CallbackReceiver.StartAsync();
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
            .With("RunLedger:CallbackRetryDelay", "00:00:00.100")
            .With("RunLedger:CallbackMaxRetryDelay", "00:00:00.200")
            .With("RunLedger:CallbackTimeout", "00:00:02");
        App.Clock = _clock;
        App.WithStoragePolicy(_faults, HttpPipelinePosition.PerRetry);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_receiver is not null) await _receiver.DisposeAsync();
    }

    private CallbackDelivery Delivery => App.Get<CallbackDelivery>();

    /// <summary>A run of p1 with one callback to <paramref name="path"/>, completed: its delivery is recorded and queued.</summary>
    private async Task<string> CompletedRunAsync(string path, Func<int, (int, TimeSpan)>? respond = null)
    {
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
        var runId = (string)(await StartAsync(body.ToJsonString()))["runId"]!;
        await App.Get<RunPatcher>().PatchAsync("p1", runId, RunRules.ValidatePatch(new JsonObject { ["status"] = "completed" }), null, default);
        return runId;
    }

    /// <summary>As the host does: runs the delivery function on each message until the queue is empty (delayed retries included).</summary>
    private async Task DeliverAllAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await App.Storage.Callbacks.CountAsync() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the callbacks queue did not drain");
            foreach (var message in (await App.Storage.Callbacks.ReceiveMessagesAsync(32)).Value)
            {
                await Delivery.HandleAsync(message.Body.ToString(), message.MessageId, message.InsertedOn ?? _clock.Now, message.DequeueCount, default);
                await App.Storage.Callbacks.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
            await Task.Delay(50);
        }
    }

    private async Task<JsonObject> RecordAsync(string runId) =>
        Assert.Single((await LedgerComponents.BodyAsync(App.Functions<CallbacksFunctions>().ListRunCallbacks(LedgerComponents.Request(), "p1", runId, default)))["items"]!.AsArray())!.AsObject();

    private async Task<List<string>> ScheduleEntriesAsync() =>
        await App.Storage.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Keys.CallbackSchedulePartition}"))
            .Select(e => e.RowKey).ToListAsync();

    [Fact]
    public async Task AClaimWhoseCommittedWriteIsRetriedStillSendsTheAttempt()
    {
        var runId = await CompletedRunAsync("/claim");

        _faults.LoseNext(skip: 0);
        await DeliverAllAsync();

        Assert.Equal(1, _faults.Lost);
        var record = await RecordAsync(runId);
        Assert.Equal("delivered", (string)record["state"]!);
        Assert.Equal(1, (int)record["attempts"]!);
        Assert.Single(_receiver!.For("/claim"));
        Assert.Empty(await ScheduleEntriesAsync());
    }

    [Fact]
    public async Task ARescheduleWhoseCommittedWriteIsRetriedStillQueuesTheNextAttempt()
    {
        var runId = await CompletedRunAsync("/retry", attempt => (attempt == 1 ? 500 : 200, TimeSpan.Zero));

        _faults.LoseNext(skip: 1); // the claim passes; the write that makes the record pending again loses its answer
        await DeliverAllAsync();

        Assert.Equal(1, _faults.Lost);
        var record = await RecordAsync(runId);
        Assert.Equal("delivered", (string)record["state"]!);
        Assert.Equal(2, (int)record["attempts"]!);
        Assert.Equal([500, 200], record["history"]!.AsArray().Select(h => (int)h!["status"]!));
        Assert.Equal(2, _receiver!.For("/retry").Count);
        Assert.Empty(await ScheduleEntriesAsync());
    }

    [Fact]
    public async Task AFinishingWriteThatDeadLettersWhoseAnswerWasLostStillRecordsTheDeadLetter()
    {
        App.With("RunLedger:CallbackMaxAttempts", "1");
        var runId = await CompletedRunAsync("/down", _ => (503, TimeSpan.Zero));

        _faults.LoseNext(skip: 1); // the claim passes; the write that dead-letters the record loses its answer
        await DeliverAllAsync();

        Assert.Equal(1, _faults.Lost);
        var record = await RecordAsync(runId);
        Assert.Equal("deadLettered", (string)record["state"]!);
        var (letters, _) = await App.Get<DeadLetters>().ListAsync(10, null, default);
        var letter = Assert.Single(letters);
        Assert.Equal("run-callbacks", (string)letter["source"]!);
        Assert.Equal((string)record["deliveryId"]!, (string)letter["messageId"]!);
        Assert.Contains("Every one of 1 attempts failed; the last: HTTP 503", (string)letter["reason"]!, StringComparison.Ordinal);
        Assert.Empty(await ScheduleEntriesAsync());
    }

    [Fact]
    public async Task ASweepWhoseCommittedWriteIsRetriedStillResendsTheDelivery()
    {
        var runId = await CompletedRunAsync("/swept");
        await App.Storage.Callbacks.ClearMessagesAsync();
        _clock.Now += CallbackDelivery.SweepAge + TimeSpan.FromSeconds(1);

        _faults.LoseNext(skip: 0);
        Assert.Equal(1, await Delivery.SweepAsync(default));
        await DeliverAllAsync();

        Assert.Equal(1, _faults.Lost);
        Assert.Equal("delivered", (string)(await RecordAsync(runId))["state"]!);
        Assert.Single(_receiver!.For("/swept"));
        Assert.Empty(await ScheduleEntriesAsync());
    }

    [Fact]
    public async Task TheSweepKeepsAndResendsTheOnlyEntryOfADeliveryWhoseRecordNamesAMissingOne()
    {
        // As a lost answer left records before write ids: the record claimed (sending, pointing
        // at an entry that is gone), its older entry still there.
        var runId = await CompletedRunAsync("/stranded");
        await App.Storage.Callbacks.ClearMessagesAsync();
        var key = Keys.CallbackRow(runId, "completed", 0);
        var row = (await App.Storage.Table.GetEntityAsync<TableEntity>("p1", key)).Value;
        row[OutboxFields.State] = OutboxFields.Sending;
        row[OutboxFields.Attempts] = 1;
        row[OutboxFields.ScheduleKey] = Keys.ScheduleRow(_clock.Now + TimeSpan.FromSeconds(70), "p1", key);
        await App.Storage.Table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
        Assert.Single(await ScheduleEntriesAsync());

        _clock.Now += TimeSpan.FromMinutes(10);
        Assert.Equal(1, await Delivery.SweepAsync(default));
        await DeliverAllAsync();

        var record = await RecordAsync(runId);
        Assert.Equal("delivered", (string)record["state"]!);
        Assert.Equal(2, (int)record["attempts"]!);
        Assert.Single(_receiver!.For("/stranded"));
        Assert.Empty(await ScheduleEntriesAsync());
    }

    [Fact]
    public async Task TheSweepRecordsTheDeadLetterOfARecordDeadLetteredWithoutOne()
    {
        // As a worker that died between the finishing write and the dead letter: the record is
        // dead-lettered with its reason, its schedule entry is still there, the letter is not.
        var runId = await CompletedRunAsync("/died");
        await App.Storage.Callbacks.ClearMessagesAsync();
        var key = Keys.CallbackRow(runId, "completed", 0);
        var row = (await App.Storage.Table.GetEntityAsync<TableEntity>("p1", key)).Value;
        row[OutboxFields.State] = OutboxFields.DeadLettered;
        row[OutboxFields.Attempts] = 3;
        row[OutboxFields.LastOutcome] = "Every one of 3 attempts failed; the last: HTTP 503.";
        await App.Storage.Table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        _clock.Now += TimeSpan.FromMinutes(10);
        Assert.Equal(0, await Delivery.SweepAsync(default));

        var (letters, _) = await App.Get<DeadLetters>().ListAsync(10, null, default);
        var letter = Assert.Single(letters);
        Assert.Equal((string)(await RecordAsync(runId))["deliveryId"]!, (string)letter["messageId"]!);
        Assert.Equal("Every one of 3 attempts failed; the last: HTTP 503.", (string)letter["reason"]!);
        Assert.Empty(await ScheduleEntriesAsync());
        Assert.Empty(_receiver!.For("/died"));
    }

    /// <summary>
    /// Lets a chosen write to an outbox row (a PUT on <c>cb|…</c>) reach storage, then fails as if
    /// the connection dropped before the answer; the SDK then sends it again.
    /// </summary>
    private sealed class LoseOutboxAnswers : HttpPipelinePolicy
    {
        private int _skip = -1;
        private int _lost;

        public int Lost => Volatile.Read(ref _lost);

        /// <summary>Loses the answer of the outbox write after the next <paramref name="skip"/> ones.</summary>
        public void LoseNext(int skip) => Volatile.Write(ref _skip, skip);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            if (message.Request.Method != RequestMethod.Put
                || !Uri.UnescapeDataString(message.Request.Uri.Path).Contains("RowKey='cb|", StringComparison.Ordinal)
                || Volatile.Read(ref _skip) < 0)
            {
                return;
            }
            if (Interlocked.Decrement(ref _skip) == -1)
            {
                Interlocked.Increment(ref _lost);
                throw new IOException("Connection reset after the request was sent (injected).");
            }
        }
    }
}
