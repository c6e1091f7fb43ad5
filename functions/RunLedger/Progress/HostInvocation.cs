using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RunLedger.Http;

namespace RunLedger.Progress;

/// <summary>
/// The Functions host's queue-trigger invocation of a custom handler: <c>POST /AgentProgress</c>
/// with <c>{"Data": {"message": ...}, "Metadata": {"Id", "DequeueCount", "InsertionTime", ...}}</c>.
/// Values have been seen JSON-encoded twice, so every one is unwrapped defensively.
/// </summary>
public static class HostInvocation
{
    public const string FunctionName = "AgentProgress";
    public const string BindingName = "message";

    public static IEndpointRouteBuilder MapHostInvocations(this IEndpointRouteBuilder routes)
    {
        // Not under /api: the host proxies HTTP triggers with the /api prefix, so no HTTP route reaches this.
        routes.MapPost("/" + FunctionName, InvokeAsync).ExcludeFromDescription();
        return routes;
    }

    private static async Task<IResult> InvokeAsync(HttpRequest request, QueueProcessor processor, CancellationToken cancellationToken)
    {
        var invocation = await JsonBody.ReadObjectAsync(request, cancellationToken);
        var data = Unwrap(invocation["Data"]) as JsonObject
            ?? throw LedgerException.BadRequest("The invocation has no 'Data' object.");
        var metadata = Unwrap(invocation["Metadata"]) as JsonObject ?? [];

        var message = Unwrap(data[BindingName]);
        var text = message switch
        {
            null => throw LedgerException.BadRequest($"The invocation has no 'Data.{BindingName}'."),
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => message.ToJsonString(),
        };
        var messageId = AsString(metadata["Id"]) ?? Guid.NewGuid().ToString();
        var dequeueCount = long.TryParse(AsString(metadata["DequeueCount"]), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) ? count : 1;
        var insertedAt = DateTimeOffset.TryParse(AsString(metadata["InsertionTime"]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime()
            : DateTimeOffset.UtcNow;

        var done = await processor.ProcessAsync(text, messageId, insertedAt, dequeueCount, cancellationToken);
        // A non-2xx answer fails the invocation: the host makes the message visible again and retries it.
        return done
            ? TypedResults.Ok(new JsonObject { ["Outputs"] = new JsonObject(), ["Logs"] = new JsonArray(), ["ReturnValue"] = null })
            : TypedResults.Problem(statusCode: 503, title: "Retry later",
                detail: "The report could not be applied yet (its run does not exist or storage failed); the host will retry it.");
    }

    /// <summary>A value that is a JSON string holding JSON is parsed once more (and again, up to a limit).</summary>
    public static JsonNode? Unwrap(JsonNode? node)
    {
        for (var depth = 0; depth < 4 && node is JsonValue v && v.TryGetValue(out string? text); depth++)
        {
            var trimmed = text.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] is not ('{' or '[' or '"')) break;
            try
            {
                node = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                break;
            }
        }
        return node;
    }

    private static string? AsString(JsonNode? node) => Unwrap(node) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => other.ToJsonString(),
    };
}
