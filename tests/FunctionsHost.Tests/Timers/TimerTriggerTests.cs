using FunctionsHost.Tests.Support;

namespace FunctionsHost.Tests.Timers;

[Collection(TriggerHostGroup.Name)]
public sealed class TimerTriggerTests(HostFixture fixture)
{
    // Every 2 s is more than once a minute, so the timer extension turns schedule monitoring off
    // (TimerSchedule.Create) and the function gets no ScheduleStatus; a scheduled run is never past due.
    // Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Scheduling/TimerSchedule.cs
    [Fact]
    public async Task ATimerFiresOnItsScheduleAndASubMinuteScheduleGetsNoStatus()
    {
        var since = DateTimeOffset.UtcNow;
        bool Scheduled(FunctionsHost.Testing.CapturedLog l) => l.Time > since && l.Message.StartsWith("Tick pastDue ", StringComparison.Ordinal);

        var first = await fixture.Host.WaitForLogAsync(Scheduled, TimeSpan.FromSeconds(20));
        var second = await fixture.Host.WaitForLogAsync(l => Scheduled(l) && l.Time > first.Time.AddMilliseconds(500), TimeSpan.FromSeconds(20));

        Assert.Equal("Tick pastDue False last (null) next (null)", first.Message);
        Assert.Equal(first.Message, second.Message);
    }

    [Fact]
    public async Task TheAdminEndpointFiresATimerFunctionAtOnce()
    {
        var since = DateTimeOffset.UtcNow;

        await fixture.Host.RunFunctionAsync("Tick");

        // Run by hand, the timer gets no schedule status (the host sends none then).
        await fixture.Host.WaitForLogAsync(l => l.Time > since && l.Message.StartsWith("Tick pastDue False last (null)", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task ATimerWithRunOnStartupRunsWhenTheHostStarts()
    {
        await fixture.Host.WaitForLogAsync("Startup ran pastDue False", TimeSpan.FromSeconds(20));
    }
}
