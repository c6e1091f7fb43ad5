using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RunLedger.Http;

namespace RunLedger.Runs;

/// <summary>
/// How a run document may change: field types, server-managed fields, forward-only status with
/// its timestamps. Used by PATCH and by agent progress reports alike.
/// </summary>
public static class RunRules
{
    /// <summary>Fields only the ledger sets.</summary>
    private static readonly HashSet<string> ServerManaged =
    [
        "projectId", "clientId", "runId", "createdAt", "updatedAt", "startedAt", "completedAt",
        "seedData", "configSnapshot", "totalTokens", "totalCost", "totalCostMicros", "invoice", "unpricedSteps",
        "stale", "staleSince", "cancelReason",
        "dashboardUrl", // worked out for each answer (Dashboard/RunLinks)
    ];

    private static readonly HashSet<string> StringFields =
    [
        "dossierId", "payloadKey", "narrationKey", "musicKey", "beatGridKey", "finalVideoKey", "exportBundleKey",
        "videoUrl", "creditsUrl", "pipelineMode", "step", "message", "error",
    ];

    public static readonly IReadOnlyList<string> ArtifactFields =
    [
        "payloadKey", "narrationKey", "musicKey", "beatGridKey", "finalVideoKey", "exportBundleKey", "videoUrl", "creditsUrl",
    ];

    private static readonly Dictionary<string, Dictionary<string, JsonValueKind[]>> MetadataShapes = new()
    {
        ["voice"] = new()
        {
            ["voiceId"] = [JsonValueKind.String], ["modelId"] = [JsonValueKind.String],
            ["characters"] = [JsonValueKind.Number], ["costCents"] = [JsonValueKind.Number],
            ["placeholder"] = [JsonValueKind.True, JsonValueKind.False], ["store"] = [JsonValueKind.String],
        },
        ["music"] = new()
        {
            ["mode"] = [JsonValueKind.String], ["bpm"] = [JsonValueKind.Number], ["duration"] = [JsonValueKind.Number],
            ["promptHash"] = [JsonValueKind.String], ["approvedBy"] = [JsonValueKind.String],
            ["licenseTier"] = [JsonValueKind.String], ["sunoId"] = [JsonValueKind.String],
            ["manualFile"] = [JsonValueKind.String], ["gridSource"] = [JsonValueKind.String], ["store"] = [JsonValueKind.String],
        },
    };

    public static readonly IReadOnlyList<string> TriggerSources = ["make.com", "api", "manual"];

    public static string? NormalizeTrigger(string? value) =>
        TriggerSources.FirstOrDefault(t => string.Equals(t, value?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Checks a PATCH body and returns it with <c>status</c> normalized. Throws a 400
    /// <see cref="LedgerException"/> naming the first bad field.
    /// </summary>
    /// <param name="path">Where the object sits in the request (<c>metadata.</c> for a report's metadata), so errors name the field as sent.</param>
    public static JsonObject ValidatePatch(JsonObject patch, string path = "")
    {
        var result = patch.DeepClone().AsObject();
        Check(patch, path, result);
        return result;
    }

    /// <summary>The checks of <see cref="ValidatePatch"/>, without a normalized copy (a report's metadata, which is kept as sent).</summary>
    public static void CheckPatch(JsonObject patch, string path = "") => Check(patch, path, null);

    private static void Check(JsonObject patch, string path, JsonObject? result)
    {
        foreach (var (name, value) in patch)
        {
            var field = path + name;
            if (ServerManaged.Contains(name))
            {
                throw LedgerException.BadRequest($"'{field}' is set by the ledger and cannot be changed.");
            }
            switch (name)
            {
                case "status":
                    var status = ParseStatus(value, field);
                    if (result is not null) result["status"] = status;
                    break;
                case "progress":
                    if (value is null) break;
                    var progress = ParseProgress(value, field);
                    if (result is not null) result["progress"] = progress;
                    break;
                case "triggeredBy":
                    var trigger = NormalizeTrigger(AsString(value, field))
                        ?? throw LedgerException.BadRequest($"'{field}' must be one of {string.Join(", ", TriggerSources)}.");
                    if (result is not null) result["triggeredBy"] = trigger;
                    break;
                case var _ when StringFields.Contains(name):
                    if (value is not null) AsString(value, field);
                    break;
                case var _ when MetadataShapes.TryGetValue(name, out var shape):
                    CheckMetadata(field, value, shape);
                    break;
            }
        }
    }

    public static string ParseStatus(JsonNode? value, string field) =>
        RunStatus.Normalize(AsString(value, field))
        ?? throw LedgerException.BadRequest($"'{field}' must be {RunStatus.Describe()}; got {value?.ToJsonString() ?? "null"}.");

    public static decimal ParseProgress(JsonNode value, string field)
    {
        if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out decimal number)
            && number is >= 0 and <= 100)
        {
            return number;
        }
        throw LedgerException.BadRequest($"'{field}' must be a number from 0 to 100.");
    }

    private static string AsString(JsonNode? value, string field) =>
        value is JsonValue v && v.TryGetValue(out string? s)
            ? s
            : throw LedgerException.BadRequest($"'{field}' must be a string.");

