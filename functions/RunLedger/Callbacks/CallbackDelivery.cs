using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Runs;

namespace RunLedger.Callbacks;

/// <summary>
/// Delivers outbox records, one attempt per queue message, at least once. Each attempt claims the
/// record (ETag compare-and-swap on its row, so two messages for one attempt send once), POSTs,
/// and records the outcome on the row. A failed attempt is retried by a new message that stays
/// invisible for the back-off delay (not through the host's poison path); after
/// <see cref="LedgerOptions.CallbackMaxAttempts"/> attempts, or at once when the target is
/// refused, the record is dead-lettered with the reason.
/// </summary>
/// <remarks>
/// Each record not yet finished has one entry in the schedule partition, keyed by when it is due
/// (its next attempt; while an attempt is under way, the end of its lease). A message lost after
/// a commit, or an attempt whose worker died, leaves an entry that becomes overdue: the sweep
/// (<see cref="SweepAsync"/>) reads only entries due more than <see cref="SweepAge"/> ago, in key
/// order, at most <see cref="SweepBatch"/> a run, and re-sends those. Entries whose record is
/// finished, moved on to an entry that exists, or was never committed are deleted as they are met;
/// an entry is never deleted while its record is unfinished and has no other.
/// Every write of a record carries a new <see cref="OutboxFields.WriteId"/>: when the SDK retries a
/// write whose answer was lost and the retry fails its ETag (412) on that very write, the record
/// carries our id, and the write counts as done (<see cref="TryUpdateAsync"/>).
/// </remarks>
public sealed partial class CallbackDelivery(
    LedgerStorage storage, CallbackSender sender, DeadLetters deadLetters, IOptions<LedgerOptions> options,
    TimeProvider clock, ILogger<CallbackDelivery> logger)
{
    public const string Source = "run-callbacks";

    /// <summary>How overdue an entry must be before the sweep takes it for lost.</summary>
    public static readonly TimeSpan SweepAge = TimeSpan.FromMinutes(1);

    /// <summary>An entry older than this whose record does not exist belongs to a transaction that never committed.</summary>
    public static readonly TimeSpan OrphanAge = TimeSpan.FromMinutes(10);

    public const int SweepBatch = 100;

    private TableClient Table => storage.Table;
    private LedgerOptions Options => options.Value;

    /// <summary>How long a claimed attempt owns its record before the sweep may retry it.</summary>
    private TimeSpan Lease => Options.CallbackTimeout + SweepAge;

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1: doubling from the retry delay, capped.</summary>
    public static TimeSpan Backoff(LedgerOptions options, int attempt)
    {
        var ticks = options.CallbackRetryDelay.Ticks * Math.Pow(2, Math.Min(attempt - 1, 30));
        return ticks >= options.CallbackMaxRetryDelay.Ticks ? options.CallbackMaxRetryDelay : TimeSpan.FromTicks((long)ticks);
    }

    public async Task HandleAsync(string text, string messageId, DateTimeOffset insertedAt, long dequeueCount, CancellationToken cancellationToken)
    {
        if (Parse(text) is not var (projectId, key, attempt))
        {
            await deadLetters.RecordAsync("Not a callback delivery message: a JSON object with projectId, key (an outbox row) and attempt (1 or more) is expected.",
                text, Source, messageId, insertedAt, dequeueCount, cancellationToken);
            return;
        }
        var row = await Table.FindAsync(projectId, key, cancellationToken);
        if (row is null)
        {
            LogMissing(logger, projectId, key);
            return;
        }
        var state = row.GetString(OutboxFields.State);
        var done = row.GetInt32(OutboxFields.Attempts) ?? 0;
        if (state is OutboxFields.Delivered or OutboxFields.DeadLettered || attempt != done + 1)
        {
            // Finished, or this attempt was taken by another message (a sweep's re-send): nothing to do.
            return;
        }

        var now = clock.GetUtcNow();
        var history = row.GetString(OutboxFields.History) is { } h ? JsonNode.Parse(h)!.AsArray() : [];
        if (attempt > Options.CallbackMaxAttempts)
        {
            await FinishAsync(row, OutboxFields.DeadLettered, history, now,
                $"Every one of {Options.CallbackMaxAttempts} attempts failed; the last: {row.GetString(OutboxFields.LastOutcome)}.", cancellationToken);
            return;
        }

        // Claim the attempt: only one message may send it.
        var claimedKey = Keys.ScheduleRow(now + Lease, projectId, key);
        var previousKey = row.GetString(OutboxFields.ScheduleKey);
        await Table.UpsertEntityAsync(CallbackOutbox.ScheduleEntry(claimedKey), TableUpdateMode.Replace, cancellationToken);
        row[OutboxFields.State] = OutboxFields.Sending;
        row[OutboxFields.Attempts] = attempt;
        row[OutboxFields.LastAttemptAt] = now;
        row[OutboxFields.ScheduleKey] = claimedKey;
        if (!await TryUpdateAsync(row, cancellationToken))
        {
            await DeleteEntryAsync(claimedKey, cancellationToken);
            return;
        }
        if (previousKey is not null && previousKey != claimedKey) await DeleteEntryAsync(previousKey, cancellationToken);

        var url = row.GetString(OutboxFields.Url)!;
        var secret = await SecretAsync(row, url, cancellationToken);
        if (secret is null)
        {
            await FinishAsync(row, OutboxFields.DeadLettered, history, now,
                "The callback's secret is no longer there (the run's secrets row, or for budget alerts the callback in the project's config, is gone or changed).",
                cancellationToken);
            return;
        }
        var body = DocumentColumns.Read(row, OutboxFields.BodyPrefix).ToJsonString();
        var eventName = row.GetString(OutboxFields.Event)!;
        var deliveryId = row.GetString(OutboxFields.DeliveryId)!;
        var result = await sender.SendAsync(url, eventName, deliveryId, secret, body, cancellationToken);

        var finished = clock.GetUtcNow();
        history.Add(new JsonObject
        {
            ["attempt"] = attempt,
            ["at"] = RunRules.Timestamp(now),
            ["status"] = result.Status,
            ["outcome"] = result.Outcome,
            ["durationMs"] = result.Milliseconds,
        });
        row[OutboxFields.LastOutcome] = result.Outcome;
        if (result.Excerpt is not null) row[OutboxFields.ResponseExcerpt] = result.Excerpt;
        else row.Remove(OutboxFields.ResponseExcerpt);
        LogAttempt(logger, projectId, key, attempt, result.Outcome);

        if (result.Delivered)
        {
            row[OutboxFields.DeliveredAt] = finished;
            await FinishAsync(row, OutboxFields.Delivered, history, finished, null, cancellationToken);
        }
        else if (result.Refused)
        {
            await FinishAsync(row, OutboxFields.DeadLettered, history, finished, $"The callback target was refused: {result.Outcome}", cancellationToken);
        }
        else if (attempt >= Options.CallbackMaxAttempts)
        {
            await FinishAsync(row, OutboxFields.DeadLettered, history, finished,
                $"Every one of {Options.CallbackMaxAttempts} attempts failed; the last: {result.Outcome}.", cancellationToken);
        }
        else
        {
            var delay = Backoff(Options, attempt);
            var due = finished + delay;
            var nextKey = Keys.ScheduleRow(due, projectId, key);
            await Table.UpsertEntityAsync(CallbackOutbox.ScheduleEntry(nextKey), TableUpdateMode.Replace, cancellationToken);
            row[OutboxFields.State] = OutboxFields.Pending;
            row[OutboxFields.NextAttemptAt] = due;
            row[OutboxFields.ScheduleKey] = nextKey;
            row[OutboxFields.History] = history.ToJsonString();
            if (!await TryUpdateAsync(row, cancellationToken))
            {
                await DeleteEntryAsync(nextKey, cancellationToken);
                return;
            }
            await DeleteEntryAsync(claimedKey, cancellationToken);
            await SendAsync(projectId, key, attempt + 1, delay, cancellationToken);
        }
    }

    private async Task<string?> SecretAsync(TableEntity row, string url, CancellationToken cancellationToken)
    {
        var index = row.GetInt32(OutboxFields.CallbackIndex) ?? -1;
        if (row.GetString(OutboxFields.RunId) is { } runId)
        {
            var secrets = await Table.FindAsync(row.PartitionKey, Keys.CallbackSecretsRow(runId), cancellationToken);
            return secrets?.GetString("Secrets") is { } json && JsonNode.Parse(json) is JsonArray list && index >= 0 && index < list.Count
                && list[index] is JsonValue v && v.TryGetValue(out string? secret) ? secret : null;
        }
        var config = await Table.FindAsync(row.PartitionKey, Keys.ConfigRow, cancellationToken);
        return config is null ? null : CallbackConfig.Secret(DocumentColumns.Read(config), index, url);
    }

    private async Task FinishAsync(TableEntity row, string state, JsonArray history, DateTimeOffset now, string? deadReason, CancellationToken cancellationToken)
    {
        var scheduleKey = row.GetString(OutboxFields.ScheduleKey);
        row[OutboxFields.State] = state;
        row[OutboxFields.History] = history.ToJsonString();
        row.Remove(OutboxFields.NextAttemptAt);
        if (deadReason is not null) row[OutboxFields.LastOutcome] = deadReason;
        if (!await TryUpdateAsync(row, cancellationToken)) return;
        // The dead letter before the entry: should it fail, the sweep meets the entry and records it.
        if (deadReason is not null) await RecordDeadLetterAsync(row, deadReason, now, cancellationToken);
        if (scheduleKey is not null) await DeleteEntryAsync(scheduleKey, cancellationToken);
    }

    /// <summary>The dead letter of a dead-lettered record (keyed by the record: recording it again overwrites it).</summary>
    private async Task RecordDeadLetterAsync(TableEntity row, string deadReason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var letter = new JsonObject
        {
            ["projectId"] = row.PartitionKey,
            ["runId"] = row.GetString(OutboxFields.RunId),
            ["event"] = row.GetString(OutboxFields.Event),
            ["deliveryId"] = row.GetString(OutboxFields.DeliveryId),
            ["attempts"] = row.GetInt32(OutboxFields.Attempts),
            ["body"] = DocumentColumns.Read(row, OutboxFields.BodyPrefix),
        };
        await deadLetters.RecordAsync(deadReason, letter.ToJsonString(), Source, row.GetString(OutboxFields.DeliveryId)!,
            row.GetDateTimeOffset(OutboxFields.CreatedAt) ?? now, row.GetInt32(OutboxFields.Attempts) ?? 0, cancellationToken);
    }

    /// <summary>
    /// Replaces the row if nobody changed it since it was read; false when someone did. A 412 on
    /// a row that carries this write's id is our own write, committed by an attempt whose answer
    /// was lost and refused when the SDK sent it again: done, with the row's new ETag.
    /// </summary>
    private async Task<bool> TryUpdateAsync(TableEntity row, CancellationToken cancellationToken)
    {
        var writeId = Guid.NewGuid().ToString("N");
        row[OutboxFields.WriteId] = writeId;
        try
        {
            var response = await Table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
            row.ETag = response.Headers.ETag ?? default;
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            var stored = await Table.FindAsync(row.PartitionKey, row.RowKey, cancellationToken);
            if (stored?.GetString(OutboxFields.WriteId) != writeId) return false;
            row.ETag = stored.ETag;
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    private async Task DeleteEntryAsync(string scheduleKey, CancellationToken cancellationToken)
    {
        try
        {
            await Table.DeleteEntityAsync(Keys.CallbackSchedulePartition, scheduleKey, ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    private async Task SendAsync(string projectId, string key, int attempt, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await storage.Callbacks.SendMessageAsync(CallbackOutbox.Message(projectId, key, attempt), delay, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (StorageFailure.IsStorage(e) || StorageFailure.IsTransient(e))
        {
            // The schedule entry stands: the sweep sends it once it is overdue.
            LogSendFailed(logger, projectId, key, attempt);
        }
    }

    /// <summary>
    /// Re-sends deliveries whose message was lost or whose worker died: the schedule entries due
    /// more than <see cref="SweepAge"/> ago, oldest first, at most <see cref="SweepBatch"/>.
    /// Safe to run twice or concurrently (each move is an ETag compare-and-swap on the record).
    /// </summary>
    /// <returns>How many deliveries it re-sent.</returns>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {Keys.CallbackSchedulePartition} and RowKey lt {Keys.ScheduleBound(now - SweepAge)}");
        var (entries, _) = await TablePaging.ReadAsync(Table, filter, SweepBatch, null, cancellationToken);
        var resent = 0;
        foreach (var entry in entries)
        {
            if (Keys.ParseScheduleRow(entry.RowKey) is not var (due, projectId, key))
            {
                await DeleteEntryAsync(entry.RowKey, cancellationToken);
                continue;
            }
            var row = await Table.FindAsync(projectId, key, cancellationToken);
            if (row is null)
            {
                if (due < now - OrphanAge) await DeleteEntryAsync(entry.RowKey, cancellationToken);
                continue;
            }
            var state = row.GetString(OutboxFields.State);
            var current = row.GetString(OutboxFields.ScheduleKey);
            if (state is OutboxFields.Delivered or OutboxFields.DeadLettered)
            {
                // Finished. A dead-lettered record whose entry is still there may have lost its letter.
                if (state == OutboxFields.DeadLettered && current == entry.RowKey)
                {
                    await RecordDeadLetterAsync(row, row.GetString(OutboxFields.LastOutcome) ?? "The callback was dead-lettered.", now, cancellationToken);
                }
                await DeleteEntryAsync(entry.RowKey, cancellationToken);
                continue;
            }
            if (current != entry.RowKey && current is not null
                && await Table.FindAsync(Keys.CallbackSchedulePartition, current, cancellationToken) is not null)
            {
                // The record moved on to an entry that exists: this one is left over.
                await DeleteEntryAsync(entry.RowKey, cancellationToken);
                continue;
            }
            // This entry is the only one the unfinished record has: it is re-sent, never dropped.
            var attempt = (row.GetInt32(OutboxFields.Attempts) ?? 0) + 1;
            var nextKey = Keys.ScheduleRow(now + Lease, projectId, key);
            await Table.UpsertEntityAsync(CallbackOutbox.ScheduleEntry(nextKey), TableUpdateMode.Replace, cancellationToken);
            row[OutboxFields.State] = OutboxFields.Pending;
            row[OutboxFields.ScheduleKey] = nextKey;
            if (!await TryUpdateAsync(row, cancellationToken))
            {
                await DeleteEntryAsync(nextKey, cancellationToken);
                continue;
            }
            await DeleteEntryAsync(entry.RowKey, cancellationToken);
            await SendAsync(projectId, key, attempt, TimeSpan.Zero, cancellationToken);
            LogResent(logger, projectId, key, attempt);
            resent++;
        }
        return resent;
    }

    private static (string ProjectId, string Key, int Attempt)? Parse(string text)
    {
        try
        {
            if (JsonNode.Parse(text) is JsonObject m
                && m["projectId"] is JsonValue p && p.TryGetValue(out string? projectId) && Keys.IsValidId(projectId)
                && m["key"] is JsonValue k && k.TryGetValue(out string? key) && Keys.IsOutboxRow(key)
                && m["attempt"] is JsonValue a && a.TryGetValue(out int attempt) && attempt >= 1)
            {
                return (projectId, key, attempt);
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return null;
    }

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Callback {RowKey} of project {ProjectId}, attempt {Attempt}: {Outcome}")]
    private static partial void LogAttempt(ILogger logger, string projectId, string rowKey, int attempt, string outcome);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Callback message names {RowKey} of project {ProjectId}, which does not exist")]
    private static partial void LogMissing(ILogger logger, string projectId, string rowKey);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Callback {RowKey} of project {ProjectId}: attempt {Attempt} not queued; the sweep will send it")]
    private static partial void LogSendFailed(ILogger logger, string projectId, string rowKey, int attempt);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Callback {RowKey} of project {ProjectId} was overdue; attempt {Attempt} re-sent")]
    private static partial void LogResent(ILogger logger, string projectId, string rowKey, int attempt);
}
