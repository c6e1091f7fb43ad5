using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace RunLedger.Ledger;

/// <summary>
/// Validation of caller-supplied ids and the row-key layout of the ledger table. Every key that
/// reaches storage is built here from validated parts, so no raw input becomes a key.
/// </summary>
/// <remarks>
/// Partition = project id. Row keys, all in the project's partition so that every change to a
/// run is one entity-group transaction:
/// <c>run|{runId}</c> the run; <c>idx|{invertedTicks}|{runId}</c> its newest-first index entry;
/// <c>idem|{sha256(Idempotency-Key)}</c>; <c>config</c> the project's config;
/// <c>evt|{runId}|{seq}</c> applied reports; <c>eid|{runId}|{sha256(eventId)}</c> their event ids;
/// <c>cost|{runId}|{seq}</c> the cost rows of reports with usage; <c>act|{runId}</c> one row per
/// active (queued or running) run, for the stale sweep; <c>counts</c> the project's runs per status.
/// Cost analytics live in <see cref="CostsPartition"/>, and every project with runs has a row in
/// <see cref="ProjectsPartition"/>.
/// Dead letters live in their own partition, <see cref="DeadLetterPartition"/>, which no
/// project id can name.
/// </remarks>
public static partial class Keys
{
    public const int MaxIdLength = 128;

    [GeneratedRegex(@"\A[A-Za-z0-9_.-]{1,128}\z")]
    private static partial Regex IdPattern();

    public static bool IsValidId(string? value) => value is not null && IdPattern().IsMatch(value);

    /// <summary>Returns null when valid, else a sentence saying what is wrong.</summary>
    public static string? Problem(string name, string? value) =>
        value switch
        {
            null or "" => $"'{name}' is required.",
            { Length: > MaxIdLength } => $"'{name}' is longer than {MaxIdLength} characters.",
            _ when !IdPattern().IsMatch(value) =>
                $"'{name}' may contain only letters, digits, '_', '-' and '.'.",
            _ => null,
        };

    public const string ConfigRow = "config";

    /// <summary>The project's runs per status and stale, kept in the transactions that change them.</summary>
    public const string CountsRow = "counts";

    /// <summary>One row per project that has runs (row key = project id): what the timers iterate.</summary>
    public const string ProjectsPartition = "~projects";

    /// <summary>The active-runs index entry of a queued or running run.</summary>
    public static string ActiveRow(string runId) => "act|" + runId;

    public const string ActivePrefix = "act|";

    /// <summary>The first key after every active row ('}' follows '|').</summary>
    public const string ActiveEnd = "act}";

    /// <summary>The index rows of runs created before <paramref name="at"/> start here (newest first).</summary>
    public static string IndexRowsCreatedBefore(DateTimeOffset at) =>
        FormattableString.Invariant($"idx|{DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks + 1:D19}|");

    public const string DeadLetterPartition = "~deadletters";

    /// <summary>Completed runs' totals, ordered for analytics; no project id can name it.</summary>
    public const string CostsPartition = "~costs";

    public static string DeadLetterRow(DateTimeOffset at, string id) =>
        FormattableString.Invariant($"{DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks:D19}|{Hash(id)}");

    public static string RunRow(string runId) => "run|" + runId;

    public static string IndexRow(DateTimeOffset createdAt, string runId) =>
        FormattableString.Invariant($"idx|{DateTimeOffset.MaxValue.UtcTicks - createdAt.UtcTicks:D19}|{runId}");

    public const string IndexPrefix = "idx|";

    /// <summary>The first key after every index row ('}' follows '|').</summary>
    public const string IndexEnd = "idx}";

    [GeneratedRegex(@"\Aidx\|[0-9]{19}\|[A-Za-z0-9_.-]{1,128}\z")]
    private static partial Regex IndexRowPattern();

    public static bool IsIndexRow(string value) => IndexRowPattern().IsMatch(value);

    /// <summary>A run's applied report number <paramref name="sequence"/>: <c>evt|{runId}|{seq:D10}</c>.</summary>
    public static string EventRow(string runId, long sequence) =>
        FormattableString.Invariant($"evt|{runId}|{sequence:D10}");

    /// <summary>The cost row of the run's event <paramref name="sequence"/>: <c>cost|{runId}|{seq:D10}</c>.</summary>
    public static string CostRow(string runId, long sequence) =>
        FormattableString.Invariant($"cost|{runId}|{sequence:D10}");

    /// <summary>Marks a report's event id as applied to the run, so a redelivery is recognised.</summary>
    public static string EventIdRow(string runId, string eventId) => $"eid|{runId}|{Hash(eventId)}";

    [GeneratedRegex(@"\A[0-9]{19}\|[0-9a-f]{64}\z")]
    private static partial Regex DeadLetterRowPattern();

    public static bool IsDeadLetterRow(string value) => DeadLetterRowPattern().IsMatch(value);

    public static string IdempotencyRow(string idempotencyKey) => "idem|" + Hash(idempotencyKey);

    public static string Hash(string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
