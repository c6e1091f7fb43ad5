using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Azure;

namespace RunLedger.Storage;

/// <summary>
/// A table row as a property bag, like Azure.Data.Tables' TableEntity. PartitionKey, RowKey and
/// Timestamp live in the bag; the ETag is kept beside it. Values may be string, bool, int, long,
/// double, DateTimeOffset (DateTime is stored as UTC DateTimeOffset), Guid or byte[].
/// </summary>
[SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Justification = "Mirrors Azure.Data.Tables.TableEntity so a later swap is mechanical.")]
public sealed class TableEntity : IDictionary<string, object?>
{
    public const string PartitionKeyName = "PartitionKey";
    public const string RowKeyName = "RowKey";
    public const string TimestampName = "Timestamp";

    private readonly Dictionary<string, object?> _properties = new(StringComparer.Ordinal);

    public TableEntity()
    {
    }

    public TableEntity(string partitionKey, string rowKey)
    {
        PartitionKey = partitionKey;
        RowKey = rowKey;
    }

    public string PartitionKey
    {
        get => GetString(PartitionKeyName) ?? string.Empty;
        set => _properties[PartitionKeyName] = value;
    }

    public string RowKey
    {
        get => GetString(RowKeyName) ?? string.Empty;
        set => _properties[RowKeyName] = value;
    }

    public DateTimeOffset? Timestamp
    {
        get => GetDateTimeOffset(TimestampName);
        set => _properties[TimestampName] = value;
    }

    public ETag ETag { get; set; }

    public ICollection<string> Keys => _properties.Keys;

    public ICollection<object?> Values => _properties.Values;

    public int Count => _properties.Count;

    public bool IsReadOnly => false;

    public object? this[string key]
    {
        get => _properties[key];
        set => _properties[key] = Normalize(key, value);
    }

    public void Add(string key, object? value) => _properties.Add(key, Normalize(key, value));

    public bool ContainsKey(string key) => _properties.ContainsKey(key);

    public bool Remove(string key) => _properties.Remove(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object? value) => _properties.TryGetValue(key, out value);

    public void Add(KeyValuePair<string, object?> item) => Add(item.Key, item.Value);

    public void Clear() => _properties.Clear();

    public bool Contains(KeyValuePair<string, object?> item) => ((ICollection<KeyValuePair<string, object?>>)_properties).Contains(item);

    public void CopyTo(KeyValuePair<string, object?>[] array, int arrayIndex) =>
        ((ICollection<KeyValuePair<string, object?>>)_properties).CopyTo(array, arrayIndex);

    public bool Remove(KeyValuePair<string, object?> item) => ((ICollection<KeyValuePair<string, object?>>)_properties).Remove(item);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _properties.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public string? GetString(string key) => Get(key) switch
    {
        null => null,
        string s => s,
        var other => throw Mismatch(key, other, "string"),
    };

    public long? GetInt64(string key) => Get(key) switch
    {
        null => null,
        long l => l,
        int i => i,
        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        var other => throw Mismatch(key, other, "Int64"),
    };

    public int? GetInt32(string key) => Get(key) switch
    {
        null => null,
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        string s when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) => i,
        var other => throw Mismatch(key, other, "Int32"),
    };

    public bool? GetBoolean(string key) => Get(key) switch
    {
        null => null,
        bool b => b,
        string s when bool.TryParse(s, out var b) => b,
        var other => throw Mismatch(key, other, "Boolean"),
    };

    public double? GetDouble(string key) => Get(key) switch
    {
        null => null,
        double d => d,
        int i => i,
        long l => l,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        var other => throw Mismatch(key, other, "Double"),
    };

    public DateTimeOffset? GetDateTimeOffset(string key) => Get(key) switch
    {
        null => null,
        DateTimeOffset d => d,
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind)),
        string s when DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d) => d,
        var other => throw Mismatch(key, other, "DateTimeOffset"),
    };

    public Guid? GetGuid(string key) => Get(key) switch
    {
        null => null,
        Guid g => g,
        string s when Guid.TryParse(s, out var g) => g,
        var other => throw Mismatch(key, other, "Guid"),
    };

    public byte[]? GetBinary(string key) => Get(key) switch
    {
        null => null,
        byte[] b => b,
        BinaryData b => b.ToArray(),
        string s => FromBase64(key, s),
        var other => throw Mismatch(key, other, "Binary"),
    };

    private object? Get(string key) => _properties.TryGetValue(key, out var value) ? value : null;

    private static byte[] FromBase64(string key, string value)
    {
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"Property '{key}' is a string that is not base64, not Binary.", ex);
        }
    }

    private static InvalidOperationException Mismatch(string key, object value, string wanted) =>
        new($"Property '{key}' holds a {value.GetType().Name}, not a {wanted}.");

    /// <summary>Rejects types the Table service cannot store, at the point they are set.</summary>
    private static object? Normalize(string key, object? value) => value switch
    {
        null or string or bool or int or long or double or DateTimeOffset or Guid or byte[] => value,
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind)).ToUniversalTime(),
        BinaryData b => b.ToArray(),
        _ => throw new ArgumentException($"Property '{key}' has type {value.GetType().Name}, which Table storage cannot hold.", nameof(value)),
    };
}
