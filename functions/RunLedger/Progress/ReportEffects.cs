using System.Text.Json.Nodes;
using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// What a report does to its run. The result depends on the set of reports, not on the order the
/// queue delivers them:
/// <list type="bullet">
/// <item>status only moves forward; the report that makes the run final fixes its outcome and clock;</item>
/// <item>every other field a report writes ends as if all reports had been applied as deep merges
/// (objects merge, any other value replaces, null removes) in the order of their clocks (timestamp,
/// then event id). Incrementally: per path the newest clock of a value written there (<c>/path</c>)
/// and of an empty object written there (<c>o/path</c>) is kept in <see cref="RunRecord.Clocks"/>;
/// a path holds the value of its newest write unless something newer was written inside it, which
/// makes it an object, whose members are what was written there after that value;</item>
/// <item>once the run is final, a report with a later clock changes nothing but history; one with an
/// earlier clock (delayed in the queue) still merges its fields, as it would have in order. If reports
/// with later clocks were merged before the final one arrived, the fields are rebuilt from history
/// (<see cref="NeedsRebuild"/>).</item>
/// </list>
/// </summary>
public static class ReportEffects
{
    public const string DefaultFinalAgent = "publisher";

    /// <summary>The clock of the report that made the run final (kept among the field clocks).</summary>
    private const string FinalClockKey = "!final";

    private const string ObjectPrefix = "o";

    public static void Apply(RunRecord run, ProgressReport report, DateTimeOffset now)
    {
        var doc = run.Document;
        var target = TargetStatus(report, FinalAgent(doc));
        if (RunStatus.IsTerminal(run.Status))
        {
            // Only a report from before the run became final, which does not itself end the run, still counts.
            if ((string?)run.Clocks[FinalClockKey] is not { } final || string.CompareOrdinal(report.Clock, final) >= 0 || target != RunStatus.Running)
            {
                return;
            }
        }
        else if (RunStatus.CanMove(run.Status, target))
        {
            MoveStatus(doc, target, report.Timestamp);
            if (RunStatus.IsTerminal(target)) run.Clocks[FinalClockKey] = report.Clock;
        }
        // The run started when its earliest report says so, whatever order reports arrive in.
        var started = RunRules.Timestamp(report.Timestamp);
        if (doc["startedAt"] is JsonValue s && string.CompareOrdinal(started, (string)s!) < 0) doc["startedAt"] = started;

        Merge(run, Contribution(report), report.Clock);
        doc["updatedAt"] = RunRules.Timestamp(now);
    }

    /// <summary>
    /// Whether the run is final but holds fields merged from reports with clocks after the final one
    /// (they arrived first): then <see cref="Rebuild"/> them from the run's history.
    /// </summary>
    public static bool NeedsRebuild(RunRecord run) =>
        RunStatus.IsTerminal(run.Status) && (string?)run.Clocks[FinalClockKey] is { } final
        && run.Clocks.Any(c => IsPathKey(c.Key) && string.CompareOrdinal((string?)c.Value, final) > 0);

    /// <summary>
    /// Recomputes the report-written fields from <paramref name="history"/> (every report applied to the
    /// run, any order): those with clocks up to the final one count, later ones do not.
    /// </summary>
    public static void Rebuild(RunRecord run, IEnumerable<ProgressReport> history)
    {
        var final = (string)run.Clocks[FinalClockKey]!;
        foreach (var name in run.Clocks.Where(c => IsPathKey(c.Key)).Select(c => TopName(c.Key)).Distinct().ToList())
        {
            run.Document.Remove(name);
        }
        foreach (var key in run.Clocks.Where(c => IsPathKey(c.Key)).Select(c => c.Key).ToList())
        {
            run.Clocks.Remove(key);
        }
        foreach (var report in history.Where(r => string.CompareOrdinal(r.Clock, final) <= 0))
        {
            Merge(run, Contribution(report), report.Clock);
        }
    }

    public static string FinalAgent(JsonObject doc) =>
        (doc["configSnapshot"]?["pipeline"]?["finalAgent"] as JsonValue)?.TryGetValue(out string? name) == true && !string.IsNullOrEmpty(name)
            ? name
            : DefaultFinalAgent;

    private static string TargetStatus(ProgressReport report, string finalAgent)
    {
        if (report.Status == RunStatus.Failed || report.RunStatus == RunStatus.Failed) return RunStatus.Failed;
        if (report.RunStatus == RunStatus.Cancelled) return RunStatus.Cancelled;
        if (report.RunStatus == RunStatus.Completed
            || (report.Status == RunStatus.Completed && string.Equals(report.Agent, finalAgent, StringComparison.OrdinalIgnoreCase)))
        {
            return RunStatus.Completed;
        }
        return RunStatus.Running;
    }

    private static void MoveStatus(JsonObject doc, string next, DateTimeOffset at)
    {
        if ((string?)doc["status"] == next) return;
        doc["status"] = next;
        doc["startedAt"] ??= RunRules.Timestamp(at);
        if (RunStatus.IsTerminal(next)) doc["completedAt"] = RunRules.Timestamp(at);
    }

