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
public sealed class CallbacksFunctions(CallbackDelivery delivery, CallbackOutbox outbox, RunStore runs, TimeProvider clock)
{
    public const string DeliverFunctionName = "DeliverCallback";
    public const string SweepFunctionName = "SweepCallbacks";

    [Function(DeliverFunctionName)]
    public async Task DeliverCallback(
        [QueueTrigger("%RunLedger__CallbacksQueue%", Connection = "AzureWebJobsStorage")] string message,
        FunctionContext context, CancellationToken cancellationToken)
    {
        var (messageId, dequeueCount, insertedAt) = QueueMessageInfo.From(context, clock);
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
        await runs.GetExistingAsync(projectId, runId, cancellationToken);
        var (from, to) = Keys.CallbackRange(runId);
        var items = await outbox.ShowRangeAsync(projectId, from, to, cancellationToken);
        return TypedResults.Ok(CallbackUrls.ForReader(request, new JsonObject { ["projectId"] = projectId, ["runId"] = runId, ["items"] = items }));
    }
}
