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
/// Callbacks: <c>cb|{runId}|{event}|{i}</c> and <c>cbb|{month}|{threshold}|{i}</c> outbox records;
/// <c>cbsec|{runId}</c> a run's callback secrets; <c>budget</c> and <c>spend|{month}</c> the
/// project's spend; due callback deliveries in <see cref="CallbackSchedulePartition"/>.
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

    /// <summary>
    /// The outbox record of one callback of a run event: <c>cb|{runId}|{eventKey}|{index:D2}</c>.
    /// The event key is the event's name for final statuses (once per run) and
    /// <c>stale.{version}</c> for stale marks (a run may go stale, recover, and go stale again).
    /// </summary>
    public static string CallbackRow(string runId, string eventKey, int callbackIndex) =>
        FormattableString.Invariant($"cb|{runId}|{eventKey}|{callbackIndex:D2}");

    /// <summary>Every cost row of a project's partition, of all its runs: <c>[cost|, cost})</c>.</summary>
    public static (string From, string To) CostRange() => ("cost|", "cost}");

    /// <summary>The first row key of a run's callbacks, and the first after them ('}' follows '|').</summary>
    public static (string From, string To) CallbackRange(string runId) => ($"cb|{runId}|", $"cb|{runId}}}");

    /// <summary>A budget alert's outbox record: <c>cbb|{yyyy-MM}|{threshold}|{index:D2}</c>, once per threshold per month.</summary>
    public static string BudgetCallbackRow(string month, string threshold, int callbackIndex) =>
        FormattableString.Invariant($"cbb|{month}|{threshold}|{callbackIndex:D2}");

    /// <summary>The budget alert records of a month, or of one threshold in it: <c>[cbb|{month}|{threshold}|, …)</c>.</summary>
    public static (string From, string To) BudgetCallbackRange(string month, string? threshold = null) =>
        threshold is null ? ($"cbb|{month}|", $"cbb|{month}}}") : ($"cbb|{month}|{threshold}|", $"cbb|{month}|{threshold}}}");

    [GeneratedRegex(@"\A(cb\|[A-Za-z0-9_.-]{1,128}\|[a-z]+(\.[0-9]{1,19})?|cbb\|[0-9]{4}-[0-9]{2}\|[0-9.]{1,12})\|[0-9]{2}\z")]
    private static partial Regex OutboxRowPattern();

    public static bool IsOutboxRow(string value) => OutboxRowPattern().IsMatch(value);

    /// <summary>The callback secrets of a run (taken from its config at start, never shown in the run).</summary>
    public static string CallbackSecretsRow(string runId) => "cbsec|" + runId;

    /// <summary>The project's month-to-date spend, budget and budget callbacks (one row, updated with cost rows).</summary>
    public const string BudgetRow = "budget";

    /// <summary>A closed month's spend, kept when the budget row moves to a new month: <c>spend|{yyyy-MM}</c>.</summary>
    public static string SpendRow(string month) => "spend|" + month;

    /// <summary>
    /// Callback deliveries that are due, across projects: <c>{dueTicks:D19}|{projectId}|{outboxRow}</c>,
    /// so a sweep reads only the entries due before a time, never a project's delivered records.
    /// </summary>
    public const string CallbackSchedulePartition = "~callbacks";

    public static string ScheduleRow(DateTimeOffset due, string projectId, string outboxRow) =>
        FormattableString.Invariant($"{due.UtcTicks:D19}|{projectId}|{outboxRow}");

    /// <summary>The first schedule row due at or after <paramref name="due"/>.</summary>
    public static string ScheduleBound(DateTimeOffset due) => FormattableString.Invariant($"{due.UtcTicks:D19}|");

    /// <summary>The project and outbox row a schedule entry points at, or null when it is not one of ours.</summary>
    public static (DateTimeOffset Due, string ProjectId, string OutboxRow)? ParseScheduleRow(string rowKey)
    {
        var parts = rowKey.Split('|', 3);
        if (parts.Length != 3 || parts[0].Length != 19 || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks || !IsValidId(parts[1]) || !IsOutboxRow(parts[2]))
        {
            return null;
        }
        return (new DateTimeOffset(ticks, TimeSpan.Zero), parts[1], parts[2]);
    }

    /// <summary>The first key after every key that starts with <paramref name="prefix"/> (which ends in '|', and '}' follows '|').</summary>
    public static string PrefixEnd(string prefix) => prefix[..^1] + "}";

    /// <summary>
    /// A run's rows of one kind (events, event-id markers, cost rows, callback records), which
    /// retention deletes with it: <c>[{kind}|{runId}|, {kind}|{runId}})</c>.
    /// </summary>
    public static IEnumerable<(string From, string To)> RunChildRanges(string runId) =>
        new[] { $"evt|{runId}|", $"eid|{runId}|", $"cost|{runId}|", $"cb|{runId}|" }.Select(prefix => (prefix, PrefixEnd(prefix)));

    /// <summary>Every idempotency record of a project: <c>[idem|, idem})</c>.</summary>
    public static (string From, string To) IdempotencyRange() => ("idem|", "idem}");

    /// <summary>Every cost row of one run: <c>[cost|{runId}|, cost|{runId}})</c>.</summary>
    public static (string From, string To) RunCostRange(string runId) => ($"cost|{runId}|", $"cost|{runId}}}");

    // Cost analytics, in CostsPartition: per completed run a head row naming its four entries,
    // which order runs by completion time and by cost, across projects and within one.

    /// <summary>The analytics head of a completed run: <c>run|{projectId}|{runId}</c>.</summary>
    public static string AnalyticsHeadRow(string projectId, string runId) => $"run|{projectId}|{runId}";

    /// <summary>
    /// A completed run's analytics entries: by completion time (<c>done|</c>, within the project
    /// <c>pdone|</c>) and by cost, costliest first (<c>top|</c>, <c>ptop|</c>).
    /// </summary>
    public static string[] AnalyticsRows(string projectId, string runId, DateTimeOffset completedAt, long costMicros)
    {
        var ticks = Ticks(completedAt);
        var inverted = (long.MaxValue - costMicros).ToString("D19", System.Globalization.CultureInfo.InvariantCulture);
        return [$"done|{ticks}|{projectId}|{runId}", $"pdone|{projectId}|{ticks}|{runId}", $"top|{inverted}|{projectId}|{runId}", $"ptop|{projectId}|{inverted}|{runId}"];
    }

    /// <summary>The analytics entries of runs completed from <paramref name="from"/> to <paramref name="to"/> (both inclusive), of one project or all.</summary>
    public static (string From, string To) CompletedRange(string? projectId, DateTimeOffset from, DateTimeOffset to)
    {
        var prefix = projectId is null ? "done|" : $"pdone|{projectId}|";
        return (prefix + Ticks(from), prefix + Ticks(to) + "}");
    }

    /// <summary>The by-cost analytics entries, costliest first, of one project or all.</summary>
    public static (string From, string To) CostliestRange(string? projectId)
    {
        var prefix = projectId is null ? "top|" : $"ptop|{projectId}|";
        return (prefix, PrefixEnd(prefix));
    }

    private static string Ticks(DateTimeOffset at) => at.UtcTicks.ToString("D19", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The run id and sequence of a cost row key (<c>cost|{runId}|{seq}</c>), or null when it is not one.</summary>
    public static (string RunId, long Sequence)? ParseCostRow(string rowKey)
    {
        var parts = rowKey.Split('|');
        return parts.Length == 3 && parts[0] == "cost" && IsValidId(parts[1])
            && long.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence)
            ? (parts[1], sequence) : null;
    }

    // Monthly statements. A closed statement is a row of its project: stmt|{yyyy-MM}. Numbers are
    // handed out per month across projects in StatementsPartition: seq|{yyyyMM} holds the last one
    // given, claim|{yyyyMM}|{projectId} the project's, written in one transaction.

    /// <summary>A project's closed statement of <paramref name="month"/> (<c>yyyy-MM</c>): <c>stmt|{month}</c>.</summary>
    public static string StatementRow(string month) => "stmt|" + month;

    /// <summary>The month (<c>yyyy-MM</c>) of a closed statement's row key.</summary>
    public static string StatementMonth(string rowKey) => rowKey["stmt|".Length..];

    /// <summary>Every closed statement of a project: <c>[stmt|, stmt})</c>.</summary>
    public static (string From, string To) StatementRange() => ("stmt|", "stmt}");

    /// <summary>Statement numbers, across projects; no project id can name it.</summary>
    public const string StatementsPartition = "~statements";

    /// <summary>The last statement number given for a month (<c>yyyyMM</c>).</summary>
    public static string StatementCounterRow(string yearMonth) => "seq|" + yearMonth;

    /// <summary>The number a project's statement of a month (<c>yyyyMM</c>) was given.</summary>
    public static string StatementClaimRow(string yearMonth, string projectId) => $"claim|{yearMonth}|{projectId}";

    /// <summary>The price book's models added or changed through the API; no project id can name it.</summary>
    public const string PricingPartition = "~pricing";

    /// <summary>One model's prices in the price book: <c>model|{modelId}</c> (lower case: ids match case-insensitively).</summary>
    public static string PriceModelRow(string modelId) => "model|" + modelId.ToLowerInvariant();

    /// <summary>A reprice's audit record in its project's partition: <c>reprice|{repriceId}</c>.</summary>
    public static string RepriceRow(string repriceId) => "reprice|" + repriceId;

    public static string Hash(string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
