using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>Server-Sent Events for a run, read the way an EventSource client reads them.</summary>
public sealed class EventStreamTests(EventStreamTests.Host host) : LedgerTest(host), IClassFixture<EventStreamTests.Host>
{
    /// <summary>Streams end after 2 s, with a heartbeat every 0.3 s while idle.</summary>
    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
            [new("RunLedger__StreamMaxDuration", "00:00:02"), new("RunLedger__StreamHeartbeat", "00:00:00.300")];
    }

    private sealed record Sse(long? Id, string? Event, string? Data);

    /// <summary>Reads one SSE response to its end and parses its events (comments dropped).</summary>
    private async Task<(HttpStatusCode Status, List<Sse> Events, string Raw)> ReadStreamAsync(string runId, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs/{runId}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var raw = await response.Content.ReadAsStringAsync();
        var events = new List<Sse>();
        foreach (var block in raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            long? id = null;
            string? type = null, data = null;
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
                else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            }
            if (type is not null) events.Add(new Sse(id, type, data));
        }
        return (response.StatusCode, events, raw);
    }

    /// <summary>
    /// Follows a run's stream as EventSource does, reconnecting with Last-Event-ID after each
    /// bounded response, until the <c>end</c> event; returns every progress event's id in the order
    /// received. <paramref name="opened"/> completes when the first response has started, and
    /// <paramref name="seen"/> holds the ids so far.
    /// </summary>
    private async Task<List<long>> FollowAsync(string runId, string? lastEventId, TaskCompletionSource opened, List<long> seen)
    {
        while (true)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs/{runId}/events");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
            using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var block = new List<string>();
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length > 0)
                {
                    block.Add(line);
                    continue;
                }
                opened.TrySetResult();
                if (block.Contains("event: end")) return [.. seen];
                if (block.Contains("event: progress"))
                {
                    lastEventId = block.Single(l => l.StartsWith("id: ", StringComparison.Ordinal))[4..];
                    lock (seen) seen.Add(long.Parse(lastEventId, System.Globalization.CultureInfo.InvariantCulture));
                }
                block.Clear();
            }
        }
    }

    [Fact]
    public async Task ManyConcurrentStreamsOnOneRunEachGetEveryEventOnceInOrder()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var opened = Enumerable.Range(0, 30).Select(_ => new TaskCompletionSource()).ToList();
        var followers = opened.Select(o => FollowAsync(runId, null, o, [])).ToList();
        await Task.WhenAll(opened.Select(o => o.Task)).WaitAsync(TimeSpan.FromSeconds(60));

        // Reports from three agents at once while every stream watches, then the last one.
        string[] agents = ["voice", "music", "video"];
        await Task.WhenAll(agents.Select(async agent =>
        {
            for (var i = 0; i < 5; i++) await ReportAsync(runId, $$"""{"agent":"{{agent}}","progress":{{i * 20}}}""");
        }));
        await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""");

        var received = await Task.WhenAll(followers).WaitAsync(TimeSpan.FromSeconds(60));
        var expected = Enumerable.Range(1, 16).Select(i => (long)i).ToList();
        Assert.All(received, ids => Assert.Equal(expected, ids));
    }

    [Fact]
    public async Task ALateJoinerWithLastEventIdGetsOnlyTheLaterEvents()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var firstOpened = new TaskCompletionSource();
        var firstSeen = new List<long>();
        var first = FollowAsync(runId, null, firstOpened, firstSeen);
        await firstOpened.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 1; i <= 4; i++) await ReportAsync(runId, $$"""{"agent":"voice","progress":{{i * 10}}}""");
        await Eventually.HoldsAsync(() => { lock (firstSeen) return Task.FromResult(firstSeen.Count == 4); }, "the first stream has events 1-4");

        // Joins while the first stream watches, having seen up to event 2 on an earlier connection.
        var lateOpened = new TaskCompletionSource();
        var late = FollowAsync(runId, "2", lateOpened, []);
        await lateOpened.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await ReportAsync(runId, """{"agent":"voice","progress":90}""");
        await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""");

        Assert.Equal([3L, 4, 5, 6], await late.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal([1L, 2, 3, 4, 5, 6], await first.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    private async Task ReportAsync(string runId, string json) =>
        (await Client.PostJsonAsync($"/api/projects/{P}/runs/{runId}/progress", json)).EnsureSuccessStatusCode();

    [Fact]
    public async Task StreamSendsEveryEventWithItsSequenceAsIdAndEndsAfterTheTerminalEvent()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        await ReportAsync(runId, """{"agent":"voice","progress":50}""");
        await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""");

        var (status, events, raw) = await ReadStreamAsync(runId);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([1L, 2L], events.Where(e => e.Event == "progress").Select(e => e.Id!.Value));
        Assert.Equal("end", events[^1].Event);
        Assert.Equal("completed", (string)JsonNode.Parse(events[^1].Data!)!["status"]!);
        Assert.StartsWith("retry:", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResumingWithLastEventIdSeesEveryEventExactlyOnce()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var seen = new List<long>();
        long? last = null;

        for (var round = 0; round < 4; round++)
        {
            // Reports arrive while the client is away and while it is connected.
            var writer = Task.Run(async () =>
            {
                for (var i = 0; i < 3; i++)
                {
                    await ReportAsync(runId, $$"""{"agent":"voice","progress":{{round * 10 + i}}}""");
                    await Task.Delay(100);
                }
            });
            var (_, events, _) = await ReadStreamAsync(runId, last?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await writer;
            var ids = events.Where(e => e.Event == "progress").Select(e => e.Id!.Value).ToList();
            seen.AddRange(ids);
            if (ids.Count > 0) last = ids[^1];
        }
        await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""");
        var (_, tail, _) = await ReadStreamAsync(runId, last?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        seen.AddRange(tail.Where(e => e.Event == "progress").Select(e => e.Id!.Value));
        Assert.Equal("end", tail[^1].Event);

        Assert.Equal(Enumerable.Range(1, 13).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task AStreamOfARunningRunEndsAfterABoundedTimeWithARetryHint()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        await ReportAsync(runId, """{"agent":"voice"}""");
        var (status, events, raw) = await ReadStreamAsync(runId);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([1L], events.Select(e => e.Id!.Value));
        Assert.EndsWith("retry: 1000\n\n", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIdleStreamSendsHeartbeatComments()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var (_, events, raw) = await ReadStreamAsync(runId);
        Assert.Empty(events);
        Assert.True(raw.Split(": heartbeat\n\n").Length - 1 >= 3, $"expected heartbeats in a 2 s idle stream:\n{raw}");
    }

    [Fact]
    public async Task ReconnectingAfterTheEndOfAFinishedRunGets204SoEventSourceStops()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        await ReportAsync(runId, """{"agent":"publisher","status":"completed"}""");
        var (status, _, _) = await ReadStreamAsync(runId, "1");
        Assert.Equal(HttpStatusCode.NoContent, status);
    }

    [Fact]
    public async Task InvalidLastEventIdIs400()
    {
        var runId = (string)(await StartAsync($$"""{"projectId":"{{P}}"}"""))["runId"]!;
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/projects/{P}/runs/{runId}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Add("Last-Event-ID", "abc");
        Assert.Contains("Last-Event-ID", await (await Client.SendAsync(request)).AssertProblemAsync(400), StringComparison.Ordinal);
    }
}
