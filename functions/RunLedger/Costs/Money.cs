namespace RunLedger.Costs;

/// <summary>
/// Money is decimal in code and whole micro-dollars in storage. Each priced part of a cost row is
/// rounded to the micro-dollar once (half away from zero); from then on all sums are integers.
/// Cents appear only when an amount is presented.
/// </summary>
public static class Money
{
    public const long MicrosPerDollar = 1_000_000;
    public const long MicrosPerCent = 10_000;

    public static long ToMicros(decimal dollars) =>
        (long)Math.Round(dollars * MicrosPerDollar, MidpointRounding.AwayFromZero);

    public static decimal ToDollars(long micros) => (decimal)micros / MicrosPerDollar;

    /// <summary>Dollars with four decimals, as the original ledger's NUMERIC(10,4) showed totals.</summary>
    public static decimal ToDollars4(long micros) =>
        decimal.Round(ToDollars(micros), 4, MidpointRounding.AwayFromZero) + 0.0000m;

    /// <summary>Whole cents, rounded half away from zero.</summary>
    public static long ToCents(decimal micros) => (long)Math.Round(micros / MicrosPerCent, MidpointRounding.AwayFromZero);

    public static decimal CentsToDollars(long cents) => cents / 100m + 0.00m;

    /// <summary>Exact dollars as text with six decimals, e.g. "0.003050".</summary>
    public static string Exact(long micros) => ToDollars(micros).ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture);
}
