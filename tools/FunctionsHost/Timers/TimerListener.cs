using System.Text.Json;
using FunctionsHost.Functions;
using FunctionsHost.Rpc;
using FunctionsHost.Worker;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Timers;

/// <summary>
/// Fires a timer function on its schedule (local time, as the host), optionally once at start-up.
/// The schedule status is the host's, kept in memory rather than in blob storage: each run gets
/// the status saved after the previous one (<c>Last</c> = that run's occurrence, <c>Next</c> =
/// this one), and a run whose occurrence was already overtaken by the following one (e.g. it
/// waited for a worker restart) is past due. A failed run is not retried, as under the host.
/// </summary>
public sealed class TimerListener(FunctionDescriptor function, FunctionInvoker invoker, ILogger logger)
{
    private readonly TimerSchedule schedule = TimerSchedule.Parse(function.Schedule!);
    private ScheduleStatus? status;

    public FunctionDescriptor Function => function;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (function.RunOnStartup)
            {
                await FireAsync(DateTime.Now, stoppingToken);
            }
            var next = schedule.GetNext(DateTime.Now);
            status ??= new ScheduleStatus(default, next, DateTime.Now);
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = next - DateTime.Now;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stoppingToken);
                }
                await FireAsync(next, stoppingToken);
                next = schedule.GetNext(DateTime.Now > next ? DateTime.Now : next);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task FireAsync(DateTime occurrence, CancellationToken stoppingToken)
    {
        try
        {
            var next = schedule.GetNext(occurrence);
            var given = status ?? new ScheduleStatus(default, occurrence, DateTime.Now);
            var result = await invoker.InvokeAsync(function, TimerInfo(given, isPastDue: next < DateTime.Now), new Dictionary<string, TypedData>(), stoppingToken);
            status = new ScheduleStatus(occurrence, next, DateTime.Now);
            if (!result.Succeeded())
            {
                TimerLog.Failed(logger, function.Name, result.Result?.Exception?.Message ?? "failed");
            }
        }
        catch (Exception e) when (e is WorkerGoneException or InvalidOperationException)
        {
            TimerLog.Failed(logger, function.Name, e.Message);
        }
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
