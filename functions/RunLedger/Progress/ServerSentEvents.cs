using System.Globalization;
using System.Text.Json.Nodes;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// Server-Sent Events for one run. Each event's <c>id:</c> is its sequence number, so a client
/// resuming with Last-Event-ID gets every later event exactly once. The response ends when the
/// run is terminal and its last event is sent (with an <c>end</c> event; a reconnect then gets
/// 204, which tells EventSource to stop), or after a bounded time with a <c>retry:</c> hint, so
/// it also works behind a proxy that buffers whole responses.
/// </summary>
public static class ServerSentEvents
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    public static async Task WriteAsync(HttpContext context, RunRecord run, long after, RunStore runs, EventStore events,
        RunSignals signals, LedgerOptions options, CancellationToken cancellationToken)
    {
        var response = context.Response;
        if (RunStatus.IsTerminal(run.Status) && after >= run.EventCount)
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.WriteAsync("retry: 2000\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);

        var deadline = DateTime.UtcNow + options.StreamMaxDuration;
        var lastWrite = DateTime.UtcNow;
        var last = after;
        while (!cancellationToken.IsCancellationRequested)
        {
            var (page, _) = await events.ListAsync(run.ProjectId, run.RunId, last, EventStore.MaxPageSize, cancellationToken);
            foreach (var evt in page)
            {
                last = (long)evt["seq"]!;
                await WriteEventAsync(response, last, "progress", evt, cancellationToken);
                lastWrite = DateTime.UtcNow;
            }

            run = await runs.GetAsync(run.ProjectId, run.RunId, cancellationToken) ?? run;
            if (RunStatus.IsTerminal(run.Status) && last >= run.EventCount)
            {
                var summary = new JsonObject { ["status"] = run.Status, ["runId"] = run.RunId, ["lastEventId"] = last };
                await response.WriteAsync($"event: end\ndata: {summary.ToJsonString()}\n\n", cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
                return;
            }
            if (DateTime.UtcNow >= deadline)
            {
                await response.WriteAsync("retry: 1000\n\n", cancellationToken);
                return;
            }
            if (DateTime.UtcNow - lastWrite >= options.StreamHeartbeat)
            {
                await response.WriteAsync(": heartbeat\n\n", cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
                lastWrite = DateTime.UtcNow;
            }
            if (last < run.EventCount) continue; // more were applied than the page held
            var now = DateTime.UtcNow;
            var wait = Min(Poll, Min(deadline - now, lastWrite + options.StreamHeartbeat - now));
            await signals.WaitAsync(run.ProjectId, run.RunId, wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cancellationToken);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static async Task WriteEventAsync(HttpResponse response, long id, string type, JsonObject data, CancellationToken cancellationToken)
    {
        await response.WriteAsync(
            string.Create(CultureInfo.InvariantCulture, $"id: {id}\nevent: {type}\ndata: {data.ToJsonString()}\n\n"),
            cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
