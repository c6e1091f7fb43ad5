using System.Globalization;
using NCrontab;

namespace FunctionsHost.Timers;

/// <summary>A timer trigger's schedule: six-field CRON (seconds first; five fields also accepted) or a TimeSpan.</summary>
public abstract class TimerSchedule
{
    public abstract DateTime GetNext(DateTime after);

    /// <summary>
    /// The timer extension's rule for turning schedule monitoring off (TimerSchedule.Create):
    /// a TimeSpan under a minute, or a CRON expression with only wildcards above the seconds
    /// field that fires more than once in the minute after <paramref name="now"/>.
    /// </summary>
    public abstract bool FiresMoreThanOncePerMinute(DateTime now);

    public static TimerSchedule Parse(string expression)
    {
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields > 1)
        {
            var options = new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 };
            try
            {
                return new Cron(CrontabSchedule.Parse(expression, options), expression);
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

    private sealed class Cron(CrontabSchedule schedule, string expression) : TimerSchedule
    {
        public override DateTime GetNext(DateTime after) => schedule.GetNextOccurrence(after);

        public override bool FiresMoreThanOncePerMinute(DateTime now) =>
            expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).All(field => field == "*")
            && schedule.GetNextOccurrences(now, now.AddMinutes(1)).Skip(1).Any();
    }

    private sealed class Interval(TimeSpan interval) : TimerSchedule
    {
        public override DateTime GetNext(DateTime after) => after + interval;

        public override bool FiresMoreThanOncePerMinute(DateTime now) => interval < TimeSpan.FromMinutes(1);
    }
}
