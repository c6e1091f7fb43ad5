using FunctionsHost.Tests.Support;

namespace FunctionsHost.Tests.Timers;

[Collection(TriggerHostGroup.Name)]
public sealed class TimerTriggerTests(HostFixture fixture)
{
    [Fact]
    public async Task ATimerFiresOnItsScheduleWithTheScheduleStatus()
    {
        var since = DateTimeOffset.UtcNow;
        bool Scheduled(FunctionsHost.Testing.CapturedLog l) =>
            l.Time > since && l.Message.StartsWith("Tick pastDue False last ", StringComparison.Ordinal) && !l.Message.Contains("(null)", StringComparison.Ordinal);

        var first = await fixture.Host.WaitForLogAsync(Scheduled, TimeSpan.FromSeconds(20));
        var second = await fixture.Host.WaitForLogAsync(l => Scheduled(l) && l.Time > first.Time.AddMilliseconds(500), TimeSpan.FromSeconds(20));

        // Every 2 s: the second run's Last is the occurrence the first run announced as Next.
        var firstNext = first.Message[(first.Message.IndexOf(" next ", StringComparison.Ordinal) + 6)..];
        Assert.Contains($"last {firstNext} ", second.Message, StringComparison.Ordinal);
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
