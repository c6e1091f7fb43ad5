using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Callbacks;

/// <summary>One callback to deliver, as written to the outbox in the transaction of the change that raised it.</summary>
public sealed record CallbackRecord(
    string ProjectId, string RowKey, string Event, string Url, int CallbackIndex, string? RunId,
    JsonObject Body, DateTimeOffset CreatedAt, string ScheduleKey) : IOutboxRecord
{
    /// <summary>The delivery id receivers de-duplicate by: a hash of the project and the outbox row, the same on every attempt.</summary>
    public string DeliveryId => DeliveryIdOf(ProjectId, RowKey);

    public static string DeliveryIdOf(string projectId, string rowKey) => Keys.Hash(projectId + "|" + rowKey);

    public TableEntity ToEntity()
    {
        var entity = new TableEntity(ProjectId, RowKey)
        {
            [OutboxFields.Event] = Event,
            [OutboxFields.Url] = Url,
            [OutboxFields.CallbackIndex] = CallbackIndex,
            [OutboxFields.DeliveryId] = DeliveryId,
            [OutboxFields.State] = OutboxFields.Pending,
            [OutboxFields.Attempts] = 0,
            [OutboxFields.CreatedAt] = CreatedAt,
            [OutboxFields.NextAttemptAt] = CreatedAt,
            [OutboxFields.ScheduleKey] = ScheduleKey,
        };
        if (RunId is not null) entity[OutboxFields.RunId] = RunId;
        DocumentColumns.Write(entity, Body, OutboxFields.BodyPrefix);
        return entity;
    }
}

/// <summary>The outbox row's properties and states.</summary>
public static class OutboxFields
{
    public const string Event = "Event";
    public const string Url = "Url";
    public const string CallbackIndex = "CallbackIndex";
    public const string RunId = "RunId";
    public const string DeliveryId = "DeliveryId";
    public const string State = "State";
    public const string Attempts = "Attempts";
    public const string CreatedAt = "CreatedAt";
    public const string NextAttemptAt = "NextAttemptAt";
    public const string LastAttemptAt = "LastAttemptAt";
    public const string DeliveredAt = "DeliveredAt";
    public const string LastOutcome = "LastOutcome";
    public const string ResponseExcerpt = "ResponseExcerpt";
    public const string History = "History";
    public const string ScheduleKey = "ScheduleKey";

    /// <summary>
    /// A fresh id on every write of the record, so a write whose answer was lost, retried by the
    /// SDK and refused on its own ETag (412), is known for the success it was.
    /// </summary>
    public const string WriteId = "WriteId";
    public const string BodyPrefix = "Body";

    /// <summary>Waiting for its next attempt.</summary>
    public const string Pending = "pending";

    /// <summary>An attempt is under way (or its worker died; the sweep retries it once its lease is over).</summary>
    public const string Sending = "sending";

    public const string Delivered = "delivered";

    /// <summary>Given up: refused target, or every attempt failed; the reason is in the dead letters.</summary>
    public const string DeadLettered = "deadLettered";
}

/// <summary>
/// The transactional outbox of completion callbacks. A change that raises an event (a run becoming
/// final or stale, a budget threshold crossed) adds one record per matching callback to its own
/// entity-group transaction, under a deterministic row key, so a retried save or a redelivered
/// report can never add two. Before that transaction, each record gets an entry in the schedule
/// partition (<see cref="Keys.CallbackSchedulePartition"/>); after it, a message on the callbacks
/// queue. Should that message be lost, the sweep finds the entry once it is overdue.
/// </summary>
/// <summary>
/// What a run's final callback says of its project's budget this month (null without a budget):
/// implemented by the budgets feature, which sits above callbacks.
/// </summary>
public interface IBudgetView
{
    Task<JsonObject?> ShowAsync(string projectId, CancellationToken cancellationToken);
}

public sealed partial class CallbackOutbox(LedgerStorage storage, IBudgetView budgets, TimeProvider clock, ILogger<CallbackOutbox> logger) : IRunOutbox
{
    /// <summary>The outbox records between two row keys, as shown to readers: never a secret.</summary>
    public async Task<JsonArray> ShowRangeAsync(string projectId, string from, string to, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey ge {from} and RowKey lt {to}");
        var items = new JsonArray();
        await foreach (var row in storage.Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            items.Add(Show(row));
        }
        return items;
    }

