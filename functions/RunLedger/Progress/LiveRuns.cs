using System.Globalization;
using System.Text;
using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// The runs this instance's live streams watch. Every stream of one run shares one poller: the
/// first stream starts it, the last one to leave stops it. Each second (sooner when a report is
/// applied on this instance) the poller reads the run's status and event count (one point read of
/// two columns) and reads events only when the count moved; what it reads is rendered once and
/// handed to every stream. So an idle run costs one point read a second per instance, however many
/// people watch it, and a busy run adds one event query per poll that found new events.
/// </summary>
public sealed partial class LiveRuns(RunStore runs, EventStore events, RunSignals signals, ILogger<LiveRuns> logger) : IDisposable
{
    private readonly RunStore _runs = runs;
    private readonly EventStore _events = events;
    private readonly RunSignals _signals = signals;
    private readonly ILogger _logger = logger;

    /// <summary>How often a poller reads the run when no report applied on this instance wakes it.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private readonly Dictionary<(string ProjectId, string RunId), RunPoller> _pollers = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>How many runs have a poller on this instance.</summary>
    public int Polling
    {
        get { lock (_lock) return _pollers.Count; }
    }

    /// <summary>How many streams watch the run on this instance.</summary>
    public int Watchers(string projectId, string runId)
    {
        lock (_lock) return _pollers.TryGetValue((projectId, runId), out var poller) ? poller.Watchers : 0;
    }

    /// <summary>
    /// What this instance's poller last read of the run, when one runs (at most a poll old), so a
    /// stream that joins it needs no read of its own; null otherwise, or when the run is gone.
    /// </summary>
    public LiveState? Peek(string projectId, string runId)
    {
        lock (_lock)
        {
            return _pollers.TryGetValue((projectId, runId), out var poller) && !poller.Head.Gone ? poller.Head : null;
        }
    }

