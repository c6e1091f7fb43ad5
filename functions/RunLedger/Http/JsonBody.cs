using System.Text.Json;
using System.Text.Json.Nodes;

namespace RunLedger.Http;

/// <summary>Reads request bodies as JSON objects with the ledger's limits and precise errors.</summary>
public static class JsonBody
{
    public const int MaxBytes = 1024 * 1024;

    public static async Task<JsonObject> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentType is { } type && !IsJson(type))
        {
            throw new LedgerException(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"The body must be JSON (application/json), not '{type}'.");
        }
        if (request.ContentLength > MaxBytes)
        {
            throw TooLarge();
        }

        var bytes = await ReadLimitedAsync(request.Body, cancellationToken);
        if (bytes.Length == 0)
        {
            throw LedgerException.BadRequest("The body is empty; a JSON object is required.");
        }

        return JsonInput.Parse(bytes, "The body") as JsonObject
            ?? throw LedgerException.BadRequest("The body must be a JSON object.");
    }

    /// <summary>As <see cref="ReadObjectAsync"/>, but an empty body is an empty object.</summary>
    public static async Task<JsonObject> ReadOptionalObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBytes) throw TooLarge();
        var bytes = await ReadLimitedAsync(request.Body, cancellationToken);
        if (bytes.Length == 0) return [];
        if (request.ContentType is { } type && !IsJson(type))
        {
            throw new LedgerException(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"The body must be JSON (application/json), not '{type}'.");
        }
        return JsonInput.Parse(bytes, "The body") as JsonObject
            ?? throw LedgerException.BadRequest("The body must be a JSON object.");
    }

    private static bool IsJson(string contentType) =>
        contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
        || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase);

    private static async Task<byte[]> ReadLimitedAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes) throw TooLarge();
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static LedgerException TooLarge() =>
        LedgerException.TooLarge($"The body is larger than {MaxBytes} bytes (1 MiB).");

    /// <summary>The string value of a member, or null when absent; a 400 when present with another type.</summary>
    public static string? OptionalString(JsonObject body, string name) =>
        body[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => throw LedgerException.BadRequest($"'{name}' must be a string."),
        };

    /// <summary>An object member, or null when absent or null; a 400 when present with another type.</summary>
    public static JsonObject? OptionalObject(JsonObject body, string name) =>
        body[name] switch
        {
            null => null,
            JsonObject o => o,
            _ => throw LedgerException.BadRequest($"'{name}' must be a JSON object."),
        };
}
