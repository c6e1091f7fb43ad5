using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RunLedger.Telemetry;

/// <summary>
/// The ledger's own traces and metrics, under one name. Counting is always on and costs next to
/// nothing; whether anything leaves the process is decided in <see cref="TelemetrySetup"/>.
/// </summary>
public static class LedgerTelemetry
{
    public const string Name = "RunLedger";

    public const string ReportsAppliedCounter = "runledger.reports.applied";
    public const string ReportsDuplicatesCounter = "runledger.reports.duplicates";
    public const string DeadLettersCounter = "runledger.deadletters";
    public const string StorageRetriesCounter = "runledger.storage.retries";

    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Counter<long> ReportsApplied = Meter.CreateCounter<long>(
        ReportsAppliedCounter, "{report}", "Progress reports applied to a run (first delivery).");

    private static readonly Counter<long> ReportsDuplicates = Meter.CreateCounter<long>(
        ReportsDuplicatesCounter, "{report}", "Progress reports recognised as already applied and ignored.");

    private static readonly Counter<long> DeadLetters = Meter.CreateCounter<long>(
        DeadLettersCounter, "{message}", "Messages that could never be applied and were stored as dead letters.");

    private static readonly Counter<long> StorageRetries = Meter.CreateCounter<long>(
        StorageRetriesCounter, "{retry}", "Storage operations repeated after a conflict or a transient failure.");

    /// <param name="source">Where the report came from, e.g. <c>queue</c>, <c>http</c>, <c>host</c>; tagged when given.</param>
    public static void ReportApplied(string? source = null) => Add(ReportsApplied, source);

    public static void ReportDuplicate(string? source = null) => Add(ReportsDuplicates, source);

    public static void DeadLettered(string? source = null) => Add(DeadLetters, source);

    public static void StorageRetry(string? operation = null)
    {
        if (operation is null) StorageRetries.Add(1);
        else StorageRetries.Add(1, new KeyValuePair<string, object?>("operation", operation));
    }

    /// <summary>Starts a span (null when nobody listens), e.g. around applying one report.</summary>
    public static Activity? StartActivity(string name, ActivityKind kind = ActivityKind.Internal) =>
        ActivitySource.StartActivity(name, kind);

    private static void Add(Counter<long> counter, string? source)
    {
        if (source is null) counter.Add(1);
        else counter.Add(1, new KeyValuePair<string, object?>("source", source));
    }
}
