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
}
