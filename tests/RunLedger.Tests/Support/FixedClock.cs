namespace RunLedger.Tests.Support;

/// <summary>A clock that says what the test says, so ledger timestamps are reproducible.</summary>
public sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