    /// <summary>
    /// Joins the run's poller, starting it from <paramref name="known"/> (what the caller read of the
    /// run) when none runs. Dispose the watch to leave; the last watch to leave stops the poller.
    /// </summary>
    public RunWatch Watch(string projectId, string runId, LiveState known)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_pollers.TryGetValue((projectId, runId), out var poller))
            {
                poller = new RunPoller(this, projectId, runId, new LiveState(known.Status, known.Count, known.LastSeq, []));
                _pollers.Add((projectId, runId), poller);
                poller.Start();
            }
            poller.Watchers++;
            return new RunWatch(this, poller, poller.Head);
        }
    }

    private void Leave(RunPoller poller)
    {
        lock (_lock)
        {
            if (--poller.Watchers > 0) return;
            _pollers.Remove((poller.ProjectId, poller.RunId));
        }
        poller.Dispose();
    }

    public void Dispose()
    {
        List<RunPoller> pollers;
        lock (_lock)
        {
            _disposed = true;
            pollers = [.. _pollers.Values];
            _pollers.Clear();
        }
        foreach (var poller in pollers) poller.Dispose();
    }

    /// <summary>One stream's place among a run's watchers; disposing it leaves (once).</summary>
    public sealed class RunWatch : IDisposable
    {
        private readonly LiveRuns _owner;
        private RunPoller? _poller;

        internal RunWatch(LiveRuns owner, RunPoller poller, LiveState joined)
        {
            _owner = owner;
            _poller = poller;
            Joined = joined;
        }

        /// <summary>
        /// The poller's state when this stream joined: the stream reads events up to
        /// <see cref="LiveState.LastSeq"/> itself if it lacks them, then follows <see cref="LiveState.Next"/>.
        /// </summary>
        public LiveState Joined { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _poller, null) is { } poller) _owner.Leave(poller);
        }
    }

    /// <summary>Reads one run for all its streams until stopped.</summary>
    internal sealed class RunPoller(LiveRuns owner, string projectId, string runId, LiveState initial) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public string ProjectId { get; } = projectId;
        public string RunId { get; } = runId;

        /// <summary>Guarded by the owner's lock.</summary>
        public int Watchers { get; set; }

        /// <summary>The newest state; only the poller's loop replaces it.</summary>
        public LiveState Head => Volatile.Read(ref _head);

        private LiveState _head = initial;

        public void Start()
        {
            // The loop outlives the request that started it: it must not carry that request's
            // logging scope or trace (its storage calls would join the first stream's trace).
            using (ExecutionContext.SuppressFlow()) _ = Task.Run(LoopAsync);
        }

        /// <summary>Stops the loop (called once, when the last stream leaves).</summary>
        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            var token = _stop.Token;
            LogPollerStarted(owner._logger, ProjectId, RunId);
            try
            {
                while (!token.IsCancellationRequested)
                {
                    await owner._signals.WaitAsync(ProjectId, RunId, Poll, token);
                    try
                    {
                        await PollAsync(token);
                    }
                    catch (Exception e) when (!token.IsCancellationRequested && Ledger.StorageFailure.IsStorage(e))
                    {
                        // Storage is busy or unreachable (the SDK has retried already): streams wait
                        // and send heartbeats; the next poll tries again.
                        var (status, code, _) = Ledger.StorageFailure.Describe(e);
                        LogPollFailed(owner._logger, ProjectId, RunId, status, code);
                    }
                    catch (Exception e) when (!token.IsCancellationRequested)
                    {
                        LogPollError(owner._logger, ProjectId, RunId, e);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            LogPollerStopped(owner._logger, ProjectId, RunId);
        }

        private async Task PollAsync(CancellationToken token)
        {
            var head = Head;
            if (await owner._runs.GetProgressAsync(ProjectId, RunId, token) is not { } progress)
            {
                if (!head.Gone) Publish(new LiveState(head.Status, head.Count, head.LastSeq, [], gone: true));
                return;
            }
            var (status, count) = progress;
            var last = head.LastSeq;
            var published = false;
            // Events 1..count exist once the run row says count (one transaction writes both).
            while (last < count)
            {
                var (page, _) = await owner._events.ListAsync(ProjectId, RunId, last, EventStore.MaxPageSize, token);
                if (page.Count == 0) break; // deleted meanwhile (retention): the count is all that is left
                var rendered = new List<LiveEvent>(page.Count);
                foreach (var evt in page)
                {
                    var seq = (long)evt["seq"]!;
                    rendered.Add(LiveEvent.Render(seq, evt.ToJsonString()));
                    last = seq;
                }
                Publish(new LiveState(status, Math.Max(count, last), last, rendered));
                published = true;
            }
            if (!published && (status != head.Status || count != head.Count || head.Gone))
            {
                Publish(new LiveState(status, Math.Max(count, last), last, []));
            }
        }

        private void Publish(LiveState next)
        {
            var previous = Head;
            Volatile.Write(ref _head, next);
            previous.Complete(next);
        }
    }

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Live streams of run {RunId} in project {ProjectId}: poller started")]
    private static partial void LogPollerStarted(ILogger logger, string projectId, string runId);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Live streams of run {RunId} in project {ProjectId}: poller stopped")]
    private static partial void LogPollerStopped(ILogger logger, string projectId, string runId);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "Live streams of run {RunId} in project {ProjectId}: a poll failed with storage status {StorageStatus} {StorageErrorCode}; the next poll retries")]
    private static partial void LogPollFailed(ILogger logger, string projectId, string runId, int storageStatus, string? storageErrorCode);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Error, Message = "Live streams of run {RunId} in project {ProjectId}: a poll failed unexpectedly; the next poll retries")]
    private static partial void LogPollError(ILogger logger, string projectId, string runId, Exception exception);
}

/// <summary>One event as a stream sends it: its sequence number and its SSE frame, rendered once for every stream.</summary>
public sealed record LiveEvent(long Seq, ReadOnlyMemory<byte> Frame)
{
    public static LiveEvent Render(long seq, string json) => new(seq,
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"id: {seq}\nevent: progress\ndata: {json}\n\n")));
}

/// <summary>
/// What a run's poller knows after one read: the run's status and event count, the newest event it
/// has read, and the events this state adds to the one before it (sequence numbers just above the
/// previous <see cref="LastSeq"/>, up to this one). States form a chain each stream walks at its own
/// pace; a state no stream holds any more is garbage.
/// </summary>
public sealed class LiveState(string status, long count, long lastSeq, IReadOnlyList<LiveEvent> events, bool gone = false)
{
    private readonly TaskCompletionSource<LiveState> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Status { get; } = status;

    /// <summary>The run's event count as last read (at least <see cref="LastSeq"/>).</summary>
    public long Count { get; } = count;

    /// <summary>The newest event the poller has handed out (or, for a poller's first state, that its streams need not be given).</summary>
    public long LastSeq { get; } = lastSeq;

    public IReadOnlyList<LiveEvent> Events { get; } = events;

    /// <summary>The run row is gone (the retention purge deleted the run).</summary>
    public bool Gone { get; } = gone;

    /// <summary>Completes with the next state when the poller has one.</summary>
    public Task<LiveState> Next => _next.Task;

    /// <summary>The state a stream starts from when it read the run itself.</summary>
    public static LiveState Of(RunRecord run) => new(run.Status, run.EventCount, run.EventCount, []);

    internal void Complete(LiveState next) => _next.TrySetResult(next);
}
