using System.Collections.Concurrent;
using System.Text.Json;
using FunctionsHost.Functions;
using FunctionsHost.Rpc;
using FunctionsHost.Timers;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace FunctionsHost.Tests.Conformance;

/// <summary>
/// The timer trigger as the timer extension runs it, stepped through minutes of schedule on a fake
/// clock. Each test cites the source it follows; TimerListener is
/// Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs.
/// </summary>
public sealed class TimerConformanceTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 13, 1, 30, TimeSpan.Zero);

    // TimerListener.StartAsync: with no stored status, ScheduleStatus = { Last = LastUpdated = default(DateTime), Next = first occurrence }.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
    [Fact]
    public async Task TheFirstRunSeesNextAsItsOccurrenceAndLastAndLastUpdatedAsNever()
    {
        await using var timer = new Timer("0 */5 * * * *");

        var run = await timer.NextRunAsync();

        Assert.False(run.IsPastDue);
        Assert.Equal(TimerListener.Never, run.Status!.Last);
        Assert.Equal(At(13, 5), run.Status.Next);
        Assert.Equal(TimerListener.Never, run.Status.LastUpdated);
        Assert.Equal(At(13, 5), run.Time);
    }

    // TimerListener.InvokeJobFunction: after a run, Last = LastUpdated = the time it started, Next = the following occurrence.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
    [Fact]
    public async Task EachRunSeesThePreviousRunsStartAsLastAndItsOwnOccurrenceAsNext()
    {
        await using var timer = new Timer("0 */5 * * * *");
        await timer.NextRunAsync();

        var second = await timer.NextRunAsync();

        Assert.Equal(At(13, 5), second.Status!.Last);
        Assert.Equal(At(13, 10), second.Status.Next);
        Assert.Equal(At(13, 5), second.Status.LastUpdated);
        Assert.Equal(At(13, 10), second.Time);
    }

    // TimerListener.InvokeJobFunction + StartTimer: Next is computed from the run's start, and a Next already past
    // when the run ends fires at once (GetNextTimerInterval: one tick), instead of being skipped.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
    [Fact]
    public async Task ARunThatOutlastsTheNextOccurrenceIsFollowedAtOnceByThatOccurrencesRun()
    {
        await using var timer = new Timer("0 */5 * * * *", firstRunTakes: TimeSpan.FromMinutes(7));
        await timer.NextRunAsync();

        var second = await timer.NextRunAsync();

        Assert.Equal(At(13, 12), second.Time);
        Assert.Equal(At(13, 10), second.Status!.Next);
        Assert.False(second.IsPastDue);
    }

    // TimerListener.HandleTimerEvent: a scheduled run is invoked with isPastDue false, however late; only the start-up
    // check against the stored status (ScheduleMonitor.CheckPastDueAsync) makes a run past due.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
    [Fact]
    public async Task AScheduledRunThatStartsLateIsNotPastDue()
    {
        await using var timer = new Timer("0 */5 * * * *");

        var run = await timer.NextRunAsync(jump: TimeSpan.FromMinutes(12));

        Assert.Equal(At(13, 13, 30), run.Time);
        Assert.False(run.IsPastDue);
    }

    // TimerSchedule.Create: UseMonitor is turned off for a schedule that fires more than once a minute (CRON with
    // wildcards above the seconds, or a TimeSpan under a minute), and TimerListener then passes no ScheduleStatus.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Scheduling/TimerSchedule.cs
    [Theory]
    [InlineData("*/10 * * * * *", false)]
    [InlineData("00:00:30", false)]
    [InlineData("0 * * * * *", true)]
    [InlineData("00:01:00", true)]
    [InlineData("0 */5 * * * *", true)]
    public async Task OnlyASchedulePersistedByTheMonitorGivesTheFunctionItsStatus(string schedule, bool hasStatus)
    {
        await using var timer = new Timer(schedule);

        var run = await timer.NextRunAsync();

        Assert.Equal(hasStatus, run.Status is not null);
    }

    // TimerListener constructor: ScheduleMonitor = attribute.UseMonitor ? monitor : null.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
    [Fact]
    public async Task UseMonitorFalseGivesTheFunctionNoStatus()
    {
        await using var timer = new Timer("0 */5 * * * *", useMonitor: false);

        Assert.Null((await timer.NextRunAsync()).Status);
    }

    // TimerListener.StartAsync/HandleTimerEvent: RunOnStartup invokes once at once with the initial status, not past
    // due; the next run counts from that start.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
    [Fact]
    public async Task RunOnStartupRunsOnceAtStartWithTheInitialStatusThenOnSchedule()
    {
        await using var timer = new Timer("0 */5 * * * *", runOnStartup: true);

        var startup = await timer.NextRunAsync();
        var scheduled = await timer.NextRunAsync();

        Assert.Equal(Start.DateTime, startup.Time);
        Assert.False(startup.IsPastDue);
        Assert.Equal(new ScheduleStatus(TimerListener.Never, At(13, 5), TimerListener.Never), startup.Status);
        Assert.Equal(At(13, 5), scheduled.Time);
        Assert.Equal(new ScheduleStatus(Start.DateTime, At(13, 5), Start.DateTime), scheduled.Status);
    }

    // TimerListener.InvokeJobFunction: a failed run is logged and the schedule goes on; it is not retried.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
    [Fact]
    public async Task AFailedRunIsNotRetriedBeforeTheNextOccurrence()
    {
        await using var timer = new Timer("0 */5 * * * *", succeeds: false);
        await timer.NextRunAsync();

        var second = await timer.NextRunAsync();

        Assert.Equal(At(13, 10), second.Time);
    }

    private static DateTime At(int hour, int minute, int second = 0) =>
        DateTime.SpecifyKind(new DateTime(2026, 11, 25, hour, minute, second), DateTimeKind.Local);

    private sealed record Run(DateTime Time, ScheduleStatus? Status, bool IsPastDue);

    /// <summary>A TimerListener on a fake clock (UTC as local time) whose function records what it was given.</summary>
    private sealed class Timer : IAsyncDisposable
    {
        private readonly FakeTimeProvider time = new(Start);
        private readonly ConcurrentQueue<Run> runs = new();
        private readonly CancellationTokenSource stop = new();
        private readonly Task running;
        private readonly TimerListener listener;
        private int taken;

        public Timer(string schedule, bool runOnStartup = false, bool? useMonitor = null, TimeSpan firstRunTakes = default, bool succeeds = true)
        {
            var function = new FunctionDescriptor("Tick", "1", new RpcFunctionMetadata(), TriggerKind.Timer, "timerTrigger", "timer")
            {
                Schedule = schedule,
                RunOnStartup = runOnStartup,
                UseMonitor = useMonitor,
            };
            listener = new TimerListener(function, (trigger, _) =>
            {
                runs.Enqueue(Parse(DateTime.SpecifyKind(time.GetLocalNow().DateTime, DateTimeKind.Local), trigger));
                if (runs.Count == 1)
                {
                    time.Advance(firstRunTakes);
                }
                return Task.FromResult(succeeds);
            }, NullLogger.Instance, time);
            running = Task.Run(() => listener.RunAsync(stop.Token));
        }

        /// <summary>
        /// Moves the clock on (first by <paramref name="jump"/>) to the occurrence the listener waits
        /// for, and returns the run that follows; a run that needs no clock (it is due at once) is
        /// taken as it comes.
        /// </summary>
        public async Task<Run> NextRunAsync(TimeSpan jump = default)
        {
            if (jump > TimeSpan.Zero)
            {
                // Let the listener start waiting first, so that the jump is what wakes it.
                await Task.Delay(200);
                time.Advance(jump);
            }
            for (var step = 0; step < 100; step++)
            {
                // The listener answers within milliseconds; a quiet 200 ms means it waits for the clock.
                for (var spin = 0; spin < 40 && runs.Count <= taken; spin++)
                {
                    await Task.Delay(5);
                }
                if (runs.Count > taken)
                {
                    return runs.ElementAt(taken++);
                }
                var wait = listener.Status.Next - DateTime.SpecifyKind(time.GetLocalNow().DateTime, DateTimeKind.Local);
                time.Advance(wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1));
            }
            throw new TimeoutException("The timer did not fire.");
        }

        private static Run Parse(DateTime now, TypedData trigger)
        {
            using var info = JsonDocument.Parse(trigger.Json);
            var status = info.RootElement.GetProperty("ScheduleStatus");
            return new Run(
                now,
                status.ValueKind == JsonValueKind.Null
                    ? null
                    : new ScheduleStatus(Local(status, "Last"), Local(status, "Next"), Local(status, "LastUpdated")),
                info.RootElement.GetProperty("IsPastDue").GetBoolean());
        }

        private static DateTime Local(JsonElement status, string name) =>
            DateTime.SpecifyKind(status.GetProperty(name).GetDateTime(), DateTimeKind.Local);

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await running;
            stop.Dispose();
        }
    }
}
