using System.Globalization;

namespace RunLedger.Storage;

/// <summary>
/// Builds OData filters from interpolated strings, turning every interpolated value into a
/// correctly escaped literal, so untrusted input can never change the shape of the filter.
/// <code>TableFilter.Create($"PartitionKey eq {pk} and Count gt {min}")</code>
/// </summary>
public static class TableFilter
{
    public static string Create(FormattableString filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var literals = new object[filter.ArgumentCount];
        for (var i = 0; i < literals.Length; i++)
        {
            literals[i] = Literal(filter.GetArgument(i), i);
        }

        // Literals are strings, so any format specifier in the template is ignored.
        return string.Format(CultureInfo.InvariantCulture, filter.Format, literals);
    }

    private static string Literal(object? value, int index) => value switch
    {
        null => throw new ArgumentException($"Filter argument {index} is null; use a comparison the service understands instead.", nameof(value)),
        string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture) + "L",
        double d => DoubleLiteral(d, index),
        DateTimeOffset dto => "datetime'" + dto.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) + "'",
        DateTime dt => Literal(new DateTimeOffset(DateTime.SpecifyKind(dt, dt.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : dt.Kind)), index),
        Guid g => "guid'" + g.ToString("D") + "'",
        byte[] bytes => "X'" + Convert.ToHexStringLower(bytes) + "'",
        _ => throw new ArgumentException($"Filter argument {index} has type {value.GetType().Name}, which has no OData literal here.", nameof(value)),
    };

    private static string DoubleLiteral(double d, int index)
    {
        if (!double.IsFinite(d))
        {
            throw new ArgumentException($"Filter argument {index} is not a finite number.", nameof(d));
        }

        // "5" would read as an Int32 literal; keep doubles recognisably doubles.
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.AsSpan().IndexOfAny('.', 'E', 'e') < 0 ? text + ".0" : text;
    }
}
