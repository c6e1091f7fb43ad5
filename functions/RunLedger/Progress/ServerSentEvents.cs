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
/// <remarks>
/// Streams do not read storage on their own: they follow the run's shared poller
/// (<see cref="LiveRuns"/>). A stream reads events itself only once, when it joins behind the
/// poller (a client resuming from an older event than the poller has handed out).
/// </remarks>
public static class ServerSentEvents
{
    public static async Task WriteAsync(HttpContext context, string projectId, string runId, LiveState known, long after,
        LiveRuns live, EventStore events, LedgerOptions options, CancellationToken cancellationToken)
    {
        var response = context.Response;
        if (RunStatus.IsTerminal(known.Status) && after >= known.Count)
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        // The invocation is cancelled when the client goes away; the request's own token says so too.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.RequestAborted);
        var token = stop.Token;
        using var watch = live.Watch(projectId, runId, known);

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await response.WriteAsync("retry: 2000\n\n", token);
            await response.Body.FlushAsync(token);
            await FollowAsync(response, projectId, runId, after, watch.Joined, events, options, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client went away: not a failure of the function; the watch is left on the way out.
        }
    }

    private static async Task FollowAsync(HttpResponse response, string projectId, string runId, long after, LiveState joined,
        EventStore events, LedgerOptions options, CancellationToken token)
    {
        var deadline = DateTime.UtcNow + options.StreamMaxDuration;
        var lastWrite = DateTime.UtcNow;
        var last = after;
        var state = joined;

        // Joined behind the poller: read what this stream lacks up to where the poller stands.
        while (last < state.LastSeq)
        {
            var (page, _) = await events.ListAsync(projectId, runId, last, EventStore.MaxPageSize, token);
            if (page.Count == 0) break;
            foreach (var evt in page)
            {
                var seq = (long)evt["seq"]!;
                if (seq <= last) continue;
                await response.Body.WriteAsync(LiveEvent.Render(seq, evt.ToJsonString()).Frame, token);
                last = seq;
            }
            await response.Body.FlushAsync(token);
            lastWrite = DateTime.UtcNow;
        }

        while (true)
        {
            if (RunStatus.IsTerminal(state.Status) && last >= state.Count)
            {
                var summary = new JsonObject { ["status"] = state.Status, ["runId"] = runId, ["lastEventId"] = last };
                await response.WriteAsync($"event: end\ndata: {summary.ToJsonString()}\n\n", token);
                await response.Body.FlushAsync(token);
                return;
            }
            if (state.Gone || DateTime.UtcNow >= deadline)
            {
                await response.WriteAsync("retry: 1000\n\n", token);
                await response.Body.FlushAsync(token);
                return;
            }
            if (DateTime.UtcNow - lastWrite >= options.StreamHeartbeat)
            {
                await response.WriteAsync(": heartbeat\n\n", token);
                await response.Body.FlushAsync(token);
                lastWrite = DateTime.UtcNow;
            }
            if (!state.Next.IsCompleted)
            {
                var now = DateTime.UtcNow;
                var wait = Min(deadline - now, lastWrite + options.StreamHeartbeat - now);
                try
                {
                    await state.Next.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, token);
                }
                catch (TimeoutException)
                {
                    continue;
                }
            }

            state = await state.Next;
            var wrote = false;
            foreach (var evt in state.Events)
            {
                if (evt.Seq <= last) continue;
                await response.Body.WriteAsync(evt.Frame, token);
                last = evt.Seq;
                wrote = true;
            }
            if (wrote)
            {
                await response.Body.FlushAsync(token);
                lastWrite = DateTime.UtcNow;
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
