using FunctionsHost.Timers;

namespace FunctionsHost.Tests.Timers;

public sealed class TimerScheduleTests
{
    private static readonly DateTime Start = new(2026, 11, 25, 13, 0, 7, DateTimeKind.Local);

    [Fact]
    public void ASixFieldCronExpressionCountsSecondsFirst()
    {
        Assert.Equal(Start.AddSeconds(3), TimerSchedule.Parse("*/10 * * * * *").GetNext(Start));
    }

    [Fact]
    public void AFiveFieldCronExpressionStartsAtMinutes()
    {
        Assert.Equal(new DateTime(2026, 11, 25, 13, 5, 0, DateTimeKind.Local), TimerSchedule.Parse("*/5 * * * *").GetNext(Start));
    }

    [Fact]
    public void ATimeSpanScheduleRepeatsAtThatInterval()
    {
        Assert.Equal(Start.AddMinutes(90), TimerSchedule.Parse("01:30:00").GetNext(Start));
    }

    [Theory]
    [InlineData("every minute")]
    [InlineData("00:00:00")]
    [InlineData("61 * * * * *")]
    public void AnInvalidScheduleIsRejected(string schedule)
    {
        Assert.ThrowsAny<FormatException>(() => TimerSchedule.Parse(schedule));
    }
}
