namespace FunctionsHost.Queues;

/// <summary>
/// The wait between polls of a queue that had nothing (or failed), as the Storage Queues extension
/// computes it: it starts at 100 ms and grows by a randomized doubling step
/// (100 ms + 0.8–1.2 × 2^(n−1) × 100 ms) up to <c>maxPollingInterval</c>; a poll that found
/// messages sets it back to 100 ms for the next empty one. After a poll that found messages the
/// listener does not wait at all (only for <c>newBatchThreshold</c>).
/// </summary>
public sealed class PollingDelay
{
    /// <summary>The extension's QueuePollingIntervals.Minimum, and the least maxPollingInterval it accepts.</summary>
    public static readonly TimeSpan Minimum = TimeSpan.FromMilliseconds(100);

    private const double RandomizationFactor = 0.2;
    private readonly TimeSpan maximum;
    private TimeSpan current;
    private int exponent;

    public PollingDelay(TimeSpan maximum)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maximum, Minimum);
        this.maximum = maximum;
    }

    /// <summary>The next wait; <paramref name="foundMessagesSinceLastWait"/> starts the series over.</summary>
    public TimeSpan Next(bool foundMessagesSinceLastWait)
    {
        if (foundMessagesSinceLastWait)
        {
            current = Minimum;
            exponent = 1;
        }
        else if (current != maximum)
        {
            var step = Minimum;
            if (exponent > 0)
            {
#pragma warning disable CA5394 // Jitter for polling, not security.
                var factor = 1 - RandomizationFactor + (Random.Shared.NextDouble() * 2 * RandomizationFactor);
#pragma warning restore CA5394
                step += TimeSpan.FromMilliseconds(factor * Math.Pow(2, exponent - 1) * Minimum.TotalMilliseconds);
            }
            if (step < maximum)
            {
                current = step;
                exponent++;
            }
            else
            {
                current = maximum;
            }
        }
        return current;
    }
}
