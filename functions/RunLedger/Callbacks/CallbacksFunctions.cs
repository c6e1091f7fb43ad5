using RunLedger.Access;
using System.Globalization;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Ledger;
using RunLedger.Runs;
using RunLedger.Http;

namespace RunLedger.Callbacks;

/// <summary>
/// Completion callbacks: delivery, the sweep for lost messages, and what was delivered.
/// <code>
/// queue %RunLedger__CallbacksQueue%                  DeliverCallback    one attempt per message
/// timer every minute                                 SweepCallbacks     re-sends overdue deliveries
/// GET   projects/{projectId}/runs/{runId}/callbacks  ListRunCallbacks   deliveries, attempts, outcomes
/// </code>
/// </summary>
public sealed class CallbacksFunctions(CallbackDelivery delivery, RunStore runs, LedgerStorage storage, TimeProvider clock)
{
    public const string DeliverFunctionName = "DeliverCallback";
    public const string SweepFunctionName = "SweepCallbacks";

    [Function(DeliverFunctionName)]
    public async Task DeliverCallback(
        [QueueTrigger("%RunLedger__CallbacksQueue%", Connection = "AzureWebJobsStorage")] string message,
        FunctionContext context, CancellationToken cancellationToken)
    {
        var (messageId, dequeueCount, insertedAt) = Hosting.QueueMessageInfo.From(context, clock);
        await delivery.HandleAsync(message, messageId, insertedAt, dequeueCount, cancellationToken);
    }

    /// <summary>Every minute: deliveries whose queue message was lost, or whose worker died mid-attempt.</summary>
    [Function(SweepFunctionName)]
    public Task SweepCallbacks([TimerTrigger("0 * * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        delivery.SweepAsync(cancellationToken);

    [Function("ListRunCallbacks")]
    [Access(Need.Read)]
    [Answers(200, "CallbackList")]
    [Problems(400, 404, 503)]
    public async Task<IResult> ListRunCallbacks(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/runs/{runId}/callbacks")] HttpRequest request,
        string projectId, string runId, CancellationToken cancellationToken)
    {
        await RunsFunctions.FindAsync(runs, projectId, runId, cancellationToken);
        var (from, to) = Keys.CallbackRange(runId);
        var items = await ListAsync(storage.Table, projectId, from, to, cancellationToken);
        return TypedResults.Ok(CallbackUrls.ForReader(request, new JsonObject { ["projectId"] = projectId, ["runId"] = runId, ["items"] = items }));
    }

    /// <summary>The outbox records between two row keys, as shown to readers: never a secret.</summary>
    public static async Task<JsonArray> ListAsync(TableClient table, string projectId, string from, string to, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {projectId} and RowKey ge {from} and RowKey lt {to}");
        var items = new JsonArray();
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
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
}
