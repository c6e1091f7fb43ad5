using System.IO.Pipelines;
using System.Text.Json.Nodes;
using RunLedger.Progress;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Progress;

/// <summary>
/// Live streams of one run share one poller (<see cref="LiveRuns"/>): what they cost in storage
/// does not grow with the number of streams, each still gets every event once and in order, and
/// the poller stops when the last stream leaves. In process, so the app's storage requests are
/// counted (<see cref="StorageRequests"/>); the streams are the real GetRunEvents responses.
/// </summary>
public sealed class SharedPollTests : ComponentTest
{
    private readonly StorageRequests _storage = new();

    public SharedPollTests()
    {
        _storage.Install(App);
        App.With("RunLedger:StreamHeartbeat", "00:00:00.500");
    }

    private LiveRuns Live => App.Get<LiveRuns>();

    private async Task ReportAsync(string runId, string eventId, string fields = "", string agent = "voice")
    {
        var (outcome, _) = await App.Get<ProgressHandler>().ApplyAsync(
            ProgressReport.Parse(JsonNode.Parse($$"""{"projectId":"p1","runId":"{{runId}}","agent":"{{agent}}"{{fields}}}""")!.AsObject(), eventId, DateTimeOffset.UtcNow),
            default);
        Assert.Equal(ReportOutcome.Applied, outcome);
    }

