using System.Globalization;

namespace RunLedger.Http;

/// <summary>Query-string values shared by the listing endpoints, with their 400s.</summary>
public static class QueryValues
{
    /// <summary>The page size of a listing when the request names none.</summary>
    public const int DefaultPageSize = 20;

    /// <summary>The largest page a listing answers.</summary>
    public const int MaxPageSize = 100;

    /// <summary>A page size: <paramref name="fallback"/> when absent, else a whole number from 1 to <paramref name="max"/>.</summary>
    public static int Limit(string? value, int fallback, int max) =>
        value is null ? fallback
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 && n <= max ? n
        : throw LedgerException.BadRequest($"'limit' must be from 1 to {max}.");

    /// <summary>
    /// A bound of a time window, both ends inclusive: a date and time is exact; a date alone means its
    /// whole day (UTC), as people read "to 2026-12-06": from its first tick, or to its last. Null when absent.
    /// </summary>
    public static DateTimeOffset? TimeBound(string? value, string name, bool endOfDay)
    {
        if (value is null) return null;
        if (DateTime.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            var first = new DateTimeOffset(day, TimeSpan.Zero);
            return !endOfDay ? first : day.Date == DateTime.MaxValue.Date ? DateTimeOffset.MaxValue : first.AddDays(1).AddTicks(-1);
        }
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at.ToUniversalTime()
            : throw LedgerException.BadRequest($"'{name}' must be an ISO 8601 date or date and time, e.g. 2026-01-15 or 2026-01-15T18:00:00Z.");
    }
}
