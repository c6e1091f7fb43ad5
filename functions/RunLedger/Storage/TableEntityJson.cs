using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Azure;

namespace RunLedger.Storage;

/// <summary>
/// Entity ↔ OData JSON (minimal metadata). Types JSON cannot carry unambiguously (Int64, DateTime,
/// Guid, Binary, and Double, which would read back as Int32 when integral) travel with
/// <c>Name@odata.type</c>; string, bool and Int32 are inferred by the service.
/// </summary>
internal static class TableEntityJson
{
    private const string TypeSuffix = "@odata.type";
    private const string DateFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static byte[] Serialize(TableEntity entity)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in entity)
            {
                // Timestamp is the service's; a null means "not set" (merge leaves it alone).
                if (value is null || name == TableEntity.TimestampName)
                {
                    continue;
                }

                WriteProperty(writer, name, value);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteProperty(Utf8JsonWriter writer, string name, object value)
    {
        switch (value)
        {
            case string s:
                writer.WriteString(name, s);
                break;
            case bool b:
                writer.WriteBoolean(name, b);
                break;
            case int i:
                writer.WriteNumber(name, i);
                break;
            case long l:
                writer.WriteString(name + TypeSuffix, "Edm.Int64");
                writer.WriteString(name, l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                writer.WriteString(name + TypeSuffix, "Edm.Double");
                if (double.IsFinite(d))
                {
                    writer.WriteNumber(name, d);
                }
                else
                {
                    writer.WriteString(name, double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                }

                break;
            case DateTimeOffset dto:
                writer.WriteString(name + TypeSuffix, "Edm.DateTime");
                writer.WriteString(name, dto.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture));
                break;
            case Guid g:
                writer.WriteString(name + TypeSuffix, "Edm.Guid");
                writer.WriteString(name, g.ToString("D"));
                break;
            case byte[] bytes:
                writer.WriteString(name + TypeSuffix, "Edm.Binary");
                writer.WriteBase64String(name, bytes);
                break;
            default:
                throw new ArgumentException($"Property '{name}' has type {value.GetType().Name}, which Table storage cannot hold.", nameof(value));
        }
    }

    public static TableEntity Deserialize(JsonElement element, ETag headerETag = default)
    {
        var entity = new TableEntity();
        foreach (var property in element.EnumerateObject())
        {
            var name = property.Name;
            if (name == "odata.etag")
            {
                entity.ETag = new ETag(property.Value.GetString()!);
                continue;
            }

            if (name.StartsWith("odata.", StringComparison.Ordinal) || name.EndsWith(TypeSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            // Azurite omits Timestamp's type annotation; it is always a DateTime.
            var edmType = element.TryGetProperty(name + TypeSuffix, out var t) ? t.GetString()
                : name == TableEntity.TimestampName ? "Edm.DateTime" : null;
            entity[name] = ReadValue(property.Value, edmType);
        }

        if (headerETag != default)
        {
            entity.ETag = headerETag;
        }

        return entity;
    }

    private static object? ReadValue(JsonElement value, string? edmType)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return edmType switch
        {
            "Edm.Int64" => value.ValueKind == JsonValueKind.Number ? value.GetInt64() : long.Parse(value.GetString()!, CultureInfo.InvariantCulture),
            "Edm.Int32" => value.ValueKind == JsonValueKind.Number ? value.GetInt32() : int.Parse(value.GetString()!, CultureInfo.InvariantCulture),
            "Edm.Double" => value.ValueKind == JsonValueKind.Number ? value.GetDouble() : double.Parse(value.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture),
            "Edm.DateTime" => DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
            "Edm.Guid" => Guid.Parse(value.GetString()!),
            "Edm.Binary" => value.GetBytesFromBase64(),
            "Edm.Boolean" => value.ValueKind == JsonValueKind.String ? bool.Parse(value.GetString()!) : value.GetBoolean(),
            _ => value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number => ReadUntypedNumber(value),
                _ => value.GetRawText(),
            },
        };
    }

    // Untyped numbers are Int32 when integral and in range, otherwise Double.
    private static object ReadUntypedNumber(JsonElement value)
    {
        var raw = value.GetRawText();
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0 && value.TryGetInt32(out var i))
        {
            return i;
        }

        return value.GetDouble();
    }
}
