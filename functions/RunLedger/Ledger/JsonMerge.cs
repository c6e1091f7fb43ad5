using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RunLedger.Ledger;

/// <summary>JSON helpers shared by config snapshots, run patches and idempotency checks.</summary>
public static class JsonMerge
{
    /// <summary>
    /// Deep-merges <paramref name="patch"/> into <paramref name="target"/> in place (RFC 7396 merge
    /// patch): objects merge member by member, any other value replaces, and null removes.
    /// </summary>
    public static void Into(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject patchObject && target[name] is JsonObject targetObject)
            {
                Into(targetObject, patchObject);
            }
            else
            {
                target[name] = value.DeepClone();
            }
        }
    }

    /// <summary>A merged copy; neither input changes.</summary>
    public static JsonObject Merge(JsonObject? baseline, JsonObject? patch)
    {
        var result = baseline?.DeepClone().AsObject() ?? [];
        if (patch is not null) Into(result, patch);
        return result;
    }

    /// <summary>
    /// A hash of the JSON's content that ignores member order and formatting, so a retried request
    /// with the same meaning matches the first one.
    /// </summary>
    public static string ContentHash(JsonNode? node)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(writer, node);
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (name, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(name);
                    WriteCanonical(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array) WriteCanonical(writer, item);
                writer.WriteEndArray();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }

    /// <summary>
    /// The node as UTF-8 JSON, the same bytes as <c>ToJsonString()</c> encoded, written straight to
    /// bytes through a buffer kept per thread (no string in between): every stored document goes
    /// through here, several per applied report.
    /// </summary>
    public static byte[] ToUtf8(JsonNode node) => ToUtf8(writer => node.WriteTo(writer));

    /// <summary>What <paramref name="write"/> writes, as UTF-8 JSON bytes (through the same per-thread buffer).</summary>
    public static byte[] ToUtf8(Action<Utf8JsonWriter> write)
    {
        var buffer = t_buffer ??= new System.Buffers.ArrayBufferWriter<byte>(4096);
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        try
        {
            writer.Reset(buffer);
            write(writer);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            buffer.ResetWrittenCount();
            // A very large document does not keep its buffer alive on the thread.
            if (buffer.Capacity > MaxKeptBuffer)
            {
                t_buffer = null;
                t_writer = null;
            }
        }
    }

    private const int MaxKeptBuffer = 256 * 1024;

    [ThreadStatic]
    private static System.Buffers.ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;
}
