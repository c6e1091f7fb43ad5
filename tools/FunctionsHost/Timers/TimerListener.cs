using System.Text.Json;
using FunctionsHost.Functions;
using FunctionsHost.Rpc;
using FunctionsHost.Worker;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Timers;

/// <summary>
/// Fires a timer function on its schedule (local time, as the host), optionally once at start-up.
/// The schedule status lives in memory: <c>Last</c> is the previous occurrence fired, and an
/// occurrence invoked after the next one was already due (e.g. while the worker restarted) is
/// past due. A failed run is not retried, as under the host.
/// </summary>
public sealed class TimerListener(FunctionDescriptor function, FunctionInvoker invoker, ILogger logger)
{
    private readonly TimerSchedule schedule = TimerSchedule.Parse(function.Schedule!);
    private DateTime? last;

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
            var result = await invoker.InvokeAsync(function, TimerInfo(last, next, isPastDue: next < DateTime.Now), new Dictionary<string, TypedData>(), stoppingToken);
            last = occurrence;
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
    public static TypedData TimerInfo(DateTime? last, DateTime? next, bool isPastDue) => new()
    {
        Json = JsonSerializer.Serialize(new
        {
            Schedule = new { AdjustForDST = true },
            ScheduleStatus = next is null ? null : new { Last = last ?? default, Next = next.Value, LastUpdated = DateTime.Now },
            IsPastDue = isPastDue,
        }),
    };
}

internal static partial class TimerLog
{
    [LoggerMessage(400, LogLevel.Warning, "Timer function {Function} failed (not retried until its next occurrence): {Error}")]
    public static partial void Failed(ILogger logger, string function, string error);
}
