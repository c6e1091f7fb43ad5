using System.Globalization;
using NCrontab;

namespace FunctionsHost.Timers;

/// <summary>A timer trigger's schedule: six-field CRON (seconds first; five fields also accepted) or a TimeSpan.</summary>
public abstract class TimerSchedule
{
    public abstract DateTime GetNext(DateTime after);

    public static TimerSchedule Parse(string expression)
    {
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields > 1)
        {
            var options = new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 };
            try
            {
                return new Cron(CrontabSchedule.Parse(expression, options));
            }
            catch (CrontabException e)
            {
                throw new FormatException($"'{expression}' is not a valid CRON expression: {e.Message}", e);
            }
        }
        if (TimeSpan.TryParse(expression, CultureInfo.InvariantCulture, out var interval) && interval > TimeSpan.Zero)
        {
            return new Interval(interval);
        }
        throw new FormatException($"'{expression}' is neither a CRON expression nor a TimeSpan.");
    }

    private sealed class Cron(CrontabSchedule schedule) : TimerSchedule
    {
        public override DateTime GetNext(DateTime after) => schedule.GetNextOccurrence(after);
    }

    private sealed class Interval(TimeSpan interval) : TimerSchedule
    {
        public override DateTime GetNext(DateTime after) => after + interval;
    }
}