    /// <summary>The fields this report writes, shaped like the run document.</summary>
    private static JsonObject Contribution(ProgressReport report)
    {
        var patch = new JsonObject { ["step"] = report.Agent };
        if (report.Message is not null) patch["message"] = report.Message;
        if (report.Progress is not null) patch["progress"] = report.Progress;
        if (report.Status == RunStatus.Failed || report.RunStatus == RunStatus.Failed)
        {
            patch["error"] = report.Error ?? $"Agent '{report.Agent}' failed.";
        }
        foreach (var (name, value) in report.Artifacts ?? [])
        {
            if (RunRules.ArtifactFields.Contains(name)) patch[name] = value!.DeepClone();
            else ((JsonObject)(patch["artifacts"] ??= new JsonObject()))[name] = value!.DeepClone();
        }
        foreach (var (name, value) in report.Metadata ?? [])
        {
            patch[name] = value!.DeepClone();
        }
        return patch;
    }

    /// <summary>Merges one report's fields with clock <paramref name="clock"/>, order-independently.</summary>
    private static void Merge(RunRecord run, JsonObject contribution, string clock)
    {
        var pending = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (path, value) in Leaves(contribution, ""))
        {
            var key = value is JsonObject ? ObjectPrefix + path : path;
            if ((string?)run.Clocks[key] is { } seen && string.CompareOrdinal(seen, clock) >= 0) continue;
            run.Clocks[key] = clock;
            if (value is not JsonObject) pending[path] = value;
        }
        var clocks = run.Clocks.Where(c => IsPathKey(c.Key)).ToDictionary(c => c.Key, c => (string)c.Value!, StringComparer.Ordinal);
        foreach (var (name, _) in contribution)
        {
            var path = "/" + Escape(name);
            var (present, value) = Render(path, null, run.Document[name], clocks, pending);
            if (present) run.Document[name] = value is { Parent: not null } ? value.DeepClone() : value;
            else run.Document.Remove(name);
        }
    }

    /// <summary>
    /// The value at <paramref name="path"/> given every write's clock: absent when erased by a value
    /// written above it after <paramref name="erasedBefore"/>'s writes; the newest value written at
    /// the path, unless a newer write inside it made it an object of what was written inside since.
    /// A path no report ever wrote keeps what it holds (set at start or by PATCH).
    /// </summary>
    private static (bool Present, JsonNode? Value) Render(
        string path, string? erasedBefore, JsonNode? current, Dictionary<string, string> clocks, Dictionary<string, JsonNode?> pending)
    {
        var written = clocks.GetValueOrDefault(path);
        string? inside = clocks.GetValueOrDefault(ObjectPrefix + path);
        var below = path + "/";
        foreach (var (key, clock) in clocks)
        {
            var bare = key.StartsWith(ObjectPrefix, StringComparison.Ordinal) ? key[ObjectPrefix.Length..] : key;
            if (bare.StartsWith(below, StringComparison.Ordinal) && string.CompareOrdinal(clock, inside) > 0) inside = clock;
        }
        if (written is null && inside is null)
        {
            return erasedBefore is null && current is not null ? (true, current) : (false, null);
        }
        if (string.CompareOrdinal(written, erasedBefore) <= 0) written = null;
        if (string.CompareOrdinal(inside, erasedBefore) <= 0) inside = null;
        if (written is null && inside is null) return (false, null);

        if (written is not null && string.CompareOrdinal(written, inside) > 0)
        {
            var value = pending.TryGetValue(path, out var fresh) ? fresh : current;
            return value is null ? (false, null) : (true, value.DeepClone());
        }

        var threshold = string.CompareOrdinal(written, erasedBefore) > 0 ? written : erasedBefore;
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (current is JsonObject currentObject) names.UnionWith(currentObject.Select(m => m.Key));
        foreach (var key in clocks.Keys)
        {
            var bare = key.StartsWith(ObjectPrefix, StringComparison.Ordinal) ? key[ObjectPrefix.Length..] : key;
            if (bare.StartsWith(below, StringComparison.Ordinal)) names.Add(Unescape(bare[below.Length..].Split('/')[0]));
        }
        var result = new JsonObject();
        foreach (var name in names)
        {
            var child = (current as JsonObject)?[name];
            var (present, value) = Render(below + Escape(name), threshold, child, clocks, pending);
            if (present) result[name] = value is null ? null : value.Parent is null ? value : value.DeepClone();
        }
        return (true, result);
    }

    private static bool IsPathKey(string key) => key.StartsWith('/') || key.StartsWith(ObjectPrefix + "/", StringComparison.Ordinal);

    private static string TopName(string key) =>
        Unescape((key.StartsWith(ObjectPrefix, StringComparison.Ordinal) ? key[ObjectPrefix.Length..] : key)[1..].Split('/')[0]);

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Unescape(string name) => name.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);

    /// <summary>The leaves of a contribution: values other than non-empty objects, by JSON-pointer-like path.</summary>
    private static IEnumerable<(string Path, JsonNode? Value)> Leaves(JsonObject node, string prefix)
    {
        foreach (var (name, value) in node)
        {
            var path = prefix + "/" + Escape(name);
            if (value is JsonObject child && child.Count > 0)
            {
                foreach (var leaf in Leaves(child, path)) yield return leaf;
            }
            else
            {
                yield return (path, value);
            }
        }
    }
}