    public static JsonObject Show(TableEntity row)
    {
        string? Time(string name) => row.GetDateTimeOffset(name) is { } t ? RunRules.Timestamp(t) : null;
        return new JsonObject
        {
            ["deliveryId"] = row.GetString(OutboxFields.DeliveryId),
            ["event"] = row.GetString(OutboxFields.Event),
            ["url"] = row.GetString(OutboxFields.Url),
            ["state"] = row.GetString(OutboxFields.State),
            ["attempts"] = row.GetInt32(OutboxFields.Attempts) ?? 0,
            ["createdAt"] = Time(OutboxFields.CreatedAt),
            ["lastAttemptAt"] = Time(OutboxFields.LastAttemptAt),
            ["nextAttemptAt"] = row.GetString(OutboxFields.State) == OutboxFields.Pending ? Time(OutboxFields.NextAttemptAt) : null,
            ["deliveredAt"] = Time(OutboxFields.DeliveredAt),
            ["lastOutcome"] = row.GetString(OutboxFields.LastOutcome),
            ["responseExcerpt"] = row.GetString(OutboxFields.ResponseExcerpt),
            ["history"] = row.GetString(OutboxFields.History) is { } h ? JsonNode.Parse(h) : new JsonArray(),
            ["body"] = DocumentColumns.Read(row, OutboxFields.BodyPrefix),
        };
    }


    /// <summary>
    /// The records a save of <paramref name="run"/> raises (<paramref name="change"/>): it became
    /// final, or stale. A final event carries the money (<see cref="Money"/>): one point read of the
    /// project's budget row, unless the save itself changes it (<see cref="RunRecord.BudgetAfterSave"/>).
    /// </summary>
    public async Task<IReadOnlyList<CallbackRecord>> ForRunChangeAsync(RunRecord run, RunChange change, CancellationToken cancellationToken)
    {
        var events = new List<(string Event, string Key)>();
        if (change.BecameFinal) events.Add((run.Status, run.Status));
        if (change.BecameStale) events.Add((CallbackConfig.Stale, FormattableString.Invariant($"{CallbackConfig.Stale}.{run.Version}")));
        if (events.Count == 0) return [];
        var callbacks = CallbackConfig.Read(run.Document["configSnapshot"]);
        if (callbacks.Count == 0) return [];

        var now = clock.GetUtcNow();
        var money = change.BecameFinal && callbacks.Any(c => c.Events.Contains(run.Status))
            ? Money(run, run.BudgetAfterSave ?? await budgets.ShowAsync(run.ProjectId, cancellationToken))
            : null;
        var records = new List<CallbackRecord>();
        foreach (var (name, key) in events)
        {
            foreach (var callback in callbacks.Where(c => c.Events.Contains(name)))
            {
                var rowKey = Keys.CallbackRow(run.RunId, key, callback.Index);
                var body = new JsonObject
                {
                    ["event"] = name,
                    ["deliveryId"] = CallbackRecord.DeliveryIdOf(run.ProjectId, rowKey),
                    ["occurredAt"] = RunRules.Timestamp(now),
                    ["projectId"] = run.ProjectId,
                    ["runId"] = run.RunId,
                    ["run"] = Summary(run),
                };
                if (name == run.Status && money is not null) body["money"] = money.DeepClone();
                records.Add(new CallbackRecord(run.ProjectId, rowKey, name, callback.Url, callback.Index, run.RunId, body, now,
                    Keys.ScheduleRow(now, run.ProjectId, rowKey)));
            }
        }
        return records;
    }

    /// <summary>A budget alert's record for one callback.</summary>
    public CallbackRecord ForBudget(string projectId, string month, string threshold, CallbackConfig.Callback callback, JsonObject alert)
    {
        var now = clock.GetUtcNow();
        var rowKey = Keys.BudgetCallbackRow(month, threshold, callback.Index);
        var body = new JsonObject
        {
            ["event"] = CallbackConfig.Budget,
            ["deliveryId"] = CallbackRecord.DeliveryIdOf(projectId, rowKey),
            ["occurredAt"] = RunRules.Timestamp(now),
            ["projectId"] = projectId,
            ["budget"] = alert.DeepClone(),
        };
        return new CallbackRecord(projectId, rowKey, CallbackConfig.Budget, callback.Url, callback.Index, null, body, now,
            Keys.ScheduleRow(now, projectId, rowKey));
    }

