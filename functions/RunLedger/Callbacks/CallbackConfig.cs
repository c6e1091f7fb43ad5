using System.Text.Json.Nodes;
using RunLedger.Http;

namespace RunLedger.Callbacks;

/// <summary>
/// <c>config.callbacks</c>: a list of <c>{url, events, secret}</c>, checked on config PUT and at
/// pipeline start. Secrets never enter a run document: the run's <c>configSnapshot</c> keeps each
/// callback's <c>url</c> and <c>events</c>, and the secrets go to a row of their own
/// (<see cref="Ledger.Keys.CallbackSecretsRow"/>) that only the delivery reads.
/// </summary>
public static class CallbackConfig
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Stale = "stale";
    public const string Budget = "budget";

    public static readonly IReadOnlyList<string> Events = [Completed, Failed, Cancelled, Stale, Budget];

    public const int MaxCallbacks = 5;
    public const int MinSecretLength = 16;
    public const int MaxSecretLength = 256;
    public const int MaxUrlLength = 2048;

    private static readonly string[] Members = ["url", "events", "secret"];

    /// <summary>A callback as the ledger uses it; its index is its place in the config's list.</summary>
    public sealed record Callback(int Index, string Url, IReadOnlyList<string> Events);

    /// <summary>A 400 naming the first problem with <c>{path}.callbacks</c> (<c>callbacks</c> when the path is empty), when given.</summary>
    public static void Check(JsonObject config, string path, bool development)
    {
        if (config["callbacks"] is not { } node) return;
        var field = path.Length > 0 ? path + ".callbacks" : "callbacks";
        if (node is not JsonArray list)
        {
            throw LedgerException.BadRequest($"'{field}' must be a list of {{url, events, secret}} objects.");
        }
        if (list.Count > MaxCallbacks)
        {
            throw LedgerException.BadRequest($"'{field}' has {list.Count} callbacks; at most {MaxCallbacks} are allowed.");
        }
        for (var i = 0; i < list.Count; i++)
        {
            var at = $"{field}[{i}]";
            if (list[i] is not JsonObject callback) throw LedgerException.BadRequest($"'{at}' must be a {{url, events, secret}} object.");
            foreach (var (name, _) in callback)
            {
                if (!Members.Contains(name)) throw LedgerException.BadRequest($"'{at}.{name}' is not a callback field; the fields are url, events and secret.");
            }
            CheckUrl(String(callback, "url", at), $"{at}.url", development);
            CheckEvents(callback["events"], $"{at}.events");
            var secret = String(callback, "secret", at);
            if (secret.Length is < MinSecretLength or > MaxSecretLength)
            {
                throw LedgerException.BadRequest($"'{at}.secret' must be {MinSecretLength} to {MaxSecretLength} characters; a random 32-byte hex string is a good choice.");
            }
        }
    }

    private static string String(JsonObject callback, string name, string at) =>
        callback[name] is JsonValue v && v.TryGetValue(out string? s) && s.Length > 0
            ? s
            : throw LedgerException.BadRequest($"'{at}.{name}' is required and must be a non-empty string.");

    private static void CheckUrl(string url, string field, bool development)
    {
        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            throw LedgerException.BadRequest($"'{field}' must be an absolute https URL of at most {MaxUrlLength} characters.");
        }
        if (uri.UserInfo.Length > 0) throw LedgerException.BadRequest($"'{field}' must not carry a user name or password; sign-in is the signature's job.");
        var loopback = IsLoopbackHost(uri);
        if (uri.Scheme == "http" && !(development && loopback))
        {
            throw LedgerException.BadRequest($"'{field}' must use https (plain http is allowed only to loopback, in Development).");
        }
        if (loopback && !development)
        {
            throw LedgerException.BadRequest($"'{field}' points at this machine (loopback), which callbacks may reach only in Development.");
        }
        // Without DNS: literal addresses, and names only a private network resolves.
        if (AddressPolicy.HostRefusal(uri.IdnHost, development) is { } refusal)
        {
            throw LedgerException.BadRequest($"'{field}' points at {refusal}, which callbacks may never reach.");
        }
    }

    public static bool IsLoopbackHost(Uri uri) => uri.IsLoopback || AddressPolicy.IsLoopbackHost(uri.IdnHost);

    private static void CheckEvents(JsonNode? node, string field)
    {
        if (node is not JsonArray events || events.Count == 0)
        {
            throw LedgerException.BadRequest($"'{field}' must be a non-empty list of events: {string.Join(", ", Events)}.");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in events)
        {
            var name = item is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            if (name is null || !Events.Contains(name))
            {
                throw LedgerException.BadRequest($"'{field}' may hold only {string.Join(", ", Events)}; got {item?.ToJsonString() ?? "null"}.");
            }
            if (!seen.Add(name)) throw LedgerException.BadRequest($"'{field}' names '{name}' twice.");
        }
    }

    /// <summary>The callbacks of a checked config (or of a run's snapshot, which has them without secrets).</summary>
    public static IReadOnlyList<Callback> Read(JsonNode? config)
    {
        if (config?["callbacks"] is not JsonArray list) return [];
        var callbacks = new List<Callback>();
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is JsonObject c && c["url"] is JsonValue u && u.TryGetValue(out string? url) && c["events"] is JsonArray events)
            {
                callbacks.Add(new Callback(i, url, [.. events.Select(e => e is JsonValue v && v.TryGetValue(out string? s) ? s : "")]));
            }
        }
        return callbacks;
    }

    /// <summary>The secret of callback <paramref name="index"/> in a checked config, when it is still the callback to <paramref name="url"/>.</summary>
    public static string? Secret(JsonNode? config, int index, string url) =>
        config?["callbacks"] is JsonArray list && index < list.Count && list[index] is JsonObject c
        && (string?)c["url"] == url && c["secret"] is JsonValue s && s.TryGetValue(out string? secret)
            ? secret : null;

    /// <summary>
    /// Takes the secrets out of a checked config: the copy keeps each callback's url and events
    /// (so a run shows where it will report), the secrets come back apart, by index.
    /// </summary>
    public static (JsonObject WithoutSecrets, JsonArray? Secrets) Split(JsonObject config)
    {
        if (config["callbacks"] is not JsonArray list) return (config, null);
        var copy = config.DeepClone().AsObject();
        var secrets = new JsonArray();
        foreach (var item in copy["callbacks"]!.AsArray())
        {
            var callback = item!.AsObject();
            secrets.Add(callback["secret"]?.DeepClone());
            callback.Remove("secret");
        }
        return (copy, list.Count > 0 ? secrets : null);
    }
}

/// <summary>Whether the app runs in Development, where callbacks may use plain http to loopback.</summary>
public sealed class CallbackEnvironment(IConfiguration configuration)
{
    /// <summary>
    /// <c>AZURE_FUNCTIONS_ENVIRONMENT</c>, as the Functions host sets it (Azure: Production unless
    /// set; the local host and Core Tools: Development).
    /// </summary>
    public bool IsDevelopment { get; } = string.Equals(configuration["AZURE_FUNCTIONS_ENVIRONMENT"], "Development", StringComparison.OrdinalIgnoreCase);
}
