using System.Text.Json.Nodes;
using Azure.Data.Tables;

namespace RunLedger.Ledger;

/// <summary>
/// Stores a JSON document in a table entity as UTF-8 split across binary properties
/// (<c>Doc0</c>, <c>Doc1</c>, ...), because one property holds at most 64 KiB and a run's seed
/// data and config may be far larger. The entity as a whole must stay under 1 MiB, counted the
/// way the service counts it: binary values travel base64-encoded, a third larger than the bytes.
/// </summary>
public static class DocumentColumns
{
    /// <summary>64 KiB minus a little, so a chunk stays under the property limit.</summary>
    public const int ChunkBytes = 63 * 1024;

    /// <summary>
    /// The most an entity's documents may take, base64-encoded: 1,000,000 bytes, which leaves
    /// room under the 1 MiB entity limit for keys, property names and the other properties.
    /// </summary>
    public const int MaxEncodedBytes = 1_000_000;

    /// <summary>The largest JSON document that fits: three quarters of <see cref="MaxEncodedBytes"/>, less chunk padding.</summary>
    public const int MaxJsonBytes = MaxEncodedBytes / 4 * 3 - 64;

    /// <summary>The size of <paramref name="bytes"/> stored as chunks, as the service counts it (base64).</summary>
    public static int EncodedSize(int bytes)
    {
        var full = bytes / ChunkBytes;
        var rest = bytes % ChunkBytes;
        return full * ((ChunkBytes + 2) / 3 * 4) + (rest + 2) / 3 * 4;
    }

    public const string DefaultPrefix = "Doc";

    /// <returns>The size written, as the service counts it (<see cref="EncodedSize"/>).</returns>
    public static int Write(TableEntity entity, JsonNode document, string prefix = DefaultPrefix) =>
        Write(entity, JsonMerge.ToUtf8(document), prefix);

    /// <summary>Stores a document already written as UTF-8 JSON (<paramref name="bytes"/>, kept, not copied).</summary>
    public static int Write(TableEntity entity, byte[] bytes, string prefix = DefaultPrefix)
    {
        var encoded = EncodedSize(bytes.Length);
        if (encoded > MaxEncodedBytes)
        {
            throw new DocumentTooLargeException(encoded);
        }

        var chunks = (bytes.Length + ChunkBytes - 1) / ChunkBytes;
        if (chunks == 1)
        {
            // The common case: one property, no copy.
            entity[Name(prefix, 0)] = bytes;
            entity[prefix + "Chunks"] = 1;
            return encoded;
        }
        for (var i = 0; i < chunks; i++)
        {
            var offset = i * ChunkBytes;
            entity[Name(prefix, i)] = bytes.AsSpan(offset, Math.Min(ChunkBytes, bytes.Length - offset)).ToArray();
        }
        entity[prefix + "Chunks"] = chunks;
        return encoded;
    }

    public static JsonObject Read(TableEntity entity, string prefix = DefaultPrefix)
    {
        var chunks = entity.GetInt32(prefix + "Chunks") ?? 0;
        if (chunks == 1 && entity.GetBinary(Name(prefix, 0)) is { } single)
        {
            return JsonNode.Parse(single)!.AsObject();
        }
        var buffer = new MemoryStream();
        for (var i = 0; i < chunks; i++)
        {
            var part = entity.GetBinary(Name(prefix, i))
                ?? throw new InvalidDataException($"Entity {entity.RowKey} lacks document part {i} of {chunks}.");
            buffer.Write(part);
        }
        return chunks == 0 ? [] : JsonNode.Parse(buffer.ToArray())!.AsObject();
    }

    /// <summary>
    /// A document of string members only (a run's field clocks), read as string values: what
    /// <see cref="Read"/> gives, except that reading a member back as a string is not a new string
    /// each time (JSON parsed into nodes keeps the text and decodes it again on every read, and
    /// the clocks are read many times per report). Any other document is read as <see cref="Read"/> does.
    /// </summary>
    public static JsonObject ReadStrings(TableEntity entity, string prefix)
    {
        var chunks = entity.GetInt32(prefix + "Chunks") ?? 0;
        if (chunks != 1 || entity.GetBinary(Name(prefix, 0)) is not { } bytes) return Read(entity, prefix);
        var reader = new System.Text.Json.Utf8JsonReader(bytes);
        var result = new JsonObject();
        if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject) return Read(entity, prefix);
        while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.String) return Read(entity, prefix);
            result[name] = JsonValue.Create(reader.GetString());
        }
        return result;
    }

    private static string Name(string prefix, int index) => prefix + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A document that cannot fit in one table entity.</summary>
public sealed class DocumentTooLargeException(int encodedBytes)
    : Exception(string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"It would take {encodedBytes:N0} bytes in its table entity (JSON stored base64-encoded, as the service counts it); at most {DocumentColumns.MaxEncodedBytes:N0} fit, about {DocumentColumns.MaxJsonBytes:N0} bytes of JSON."))
{
    public int EncodedBytes { get; } = encodedBytes;
}