    /// <summary>Longest text field a callback body carries: a run's message may be large, and up to ten records share one transaction (4 MiB).</summary>
    public const int MaxTextField = 2000;

    /// <summary>
    /// What a final run cost, for a scenario to branch on: its exact cost, its invoice total (cost
    /// plus markup, in cents) and, when the project has a budget, the month's spend and what remains.
    /// </summary>
    private static JsonObject Money(RunRecord run, JsonObject? budget) => new()
    {
        ["currency"] = "USD",
        ["costUsd"] = Costs.Money.Exact((long?)run.Document["totalCostMicros"] ?? 0),
        ["costMicros"] = (long?)run.Document["totalCostMicros"] ?? 0,
        ["invoiceTotal"] = run.Document["invoice"]?["total"]?.DeepClone(),
        ["markupRate"] = run.Document["invoice"]?["markupRate"]?.DeepClone(),
        ["budget"] = budget?.DeepClone(),
    };

    private static JsonObject Summary(RunRecord run)
    {
        var summary = new JsonObject();
        foreach (var name in RunStore.IndexFields)
        {
            if (run.Document[name] is not { } value) continue;
            summary[name] = value is JsonValue v && v.TryGetValue(out string? text) && text.Length > MaxTextField
                ? text[..(char.IsHighSurrogate(text[MaxTextField - 1]) ? MaxTextField - 1 : MaxTextField)] + "…"
                : value.DeepClone();
        }
        return summary;
    }

    async Task<IReadOnlyList<IOutboxRecord>> IRunOutbox.ForRunChangeAsync(RunRecord run, RunChange change, CancellationToken cancellationToken) =>
        await ForRunChangeAsync(run, change, cancellationToken);

    Task IRunOutbox.ScheduleAsync(IReadOnlyList<IOutboxRecord> records, CancellationToken cancellationToken) =>
        ScheduleAsync([.. records.Cast<CallbackRecord>()], cancellationToken);

    Task IRunOutbox.EnqueueAsync(IReadOnlyList<IOutboxRecord> records, CancellationToken cancellationToken) =>
        EnqueueAsync([.. records.Cast<CallbackRecord>()], cancellationToken);

    /// <summary>Writes the records' schedule entries; done before the transaction that adds the records.</summary>
    public async Task ScheduleAsync(IReadOnlyList<CallbackRecord> records, CancellationToken cancellationToken)
    {
        foreach (var chunk in records.Chunk(100))
        {
            await storage.Table.SubmitTransactionAsync(
                chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ScheduleEntry(r.ScheduleKey))),
                cancellationToken);
        }
    }

    public static TableEntity ScheduleEntry(string scheduleKey) => new(Keys.CallbackSchedulePartition, scheduleKey);

    /// <summary>
    /// Sends a delivery message per record, after their transaction committed. A failure here is
    /// only logged: the change is made, and the sweep sends what was not sent.
    /// </summary>
    public async Task EnqueueAsync(IReadOnlyList<CallbackRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            try
            {
                await storage.Callbacks.SendMessageAsync(Message(record.ProjectId, record.RowKey, 1), cancellationToken);
            }
            catch (Exception e) when (StorageFailure.IsStorage(e) || StorageFailure.IsTransient(e))
            {
                LogEnqueueFailed(logger, record.ProjectId, record.RowKey, e.GetType().Name);
            }
        }
    }

    /// <summary>The delivery message: which record, and which attempt it is for.</summary>
    public static string Message(string projectId, string rowKey, int attempt) =>
        new JsonObject { ["projectId"] = projectId, ["key"] = rowKey, ["attempt"] = attempt }.ToJsonString();

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Callback {RowKey} of project {ProjectId} was recorded but not queued ({Error}); the sweep will send it")]
    private static partial void LogEnqueueFailed(ILogger logger, string projectId, string rowKey, string error);
}
