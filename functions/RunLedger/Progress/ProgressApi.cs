using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Progress;

public static class ProgressApi
{
    public const int DefaultEventPage = 100;

    public static IEndpointRouteBuilder MapProgress(this IEndpointRouteBuilder routes)
    {
        var run = routes.MapGroup("/api/projects/{projectId}/runs/{runId}");
        run.MapPost("/progress", PostProgress).WithName("PostProgress");
        run.MapGet("/events", GetEvents).WithName("GetRunEvents");
        routes.MapGet("/api/deadletters", ListDeadLetters).WithName("ListDeadLetters");
        return routes;
    }

    /// <summary>
    /// For agents that cannot reach the queue: the same report, through the same handler. The
    /// event id comes from the body, else the Idempotency-Key header, else it is new.
    /// </summary>
    private static async Task<IResult> PostProgress(
        HttpRequest request, string projectId, string runId,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        ProgressHandler handler, TimeProvider clock, CancellationToken cancellationToken)
    {
        RunsApi.CheckIds(projectId, runId);
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
        var report = ProgressReport.Parse(body, idempotencyKey ?? Guid.NewGuid().ToString(), clock.GetUtcNow());
        var (outcome, sequence) = await handler.ApplyAsync(report, cancellationToken);
        return outcome switch
        {
            ReportOutcome.RunNotFound => throw LedgerException.NotFound($"Run '{runId}' does not exist in project '{projectId}'."),
            ReportOutcome.Duplicate => TypedResults.Ok(new JsonObject { ["eventId"] = report.EventId, ["duplicate"] = true }),
            _ => TypedResults.Accepted(RunsApi.RunPath(projectId, runId) + "/events",
                new JsonObject { ["eventId"] = report.EventId, ["seq"] = sequence, ["duplicate"] = false }),
        };
    }

    /// <summary>The run's history: Server-Sent Events when asked for, else a JSON page.</summary>
    private static async Task GetEvents(
        HttpContext context, string projectId, string runId, string? after, string? limit,
        RunStore runs, EventStore events, RunSignals signals, IOptions<LedgerOptions> options, CancellationToken cancellationToken)
    {
        var run = await RunsApi.FindAsync(runs, projectId, runId, cancellationToken);
        var lastEventId = context.Request.Headers["Last-Event-ID"].ToString();
        var from = ParseSequence(lastEventId.Length > 0 ? lastEventId : after, lastEventId.Length > 0 ? "Last-Event-ID" : "after");

        var accept = context.Request.Headers.Accept.ToString();
        if (accept.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            await ServerSentEvents.WriteAsync(context, run, from, runs, events, signals, options.Value, cancellationToken);
            return;
        }

        var pageSize = QueryValues.Limit(limit, DefaultEventPage, EventStore.MaxPageSize);
        var (items, more) = await events.ListAsync(projectId, runId, from, pageSize, cancellationToken);
        long? next = more ? (long)items[^1]["seq"]! : null;
        await TypedResults.Ok(new JsonObject
        {
            ["items"] = new JsonArray([.. items]),
            ["next"] = next,
        }).ExecuteAsync(context);
    }

    private static async Task<IResult> ListDeadLetters(string? limit, string? continuationToken, DeadLetters deadLetters, CancellationToken cancellationToken)
    {
        var pageSize = QueryValues.Limit(limit, RunsApi.DefaultPageSize, RunsApi.MaxPageSize);
        string? after = null;
        if (continuationToken is not null)
        {
            after = RunStore.DecodeToken(continuationToken, Keys.IsDeadLetterRow)
                ?? throw LedgerException.BadRequest("'continuationToken' is not one this service issued.");
        }
        var (items, next) = await deadLetters.ListAsync(pageSize, after, cancellationToken);
        return TypedResults.Ok(new JsonObject
        {
            ["items"] = new JsonArray([.. items]),
            ["continuationToken"] = next is null ? null : RunStore.EncodeToken(next),
        });
    }

    private static long ParseSequence(string? value, string name) =>
        value is null ? 0
        : long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 9_999_999_999 ? n
        : throw LedgerException.BadRequest($"'{name}' must be an event sequence number (0 or more).");
}