    private static void CheckMetadata(string name, JsonNode? value, Dictionary<string, JsonValueKind[]> shape)
    {
        if (value is null) return;
        if (value is not JsonObject obj) throw LedgerException.BadRequest($"'{name}' must be a JSON object.");
        foreach (var (field, fieldValue) in obj)
        {
            if (fieldValue is null || !shape.TryGetValue(field, out var kinds)) continue;
            if (!kinds.Contains(fieldValue.GetValueKind()))
            {
                throw LedgerException.BadRequest(
                    $"'{name}.{field}' must be {string.Join(" or ", kinds.Select(k => k.ToString().ToLowerInvariant()))}.");
            }
        }
    }

    /// <summary>
    /// Applies a validated patch: forward-only status (409 when backwards), deep merge of the rest,
    /// <c>updatedAt</c> stamped, <c>startedAt</c>/<c>completedAt</c> stamped on the transitions.
    /// </summary>
    public static void Apply(JsonObject run, JsonObject patch, DateTimeOffset now)
    {
        ApplyStatus(run, patch, now);
        Ledger.JsonMerge.Into(run, WithoutStatus(patch));
        run["updatedAt"] = Timestamp(now);
    }

    /// <summary>A validated patch's <c>status</c>, when it has one: forward only (409 when backwards), with its timestamps.</summary>
    public static void ApplyStatus(JsonObject run, JsonObject patch, DateTimeOffset now)
    {
        if (patch["status"] is JsonNode statusNode)
        {
            var next = (string)statusNode!;
            var current = (string?)run["status"] ?? RunStatus.Queued;
            if (!RunStatus.CanMove(current, next))
            {
                throw LedgerException.Conflict(
                    $"The run is '{current}' and cannot move to '{next}': status only moves forward and completed, failed or cancelled runs are final.");
            }
            MoveStatus(run, next, now);
        }
    }

    /// <summary>A copy of a patch without its <c>status</c>: the fields it merges.</summary>
    public static JsonObject WithoutStatus(JsonObject patch)
    {
        var rest = patch.DeepClone().AsObject();
        rest.Remove("status");
        return rest;
    }

    /// <summary>Moves status forward (caller has checked) and stamps the transition times.</summary>
    public static void MoveStatus(JsonObject run, string next, DateTimeOffset now)
    {
        var current = (string?)run["status"];
        if (current == next) return;
        run["status"] = next;
        if (next != RunStatus.Queued && run["startedAt"] is null) run["startedAt"] = Timestamp(now);
        if (RunStatus.IsTerminal(next)) run["completedAt"] = Timestamp(now);
    }

    /// <summary>Field order of a run document: the original run index's, then any other field by name.</summary>
    private static readonly string[] FieldOrder =
    [
        "projectId", "runId", "dossierId", "status", "step", "message", "progress", "error", "stale", "staleSince", "cancelReason",
        "triggeredBy", "createdAt", "updatedAt", "startedAt", "completedAt",
        "payloadKey", "narrationKey", "musicKey", "beatGridKey", "finalVideoKey", "exportBundleKey",
        "videoUrl", "creditsUrl", "pipelineMode", "dashboardUrl", "voice", "music", "artifacts",
        "totalTokens", "totalCost", "totalCostMicros", "unpricedSteps", "invoice", "seedData", "configSnapshot",
    ];

    /// <summary>Caller data kept exactly as sent, member order included.</summary>
    private static readonly HashSet<string> KeptAsSent = ["seedData", "configSnapshot", "invoice"];

    /// <summary>
    /// Puts the run's fields in one fixed order (nested metadata by name), so that the same
    /// content is the same document however the changes to it arrived. An object already in
    /// order (what a stored run mostly is) is left as it is.
    /// </summary>
    public static void Canonicalize(JsonObject run)
    {
        Order(run, CompareFields);
        foreach (var (name, value) in run)
        {
            if (value is JsonObject nested && !KeptAsSent.Contains(name)) Sorted(nested);
        }
    }

    private static readonly Dictionary<string, int> FieldRank =
        FieldOrder.Select((name, i) => (name, i)).ToDictionary(f => f.name, f => f.i, StringComparer.Ordinal);

    private static int CompareFields(string a, string b)
    {
        var byRank = FieldRank.GetValueOrDefault(a, FieldOrder.Length).CompareTo(FieldRank.GetValueOrDefault(b, FieldOrder.Length));
        return byRank != 0 ? byRank : string.CompareOrdinal(a, b);
    }

    private static void Sorted(JsonObject obj)
    {
        Order(obj, string.CompareOrdinal);
        foreach (var (_, value) in obj)
        {
            if (value is JsonObject nested) Sorted(nested);
        }
    }

    /// <summary>Reorders <paramref name="obj"/>'s members by <paramref name="compare"/> of their names, unless they are in order.</summary>
    private static void Order(JsonObject obj, Comparison<string> compare)
    {
        string? previous = null;
        foreach (var (name, _) in obj)
        {
            if (previous is not null && compare(previous, name) > 0)
            {
                var fields = obj.ToList();
                obj.Clear();
                fields.Sort((x, y) => compare(x.Key, y.Key));
                foreach (var (field, value) in fields) obj[field] = value;
                return;
            }
            previous = name;
        }
    }

    public static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The UTC month of <paramref name="at"/>, <c>yyyy-MM</c>: what budgets and statements count by (<see cref="Http.RouteIds.CheckMonth"/> reads it back).</summary>
    public static string MonthOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>A stored time (<see cref="Timestamp"/>'s, or any ISO 8601 one, UTC when it names no offset), in UTC; null when there is none.</summary>
    public static DateTimeOffset? ParseTimestamp(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out string? text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at.ToUniversalTime() : null;
}
