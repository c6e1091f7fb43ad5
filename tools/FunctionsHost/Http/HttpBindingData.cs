using System.Globalization;
using System.Text;
using System.Text.Json;
using FunctionsHost.Rpc;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FunctionsHost.Http;

/// <summary>
/// The trigger metadata (binding data) of an HTTP invocation, built as Azure's host builds it
/// (azure-webjobs-sdk-extensions src/WebJobs.Extensions.Http/HttpTriggerAttributeBindingProvider.cs,
/// <c>GetRequestBindingData</c>; sent to the worker by azure-functions-host
/// src/WebJobs.Script.Grpc/Extensions/ScriptInvocationContextExtensions.cs), in this order, later
/// sources replacing earlier ones of the same name (case-insensitive):
/// <list type="number">
/// <item>when the request has a body (<c>Content-Length</c> &gt; 0) that looks like JSON, its top-level
/// members, except arrays and nulls (objects as JSON, anything else as text; Utility.ApplyBindingData);</item>
/// <item>every query parameter except <c>code</c>, the last value of a repeated one winning
/// (HttpRequestExtensions.GetQueryParameterDictionary);</item>
/// <item>the route's values;</item>
/// <item><c>Query</c> and <c>Headers</c>, the whole collections as JSON, unless a name above took them.</item>
/// </list>
/// So a function must never take a value it needs from the route out of binding data by name alone:
/// on a route without <c>{runId}</c>, <c>?runId=</c> (or a body member) fills <c>runId</c>.
/// </summary>
internal static class HttpBindingData
{
    public static async Task<Dictionary<string, TypedData>> BuildAsync(HttpRequest request, RouteValueDictionary routeValues)
    {
        var data = new Dictionary<string, TypedData>(StringComparer.OrdinalIgnoreCase);
        if (request.ContentLength > 0)
        {
            AddBodyMembers(data, await ReadBodyAsync(request));
        }
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Query)
        {
            query[name] = values.LastOrDefault() ?? "";
            if (!string.Equals(name, "code", StringComparison.OrdinalIgnoreCase))
            {
                data[name] = new TypedData { String = query[name] };
            }
        }
        foreach (var (name, value) in routeValues)
        {
            if (value is not null)
            {
                data[name] = new TypedData { String = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "" };
            }
        }
        data.TryAdd("Query", new TypedData { Json = JsonSerializer.Serialize(query) });
        data.TryAdd("Headers", new TypedData
        {
            Json = JsonSerializer.Serialize(request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)),
        });
        return data;
    }

    /// <summary>Reads the body and rewinds it, so it is still forwarded whole (the host buffers it the same way).</summary>
    private static async Task<string> ReadBodyAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var reader = new StreamReader(request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        return text;
    }

    private static void AddBodyMembers(Dictionary<string, TypedData> data, string body)
    {
        var trimmed = body.Trim();
        if (!(trimmed.StartsWith('{') && trimmed.EndsWith('}')))
        {
            return; // arrays and anything else add nothing (the host's JObject.Parse fails on them, silently)
        }
        try
        {
            using var document = JsonDocument.Parse(trimmed);
            foreach (var member in document.RootElement.EnumerateObject())
            {
                switch (member.Value.ValueKind)
                {
                    case JsonValueKind.Array or JsonValueKind.Null or JsonValueKind.Undefined:
                        break;
                    case JsonValueKind.Object:
                        data[member.Name] = new TypedData { Json = member.Value.GetRawText() };
                        break;
                    case JsonValueKind.String:
                        data[member.Name] = new TypedData { String = Text(member.Value) };
                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        // Newtonsoft's (string) of a boolean token, as the host converts it.
                        data[member.Name] = new TypedData { String = member.Value.GetBoolean() ? "True" : "False" };
                        break;
                    default:
                        data[member.Name] = new TypedData { String = member.Value.GetRawText() };
                        break;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            // Not JSON after all, or not readable as such: the host ignores it too (Utility.ApplyBindingData catches everything).
        }
    }

    /// <summary>
    /// A string member's value. One with an unpaired surrogate escape (<c>"\uD800"</c>) cannot be read as UTF-16
    /// here; Azure's host (Newtonsoft) reads it and protobuf's UTF-8 encoding then turns the surrogate into U+FFFD,
    /// so that is what is sent. The function reads the body itself and refuses it (400).
    /// </summary>
    private static string Text(JsonElement value)
    {
        try
        {
            return value.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            return "\uFFFD";
        }
    }
}
