using System.Text.Json;
using System.Text.Json.Nodes;

namespace RunLedger.Http;

/// <summary>
/// The one way client JSON (request bodies and queue messages) enters the ledger: strictly
/// parsed, so that whatever is accepted can be stored, read and serialized again. Refused with a
/// 400 (a dead letter for queue messages): duplicate member names, strings with unpaired UTF-16
/// surrogates, and nesting deeper than <see cref="MaxDepth"/>.
/// </summary>
public static class JsonInput
{
    /// <summary>
    /// Deepest nesting accepted. Outputs wrap stored documents a few levels deeper (list pages,
    /// events, costs), and every output must stay well within the serializer's limit of 64.
    /// </summary>
    public const int MaxDepth = 32;

    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>Parses <paramref name="utf8"/> strictly; <paramref name="what"/> names it in errors ("The body", "The message").</summary>
    public static JsonNode? Parse(ReadOnlyMemory<byte> utf8, string what)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(utf8.Span, documentOptions: Strict);
        }
        catch (JsonException ex)
        {
            throw LedgerException.BadRequest($"{what} is not valid JSON: {ex.Message}");
        }
        catch (InvalidOperationException)
        {
            // Comparing member names for duplicates decodes them; an unpaired surrogate fails there.
            throw Unpaired(what, "$ (a member name)");
        }
        if (node is not null) Check(node, "$", 1, what);
        return node;
    }

    public static JsonNode? Parse(string text, string what) =>
        Parse(System.Text.Encoding.UTF8.GetBytes(text), what);

    private static void Check(JsonNode node, string path, int depth, string what)
    {
        if (depth > MaxDepth)
        {
            throw LedgerException.BadRequest($"{what} is nested deeper than {MaxDepth} levels (at {path}).");
        }
        switch (node)
        {
            case JsonObject obj:
                List<KeyValuePair<string, JsonNode?>> members;
                try
                {
                    members = [.. obj];
                }
                catch (InvalidOperationException)
                {
                    // The reader refuses to decode a member name that is not valid UTF-16.
                    throw Unpaired(what, path + " (a member name)");
                }
                foreach (var (name, value) in members)
                {
                    if (!IsWellFormed(name)) throw Unpaired(what, path + " (a member name)");
                    if (value is not null) Check(value, $"{path}.{name}", depth + 1, what);
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is { } item) Check(item, $"{path}[{i}]", depth + 1, what);
                }
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                string text;
                try
                {
                    text = value.GetValue<string>();
                }
                catch (InvalidOperationException)
                {
                    // The reader refuses to decode an escaped unpaired surrogate.
                    throw Unpaired(what, path);
                }
                if (!IsWellFormed(text)) throw Unpaired(what, path);
                break;
        }
    }

    private static LedgerException Unpaired(string what, string path) =>
        LedgerException.BadRequest($"{what} holds a string with an unpaired UTF-16 surrogate (at {path}); text must be valid Unicode.");

    private static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return false;
        }
        return true;
    }
}
