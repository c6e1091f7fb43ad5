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
}
