using System.Text.Json;
using FunctionsHost.Functions;
using FunctionsHost.Rpc;
using FunctionsHost.Worker;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Timers;

/// <summary>
/// Fires a timer function on its schedule (local time, as the host) with the timer extension's
/// semantics (WebJobs.Extensions 5, TimerListener and ScheduleMonitor):
/// <list type="bullet">
/// <item>The schedule status starts as Last = LastUpdated = 0001-01-01, Next = the first occurrence.
/// After each run, Last = LastUpdated = the time the run started (or the occurrence it was due
/// at, if it fired early) and Next = the occurrence after that.</item>
/// <item>The next run is at Next; if a run outlasted it, the next one starts at once.</item>
/// <item>A scheduled run is never past due; RunOnStartup runs once at start (not past due).</item>
/// <item>The function sees the status only when the schedule is monitored (<c>useMonitor</c>,
/// default true, but off for schedules that fire more often than once a minute).</item>
/// <item>A failed run is not retried.</item>
/// </list>
/// Unlike Azure's host, the status lives in memory, not in a blob: it starts afresh with every
/// host start, so a run is never found past due at start-up.
/// </summary>
public sealed class TimerListener
{
    private readonly FunctionDescriptor function;
    private readonly Func<TypedData, CancellationToken, Task<bool>> invoke;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly TimerSchedule schedule;
    private ScheduleStatus status;

    public TimerListener(FunctionDescriptor function, FunctionInvoker invoker, ILogger logger)
        : this(function, async (trigger, ct) => (await invoker.InvokeAsync(function, trigger, new Dictionary<string, TypedData>(), ct)).Succeeded(), logger, TimeProvider.System)
    {
    }

    /// <param name="invoke">Runs the function with the TimerInfo given; true if it succeeded.</param>
    public TimerListener(FunctionDescriptor function, Func<TypedData, CancellationToken, Task<bool>> invoke, ILogger logger, TimeProvider time)
    {
        this.function = function;
        this.invoke = invoke;
        this.logger = logger;
        this.time = time;
        schedule = TimerSchedule.Parse(function.Schedule!);
        UseMonitor = (function.UseMonitor ?? true) && !schedule.FiresMoreThanOncePerMinute(Now);
        // No stored status (it is never stored here): the listener's first status.
        status = new ScheduleStatus(Never, schedule.GetNext(Now), Never);
    }

    /// <summary>The value ScheduleStatus.Last/LastUpdated have before the first run (default(DateTime) as local time).</summary>
    public static DateTime Never { get; } = DateTime.MinValue.ToLocalTime();

    public FunctionDescriptor Function => function;

    /// <summary>Whether the function sees its schedule status (the extension's UseMonitor after its frequency rule).</summary>
    public bool UseMonitor { get; }

    /// <summary>The status the next run will see (if monitored).</summary>
    public ScheduleStatus Status => status;

    private DateTime Now => DateTime.SpecifyKind(time.GetLocalNow().DateTime, DateTimeKind.Local);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (function.RunOnStartup)
            {
                await FireAsync(Now, runOnStartup: true, stoppingToken);
            }
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = status.Next - Now;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                await FireAsync(Now, runOnStartup: false, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task FireAsync(DateTime invocationTime, bool runOnStartup, CancellationToken stoppingToken)
    {
        try
        {
            if (!await invoke(TimerInfo(UseMonitor ? status : null, isPastDue: false), stoppingToken))
            {
                TimerLog.Failed(logger, function.Name, "the function failed");
            }
        }
        catch (Exception e) when (e is WorkerGoneException or InvalidOperationException)
        {
            TimerLog.Failed(logger, function.Name, e.Message);
        }
        // A timer that fired a little early counts from the occurrence it was due at, so that
        // Next never names the same occurrence twice.
        var adjusted = !runOnStartup && status.Next > invocationTime ? status.Next : invocationTime;
        status = new ScheduleStatus(adjusted, schedule.GetNext(adjusted), adjusted);
    }

    /// <summary>TimerInfo as the host serializes it for the worker.</summary>
    public static TypedData TimerInfo(ScheduleStatus? status, bool isPastDue) => new()
    {
        Json = JsonSerializer.Serialize(new
        {
            Schedule = new { AdjustForDST = true },
            ScheduleStatus = status,
            IsPastDue = isPastDue,
        }),
    };
}

/// <summary>The host's ScheduleStatus: the last occurrence run, the next one due, when it was recorded.</summary>
public sealed record ScheduleStatus(DateTime Last, DateTime Next, DateTime LastUpdated);

internal static partial class TimerLog
{
    [LoggerMessage(400, LogLevel.Warning, "Timer function {Function} failed (not retried until its next occurrence): {Error}")]
    public static partial void Failed(ILogger logger, string function, string error);

    [LoggerMessage(401, LogLevel.Error, "Timer function {Function} will not run: {Error}")]
    public static partial void BadSchedule(ILogger logger, string function, string error);
}
