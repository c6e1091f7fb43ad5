using System.Text.Json.Nodes;
using RunLedger.Access;

namespace RunLedger.Callbacks;

/// <summary>
/// Callback URLs as read-only links show them: the path of a webhook URL (a Make.com custom
/// webhook's, say) is often its only credential, so a reader with a link sees the origin alone.
/// Key holders see the whole URL.
/// </summary>
public static class CallbackUrls
{
    private static readonly string[] Lists = ["callbacks", "items", "alerts"];

    public static bool IsReadLink(HttpRequest request) =>
        request.HttpContext.Features.Get<Caller>() is { Kind: CallerKind.ReadToken };

    /// <summary><c>https://hook.example.com/…</c> for <c>https://hook.example.com/abc123</c>.</summary>
    public static string Origin(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}/…" : "…";

    /// <summary>For a read-link caller, shortens the <c>url</c> of every object in a callbacks, items or alerts list under <paramref name="node"/>.</summary>
    public static T ForReader<T>(HttpRequest request, T node) where T : JsonNode?
    {
        if (node is not null && IsReadLink(request)) Redact(node, inList: false);
        return node;
    }

    private static void Redact(JsonNode node, bool inList)
    {
        switch (node)
        {
            case JsonObject obj:
                if (inList && obj["url"] is JsonValue value && value.TryGetValue(out string? url)) obj["url"] = Origin(url);
                foreach (var (name, child) in obj.ToList())
                {
                    if (child is not null) Redact(child, child is JsonArray && Lists.Contains(name));
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not null) Redact(item, inList);
                }
                break;
        }
    }
}
