using System.Text.Json.Nodes;
using Azure.Data.Tables;

namespace RunLedger.Ledger;

/// <summary>
/// Stores a JSON document in a table entity as UTF-8 split across binary properties
/// (<c>Doc0</c>, <c>Doc1</c>, ...), because one property holds at most 64 KiB and a run's seed
/// data and config may be far larger. The entity as a whole must stay under 1 MiB.
/// </summary>
public static class DocumentColumns
{
    public const int ChunkBytes = 64 * 1024;

    /// <summary>15 chunks leave room under the 1 MiB entity limit for keys and other properties.</summary>
    public const int MaxChunks = 15;

    public const int MaxDocumentBytes = ChunkBytes * MaxChunks;

    public const string DefaultPrefix = "Doc";

    /// <returns>The number of bytes written.</returns>
    public static int Write(TableEntity entity, JsonNode document, string prefix = DefaultPrefix)
    {
        var bytes = JsonMerge.ToUtf8(document);
        if (bytes.Length > MaxDocumentBytes)
        {
            throw new DocumentTooLargeException(bytes.Length);
        }

        var chunks = (bytes.Length + ChunkBytes - 1) / ChunkBytes;
        if (chunks == 1)
        {
            // The common case: one property, no copy.
            entity[Name(prefix, 0)] = bytes;
            entity[prefix + "Chunks"] = 1;
            return bytes.Length;
        }
        for (var i = 0; i < chunks; i++)
        {
            var offset = i * ChunkBytes;
            entity[Name(prefix, i)] = bytes.AsSpan(offset, Math.Min(ChunkBytes, bytes.Length - offset)).ToArray();
        }
        entity[prefix + "Chunks"] = chunks;
        return bytes.Length;
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

    private static string Name(string prefix, int index) => prefix + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A document that cannot fit in one table entity.</summary>
public sealed class DocumentTooLargeException(int bytes)
    : Exception($"The document is {bytes} bytes as JSON; at most {DocumentColumns.MaxDocumentBytes} bytes can be stored.")
{
    public int Bytes { get; } = bytes;
}
