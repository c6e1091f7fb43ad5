using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RunLedger.Tests.Support;

/// <summary>
/// The served OpenAPI document as a contract to hold answers to: which statuses an operation
/// declares, with which media types, and whether a JSON body fits its schema. The schema check
/// covers what the document uses (OpenAPI 3.0: $ref, type, nullable, enum, required, properties,
/// additionalProperties, items, pattern, lengths, minimum and maximum).
/// </summary>
public sealed class OpenApiContract(JsonObject document)
{
    public static async Task<OpenApiContract> ReadAsync(HttpClient client) =>
        new(JsonNode.Parse(await client.GetStringAsync("/api/openapi.json"))!.AsObject());

    public JsonObject Document { get; } = document;

    /// <summary>Every operation by its id.</summary>
    public IReadOnlyDictionary<string, JsonObject> Operations =>
        (from path in Document["paths"]!.AsObject()
         from operation in path.Value!.AsObject()
         select operation.Value!.AsObject()).ToDictionary(o => (string)o["operationId"]!, StringComparer.Ordinal);

    /// <summary>The statuses <paramref name="operationId"/> declares.</summary>
    public IReadOnlySet<int> Statuses(string operationId) =>
        Operations[operationId]["responses"]!.AsObject().Select(r => int.Parse(r.Key, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();

    /// <summary>The response <paramref name="operationId"/> declares for <paramref name="status"/> ($ref resolved), or null.</summary>
    public JsonObject? Response(string operationId, int status) =>
        Operations[operationId]["responses"]![status.ToString(System.Globalization.CultureInfo.InvariantCulture)] is { } response ? Resolve(response).AsObject() : null;

    /// <summary>The media types the response declares (none for a bodiless one).</summary>
    public IReadOnlyList<string> MediaTypes(string operationId, int status) =>
        Response(operationId, status)?["content"]?.AsObject().Select(c => c.Key).ToList() ?? [];

    /// <summary>What is wrong with an answer: an undeclared status or media type, or a JSON body off its schema.</summary>
    public IEnumerable<string> CheckAnswer(string operationId, int status, string? mediaType, string body)
    {
        if (Response(operationId, status) is not { } response)
        {
            yield return $"{operationId} answered {status}, which it does not declare";
            yield break;
        }
        if (response["content"] is not JsonObject content)
        {
            if (body.Length > 0) yield return $"{operationId} answered {status} with a body ({mediaType}), which it declares without one";
            yield break;
        }
        if (mediaType is null || content[mediaType] is not { } declared)
        {
            yield return $"{operationId} answered {status} as '{mediaType}', not one of {string.Join(", ", content.Select(c => c.Key))}";
            yield break;
        }
        if (!mediaType.EndsWith("json", StringComparison.Ordinal)) yield break;
        foreach (var problem in Check(declared["schema"]!, JsonNode.Parse(body), "$"))
        {
            yield return $"{operationId} {status}: {problem}";
        }
    }

    /// <summary>What is wrong with a JSON request body the operation accepted, against its declared request schema.</summary>
    public IEnumerable<string> CheckRequest(string operationId, string body)
    {
        if (Operations[operationId]["requestBody"]?["content"]?["application/json"]?["schema"] is not { } schema)
        {
            return [$"{operationId} read a body it declares none for"];
        }
        return body.Length == 0 ? [] : Check(schema, JsonNode.Parse(body), "$").Select(p => $"{operationId} request: {p}");
    }

    public IEnumerable<string> Check(JsonNode schemaNode, JsonNode? value, string path)
    {
        var schema = Resolve(schemaNode).AsObject();
        if (value is null)
        {
            if (schema["type"] is not null && (bool?)schema["nullable"] != true) yield return $"{path} is null, which its schema does not allow";
            yield break;
        }
        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, value)))
        {
            yield return $"{path} is {Show(value)}, not one of {allowed.ToJsonString()}";
        }
        var kind = value.GetValueKind();
        switch ((string?)schema["type"])
        {
            case "object" when kind != JsonValueKind.Object:
            case "array" when kind != JsonValueKind.Array:
            case "string" when kind != JsonValueKind.String:
            case "boolean" when kind is not (JsonValueKind.True or JsonValueKind.False):
            case "number" when kind != JsonValueKind.Number:
            case "integer" when kind != JsonValueKind.Number || decimal.Truncate(value.GetValue<decimal>()) != value.GetValue<decimal>():
                yield return $"{path} is {Show(value)}, not of type {schema["type"]}";
                yield break;
        }
        switch (value)
        {
            case JsonObject obj:
                var properties = schema["properties"]?.AsObject();
                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    if (!obj.ContainsKey((string)required!)) yield return $"{path} lacks '{required}'";
                }
                foreach (var (name, member) in obj)
                {
                    var memberSchema = properties?[name] ?? schema["additionalProperties"];
                    if (memberSchema is JsonValue open && open.GetValueKind() == JsonValueKind.False)
                    {
                        yield return $"{path} has '{name}', which its schema does not allow";
                    }
                    else if (memberSchema is JsonObject)
                    {
                        foreach (var problem in Check(memberSchema, member, $"{path}.{name}")) yield return problem;
                    }
                }
                break;
            case JsonArray array when schema["items"] is { } items:
                for (var i = 0; i < array.Count; i++)
                {
                    foreach (var problem in Check(items, array[i], $"{path}[{i}]")) yield return problem;
                }
                break;
            case JsonValue when kind == JsonValueKind.String:
                var text = value.GetValue<string>();
                if (schema["pattern"] is { } pattern && !Regex.IsMatch(text, (string)pattern!)) yield return $"{path} is {Show(value)}, which does not match {pattern}";
                if ((int?)schema["minLength"] is { } min && text.Length < min) yield return $"{path} is shorter than {min}";
                if ((int?)schema["maxLength"] is { } max && text.Length > max) yield return $"{path} is longer than {max}";
                if ((string?)schema["format"] == "date-time" && !DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out _))
                {
                    yield return $"{path} is {Show(value)}, not a date-time";
                }
                break;
            case JsonValue when kind == JsonValueKind.Number:
                var number = value.GetValue<decimal>();
                if ((decimal?)schema["minimum"] is { } minimum && number < minimum) yield return $"{path} is {number}, below {minimum}";
                if ((decimal?)schema["maximum"] is { } maximum && number > maximum) yield return $"{path} is {number}, above {maximum}";
                break;
        }
    }

    private JsonNode Resolve(JsonNode node)
    {
        while (node["$ref"] is { } reference)
        {
            var parts = ((string)reference!).TrimStart('#', '/').Split('/');
            node = parts.Aggregate((JsonNode)Document, (at, part) => at[part] ?? throw new InvalidOperationException($"Unresolved {reference}"));
        }
        return node;
    }

    private static string Show(JsonNode value)
    {
        var text = value.ToJsonString();
        return text.Length > 80 ? text[..80] + "..." : text;
    }
}