    private async Task<string> StartRunningAsync()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        await ReportAsync(runId, "evt-1", ""","status":"running" """);
        return runId;
    }

    private async Task<List<SseStream>> OpenAsync(string runId, int count, string? lastEventId = null)
    {
        var streams = Enumerable.Range(0, count).Select(_ => SseStream.Open(App, "p1", runId, lastEventId)).ToList();
        await Task.WhenAll(streams.Select(s => s.Opened));
        await Eventually.HoldsAsync(() => Task.FromResult(Live.Watchers("p1", runId) == count), $"{count} streams watching");
        return streams;
    }

    [Fact]
    public async Task StorageReadsWhileStreamsWatchAnIdleRunDoNotGrowWithTheNumberOfStreams()
    {
        var runId = await StartRunningAsync();
        var window = TimeSpan.FromSeconds(3);
        var reads = new Dictionary<int, List<string>>();
        foreach (var n in new[] { 1, 25 })
        {
            var streams = await OpenAsync(runId, n);
            await Eventually.HoldsAsync(() => Task.FromResult(streams.All(s => s.Ids.Count == 1)), "every stream has the run's first event");
            _storage.Clear();
            await Task.Delay(window);
            reads[n] = _storage.Snapshot();
            foreach (var stream in streams) await stream.DisposeAsync();
        }

        // One poller, one point read of the run a second (LiveRuns.Poll), and no event query while
        // the count stands still: per-stream polling would read 2 × 25 rows a second here.
        foreach (var (n, requests) in reads)
        {
            var described = $"{n} stream(s) over {window.TotalSeconds} s: {string.Join(", ", requests)}";
            Assert.All(requests, r => Assert.Equal("GET run", r));
            Assert.InRange(requests.Count, 1, (int)(window / LiveRuns.Poll) + 1);
            Assert.True(requests.Count <= reads[1].Count + 1, described);
        }
    }

    [Fact]
    public async Task EachNewEventIsReadOnceForAllStreamsAndEveryStreamGetsEveryEventOnceInOrder()
    {
        var runId = await StartRunningAsync();
        var streams = await OpenAsync(runId, 40);
        _storage.Clear();

        // Reports applied by 4 agents at once, then the one that finishes the run.
        await Parallel.ForAsync(0, 4, async (agent, _) =>
        {
            for (var i = 0; i < 6; i++) await ReportAsync(runId, $"a{agent}-{i}", $$""","progress":{{i}}""", agent: $"agent{agent}");
        });
        await ReportAsync(runId, "done", ""","status":"completed" """, agent: "publisher");
        await Task.WhenAll(streams.Select(s => s.Finished)).WaitAsync(TimeSpan.FromSeconds(60));

        var expected = Enumerable.Range(1, 26).Select(i => (long)i).ToList();
        Assert.All(streams, s =>
        {
            Assert.Equal(expected, s.Ids);
            Assert.Equal("completed", (string)JsonNode.Parse(s.End!)!["status"]!);
        });
        // The poller read each new event once for all 40 streams: at most one event query per
        // report (fewer when one poll found several), where each stream polling alone would make 40.
        var eventQueries = _storage.Snapshot().Count(r => r == "GET events");
        Assert.InRange(eventQueries, 1, 25);
        Assert.Equal(0, Live.Polling);
    }

    [Fact]
    public async Task StreamsJoiningLateOrResumingGetOnlyTheEventsAfterTheirsInOrder()
    {
        var runId = await StartRunningAsync();
        var first = await OpenAsync(runId, 1);
        for (var i = 2; i <= 5; i++) await ReportAsync(runId, $"evt-{i}");
        await Eventually.HoldsAsync(() => Task.FromResult(first[0].Ids.Count == 5), "the first stream has events 1-5");

        // Joining the running poller: from an event it handed out long ago, from the last one, and with ?after=.
        var resumed = SseStream.Open(App, "p1", runId, lastEventId: "2");
        var current = SseStream.Open(App, "p1", runId, lastEventId: "5");
        var after = SseStream.Open(App, "p1", runId, after: "4");
        await Task.WhenAll(resumed.Opened, current.Opened, after.Opened);
        for (var i = 6; i <= 7; i++) await ReportAsync(runId, $"evt-{i}");
        await ReportAsync(runId, "evt-8", ""","status":"completed" """, agent: "publisher");
        await Task.WhenAll(new[] { first[0], resumed, current, after }.Select(s => s.Finished)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8], first[0].Ids);
        Assert.Equal([3L, 4, 5, 6, 7, 8], resumed.Ids);
        Assert.Equal([6L, 7, 8], current.Ids);
        Assert.Equal([5L, 6, 7, 8], after.Ids);
        Assert.All(new[] { first[0], resumed, current, after }, s => Assert.NotNull(s.End));
    }

    [Fact]
    public async Task ThePollerStopsWhenTheLastStreamLeavesByDisconnecting()
    {
        var runId = await StartRunningAsync();
        var streams = await OpenAsync(runId, 3);
        Assert.Equal(1, Live.Polling);

        await streams[0].DisposeAsync(); // the client goes away: the request is cancelled
        Assert.Equal(2, Live.Watchers("p1", runId));
        Assert.Equal(1, Live.Polling);
        await streams[1].DisposeAsync();
        await streams[2].DisposeAsync();
        Assert.Equal(0, Live.Polling);
        Assert.Equal(0, Live.Watchers("p1", runId));

        // Nothing polls any more: not a single storage request over two and a half poll intervals.
        _storage.Clear();
        await Task.Delay(LiveRuns.Poll * 2.5);
        Assert.Empty(_storage.Snapshot());

        // A new stream starts a new poller, which reads the run again.
        var again = await OpenAsync(runId, 1);
        await Eventually.HoldsAsync(() => Task.FromResult(_storage.Snapshot().Contains("GET run")), "the new poller reads the run");
        await again[0].DisposeAsync();
        Assert.Equal(0, Live.Polling);
    }

    /// <summary>One Server-Sent Events response of GetRunEvents called in process, parsed as it is written.</summary>
    private sealed class SseStream : IAsyncDisposable
    {
        private readonly CancellationTokenSource _disconnect = new();
        private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<long> _ids = [];

        /// <summary>The progress events' ids so far.</summary>
        public List<long> Ids
        {
            get { lock (_ids) return [.. _ids]; }
        }

        /// <summary>The <c>end</c> event's data, once sent.</summary>
        public string? End { get; private set; }

        /// <summary>Completes when the response has started (its first <c>retry:</c> line is read).</summary>
        public Task Opened => _opened.Task;

        /// <summary>Completes when the response has ended and been read.</summary>
        public Task Finished { get; private set; } = Task.CompletedTask;

        public static SseStream Open(LedgerComponents app, string projectId, string runId, string? lastEventId = null, string? after = null)
        {
            var stream = new SseStream();
            var pipe = new Pipe();
            var headers = new List<(string, string)> { ("Accept", "text/event-stream") };
            if (lastEventId is not null) headers.Add(("Last-Event-ID", lastEventId));
            var request = LedgerComponents.Request(query: after is null ? null : "?after=" + after, headers: [.. headers]);
            request.HttpContext.Response.Body = pipe.Writer.AsStream();
            var function = app.Functions<ProgressFunctions>();
            var respond = Task.Run(async () =>
            {
                try
                {
                    await function.GetRunEvents(request, projectId, runId, stream._disconnect.Token);
                }
                catch (OperationCanceledException) when (stream._disconnect.IsCancellationRequested)
                {
                }
                finally
                {
                    await pipe.Writer.CompleteAsync();
                }
            });
            var read = Task.Run(() => stream.ReadAsync(pipe.Reader.AsStream()));
            stream.Finished = Task.WhenAll(respond, read);
            return stream;
        }

        private async Task ReadAsync(Stream body)
        {
            using var reader = new StreamReader(body);
            var block = new List<string>();
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length > 0)
                {
                    block.Add(line);
                    continue;
                }
                if (block.Contains("retry: 2000")) _opened.TrySetResult();
                if (block.Contains("event: progress"))
                {
                    var id = long.Parse(block.Single(l => l.StartsWith("id: ", StringComparison.Ordinal))[4..], System.Globalization.CultureInfo.InvariantCulture);
                    lock (_ids) _ids.Add(id);
                }
                if (block.Contains("event: end")) End = block.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..];
                block.Clear();
            }
            _opened.TrySetResult(); // a 204 (nothing to stream) opens and ends at once
        }

        /// <summary>Disconnects (cancels the request) and waits until the response has ended.</summary>
        public async ValueTask DisposeAsync()
        {
            await _disconnect.CancelAsync();
            await Finished.WaitAsync(TimeSpan.FromSeconds(30));
            _disconnect.Dispose();
        }
    }
}
