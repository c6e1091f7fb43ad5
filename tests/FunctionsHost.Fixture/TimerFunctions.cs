using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Fixture;

public sealed class TimerFunctions(ILogger<TimerFunctions> logger)
{
    [Function("Tick")]
    public void Tick([TimerTrigger("%TickSchedule%")] TimerInfo timer)
    {
        logger.LogInformation(
            "Tick pastDue {IsPastDue} last {Last:O} next {Next:O}",
            timer.IsPastDue, timer.ScheduleStatus?.Last, timer.ScheduleStatus?.Next);
    }

    /// <summary>On a schedule that never comes during a test: it only runs because of RunOnStartup.</summary>
    [Function("Startup")]
    public void Startup([TimerTrigger("0 0 0 1 1 *", RunOnStartup = true)] TimerInfo timer) =>
        logger.LogInformation("Startup ran pastDue {IsPastDue}", timer.IsPastDue);
}
