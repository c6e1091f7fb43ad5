using System.Diagnostics.Metrics;
using RunLedger.Telemetry;

namespace RunLedger.Tests.Telemetry;

/// <summary>The ledger's counters, observed the way any exporter observes them: with a MeterListener.</summary>
public sealed class LedgerTelemetryTests
{
    [Fact]
    public void EachCounterIncrementsOncePerCall()
    {
        // A unique tag value, so counts from other tests running in parallel are ignored.
        var mine = Guid.NewGuid().ToString();
        var counts = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LedgerTelemetry.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (Equals(tag.Value, mine))
                {
                    lock (counts) counts[instrument.Name] = counts.GetValueOrDefault(instrument.Name) + value;
                }
            }
        });
        listener.Start();

        LedgerTelemetry.ReportApplied(mine);
        LedgerTelemetry.ReportApplied(mine);
        LedgerTelemetry.ReportDuplicate(mine);
        LedgerTelemetry.DeadLettered(mine);
        LedgerTelemetry.StorageRetry(mine);
        LedgerTelemetry.StorageRetry(mine);
        LedgerTelemetry.StorageRetry(mine);

        Assert.Equal(2, counts[LedgerTelemetry.ReportsAppliedCounter]);
        Assert.Equal(1, counts[LedgerTelemetry.ReportsDuplicatesCounter]);
        Assert.Equal(1, counts[LedgerTelemetry.DeadLettersCounter]);
        Assert.Equal(3, counts[LedgerTelemetry.StorageRetriesCounter]);
        Assert.Equal(
            ["runledger.deadletters", "runledger.reports.applied", "runledger.reports.duplicates", "runledger.storage.retries"],
            counts.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void CountersWithoutATagStillCount()
    {
        long total = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LedgerTelemetry.Name && instrument.Name == LedgerTelemetry.DeadLettersCounter) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref total, value));
        listener.Start();

        LedgerTelemetry.DeadLettered();

        Assert.True(Interlocked.Read(ref total) >= 1);
    }
}
