using RunLedger.Access;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// Agent progress: reports in, history and live events out.
/// <code>
/// queue %RunLedger__ProgressQueue%                  AgentProgress     reports from agents (base64 JSON)
/// POST  projects/{projectId}/runs/{runId}/progress  PostProgress      the same report over HTTP
/// GET   projects/{projectId}/runs/{runId}/events    GetRunEvents      JSON pages, or Server-Sent Events
/// GET   deadletters                                 ListDeadLetters   reports that could never be applied
/// </code>
/// </summary>
public sealed class ProgressFunctions(
    ProgressHandler handler, QueueProcessor processor, RunStore runs, EventStore events, LiveRuns live,
    DeadLetters deadLetters, IOptions<LedgerOptions> options, TimeProvider clock, HostQueueSettings queueSettings)
{
    public const int DefaultEventPage = 100;

    /// <summary>
    /// The queue trigger. Malformed reports become dead letters and complete; a report whose run
    /// does not exist yet, or that met a storage failure, throws, so the host retries it and after
    /// <c>maxDequeueCount</c> tries moves it to the poison queue.
    /// </summary>
    [Function(QueueProcessor.FunctionName)]
    public async Task AgentProgress(
        [QueueTrigger("%RunLedger__ProgressQueue%", Connection = "AzureWebJobsStorage")] string message,
        FunctionContext context, CancellationToken cancellationToken)
    {
        var (messageId, dequeueCount, insertedAt) = QueueMessageInfo.From(context, clock);

        if (await processor.ProcessAsync(message, messageId, insertedAt, dequeueCount, cancellationToken) is { } retryBecause)
        {
            if (dequeueCount >= queueSettings.MaxDequeueCount)
            {
                await processor.RecordPoisonedAsync(retryBecause, message, messageId, insertedAt, dequeueCount,
                    options.Value.ProgressQueue + "-poison", cancellationToken);
            }
            throw new ReportNotAppliedException(messageId, retryBecause);
        }
    }

    /// <summary>
    /// For agents that cannot reach the queue: the same report, through the same handler. The
    /// event id comes from the body, else the Idempotency-Key header, else it is new.
    /// </summary>
    [Function("PostProgress")]
    [Access(Need.Write)]
    [Body("ProgressReport"), RequestHeader("Idempotency-Key")]
    [Answers(202, "ProgressAccepted", Headers = ["Location"], When = "Applied; Location is the run's events.")]
    [Answers(200, "ProgressDuplicate", When = "Applied before (the same event id); nothing changed.")]
    [Problems(400, 404, 413, 415, 503)]
    public async Task<IResult> PostProgress(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "projects/{projectId}/runs/{runId}/progress")] HttpRequest request,
        string projectId, string runId, CancellationToken cancellationToken)
    {
        RouteIds.CheckRun(projectId, runId);
        var body = await JsonBody.ReadObjectAsync(request, cancellationToken);
        foreach (var (name, value) in new[] { ("projectId", projectId), ("runId", runId) })
        {
            var given = JsonBody.OptionalString(body, name);
            if (given is not null && given != value)
            {
                throw LedgerException.BadRequest($"'{name}' in the body ('{given}') differs from the URL ('{value}').");
            }
            body[name] = value;
        }
        var idempotencyKey = request.Headers.TryGetValue("Idempotency-Key", out var key) ? key.ToString() : null;
        var report = ProgressReport.Parse(body, idempotencyKey ?? Guid.NewGuid().ToString(), clock.GetUtcNow());
        var (outcome, sequence, runStatus) = await handler.ApplyAsync(report, cancellationToken);
        // runStatus tells the agent where the run stands: once it is cancelled (or otherwise final), stop.
        return outcome switch
        {
            ReportOutcome.RunNotFound => throw LedgerException.NotFound($"Run '{runId}' does not exist in project '{projectId}'."),
            ReportOutcome.Duplicate => TypedResults.Ok(new JsonObject { ["eventId"] = report.EventId, ["duplicate"] = true, ["runStatus"] = runStatus }),
            _ => TypedResults.Accepted(RunIds.StatusPath(projectId, runId) + "/events",
                new JsonObject { ["eventId"] = report.EventId, ["seq"] = sequence, ["duplicate"] = false, ["runStatus"] = runStatus }),
        };
    }

    /// <summary>The run's history: Server-Sent Events when asked for, else a JSON page.</summary>
    [Function("GetRunEvents")]
    [Access(Need.Read)]
    [Query("after"), Query("limit", Maximum = EventStore.MaxPageSize, Default = DefaultEventPage), RequestHeader("Last-Event-ID")]
    [Answers(200, "EventPage", When = "A page of the run's history; with Accept: text/event-stream, its events live (Server-Sent Events: id is the sequence number, event progress or end), until the run is final or a time limit.")]
    [Answers(200, ContentType = "text/event-stream")]
    [Answers(204, When = "Accept: text/event-stream on a final run whose events were all sent: EventSource stops.")]
    [Problems(400, 404, 503)]
    public async Task<IResult> GetRunEvents(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/runs/{runId}/events")] HttpRequest request,
        string projectId, string runId, CancellationToken cancellationToken)
    {
        if (request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            // A run this instance already streams needs no read to join: its poller read it within the second.
            RouteIds.CheckRun(projectId, runId);
            var known = live.Peek(projectId, runId) ?? LiveState.Of(await runs.GetExistingAsync(projectId, runId, cancellationToken));
            await ServerSentEvents.WriteAsync(request.HttpContext, projectId, runId, known, From(request), live, events, options.Value, cancellationToken);
            return TypedResults.Empty;
        }

        await runs.GetExistingAsync(projectId, runId, cancellationToken);
        var from = From(request);
        var pageSize = QueryValues.Limit(request.Query["limit"], DefaultEventPage, EventStore.MaxPageSize);
        var (items, more) = await events.ListAsync(projectId, runId, from, pageSize, cancellationToken);
        long? next = more ? (long)items[^1]["seq"]! : null;
        return TypedResults.Ok(new JsonObject
        {
            ["items"] = new JsonArray([.. items]),
            ["next"] = next,
        });
    }

    [Function("ListDeadLetters")]
    [Access(Need.Admin)]
    [Query("limit", Maximum = QueryValues.MaxPageSize, Default = QueryValues.DefaultPageSize), Query("continuationToken")]
    [Answers(200, "DeadLetterList")]
    [Problems(400, 503)]
    public async Task<IResult> ListDeadLetters(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "deadletters")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var pageSize = QueryValues.Limit(request.Query["limit"], QueryValues.DefaultPageSize, QueryValues.MaxPageSize);
        string? after = null;
        if ((string?)request.Query["continuationToken"] is { } token)
        {
            after = ContinuationTokens.Decode(token, Keys.IsDeadLetterRow)
                ?? throw LedgerException.BadRequest("'continuationToken' is not one this service issued.");
        }
        var (items, next) = await deadLetters.ListAsync(pageSize, after, cancellationToken);
        return TypedResults.Ok(new JsonObject
        {
            ["items"] = new JsonArray([.. items]),
            ["continuationToken"] = next is null ? null : ContinuationTokens.Encode(next),
        });
    }

    /// <summary>Where a reader resumes: after the Last-Event-ID header's event, else after <c>?after=</c>, else from the start.</summary>
    private static long From(HttpRequest request)
    {
        var lastEventId = request.Headers["Last-Event-ID"].ToString();
        return lastEventId.Length > 0 ? ParseSequence(lastEventId, "Last-Event-ID") : ParseSequence(request.Query["after"], "after");
    }

    private static long ParseSequence(string? value, string name) =>
        value is null ? 0
        : long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 9_999_999_999 ? n
        : throw LedgerException.BadRequest($"'{name}' must be an event sequence number (0 or more).");
}

/// <summary>Fails the queue invocation so the host retries the message (and in the end poisons it).</summary>
public sealed class ReportNotAppliedException(string messageId, string reason)
    : Exception($"Queue message {messageId} was not applied: {reason} The host will retry it.");
