using System.Text.Json.Nodes;
using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// What a report (or a PATCH) does to its run's fields. The result depends on the set of writes, not
/// on the order they arrive in:
/// <list type="bullet">
/// <item>status only moves forward; the report that makes the run final fixes its outcome and clock;</item>
/// <item>every other field a report or a PATCH writes ends as if all of them had been applied as deep
/// merges (objects merge, any other value replaces, null removes) over the values the run started
/// with, in the order of their clocks: a report's is its timestamp, then whether it ends the run,
/// then its event id; a PATCH's is the time the ledger applied it (<see cref="ApplyPatch"/>).
/// Incrementally: per path the newest clock of a value written there (<c>/path</c>) and of an empty
/// object written there (<c>o/path</c>) is kept in <see cref="RunRecord.Clocks"/>; a path holds the
/// value of its newest write unless something newer was written inside it, which makes it an
/// object, whose members are what was written there after that value;</item>
/// <item>once the run is final, a report with a later clock changes nothing but history; one with an
/// earlier clock (delayed in the queue) still merges its fields, as it would have in order. If reports
/// with later clocks were merged before the final one arrived, the fields are rebuilt
/// (<see cref="NeedsRebuild"/>): from what the start and the PATCHes alone made of them
/// (<see cref="RunRecord.Base"/>), then the reports up to the final one from history. A PATCH the
/// ledger accepted is kept whatever its clock: it was applied before the run became final.</item>
/// </list>
/// Clocks compare times to the millisecond, the precision the history stores, so a report replayed
/// from history sorts exactly where it did when it arrived.
/// </summary>
public static class ReportEffects
{
    public const string DefaultFinalAgent = "publisher";

    /// <summary>The clock of the report that made the run final (kept among the field clocks).</summary>
    private const string FinalClockKey = "!final";

    private const string ObjectPrefix = "o";

    /// <summary>Where a report's clock says whether it ends the run ("0" or "1"), a PATCH's says "p".</summary>
    private const string PatchMark = "p";

    /// <summary>
    /// <see cref="RunRecord.Base"/>: <c>names</c>, the top-level fields reports have written; <c>doc</c>,
    /// those fields as the start and the PATCHes alone made them; <c>clocks</c>, the PATCHes' clocks in them.
    /// </summary>
    private const string BaseNames = "names", BaseDoc = "doc", BaseClocks = "clocks";

    public static void Apply(RunRecord run, ProgressReport report, DateTimeOffset now)
    {
        var doc = run.Document;
        var target = TargetStatus(report, FinalAgent(doc));
        var clock = ClockOf(report, target);
        if (RunStatus.IsTerminal(run.Status))
        {
            // Only a report from before the run became final, which does not itself end the run, still counts.
            if ((string?)run.Clocks[FinalClockKey] is not { } final || string.CompareOrdinal(clock, final) >= 0 || target != RunStatus.Running)
            {
                return;
            }
        }
        else if (RunStatus.CanMove(run.Status, target))
        {
            MoveStatus(doc, target, report.Timestamp);
            if (RunStatus.IsTerminal(target)) run.Clocks[FinalClockKey] = clock;
        }
        // The run started when its earliest report says so, whatever order reports arrive in.
        var started = RunRules.Timestamp(report.Timestamp);
        if (doc["startedAt"] is JsonValue s && string.CompareOrdinal(started, (string)s!) < 0) doc["startedAt"] = started;

        MergeReport(run, Contribution(report), clock);
        doc["updatedAt"] = RunRules.Timestamp(now);
    }

    /// <summary>
    /// A PATCH's fields (status aside), merged like a report's with the clock of the time the ledger
    /// applies it: a report dated before the PATCH (delayed in the queue) does not undo what it set,
    /// one dated after it does. What it writes into fields that reports have written goes into the
    /// run's <see cref="RunRecord.Base"/> too, where a rebuild starts from.
    /// </summary>
    public static void ApplyPatch(RunRecord run, JsonObject fields, DateTimeOffset now)
    {
        // PATCHes of one run are applied one at a time (ETag), so the run's next version orders those of one millisecond.
        var clock = string.Concat(RunRules.Timestamp(now), "|", PatchMark, "|",
            (run.Version + 1).ToString("D19", System.Globalization.CultureInfo.InvariantCulture));
        Merge(run.Document, run.Clocks, fields, clock);
        if (run.Base[BaseNames] is not JsonArray names) return;
        var tracked = names.Select(n => (string?)n).ToHashSet(StringComparer.Ordinal);
        var intoBase = new JsonObject();
        foreach (var (name, value) in fields)
        {
            if (tracked.Contains(name)) intoBase[name] = value?.DeepClone();
        }
        if (intoBase.Count > 0) Merge(BaseObject(run, BaseDoc), BaseObject(run, BaseClocks), intoBase, clock);
    }

    private static JsonObject BaseObject(RunRecord run, string name) => (JsonObject)(run.Base[name] ??= new JsonObject());

    private static bool IsPatchClock(string? clock) =>
        clock is not null && clock.IndexOf('|', StringComparison.Ordinal) is var bar and >= 0
        && clock.AsSpan(bar + 1).StartsWith(PatchMark + "|", StringComparison.Ordinal);

    /// <summary>A report's fields, merged; before a report first writes a top-level field, the field as the start and PATCHes made it is kept aside.</summary>
    private static void MergeReport(RunRecord run, JsonObject contribution, string clock)
    {
        var names = (JsonArray)(run.Base[BaseNames] ??= new JsonArray());
        string?[]? known = null;
        foreach (var (name, _) in contribution)
        {
            known ??= [.. names.Select(n => (string?)n)];
            if (Array.IndexOf(known, name) >= 0) continue;
            known = [.. known, name];
            names.Add(name);
            var under = run.Clocks.Where(c => IsPathKey(c.Key) && TopName(c.Key) == name).ToList();
            // A run stored before the base was kept may hold report writes here already: those are rebuilt as before, from reports alone.
            if (under.Any(c => !IsPatchClock((string?)c.Value))) continue;
            if (run.Document.TryGetPropertyValue(name, out var value)) BaseObject(run, BaseDoc)[name] = value?.DeepClone();
            foreach (var (key, patchClock) in under) BaseObject(run, BaseClocks)[key] = patchClock?.DeepClone();
        }
        Merge(run.Document, run.Clocks, contribution, clock);
    }

    /// <summary>
    /// A report's place in the merge order: its timestamp, then whether it ends the run (so at equal
    /// timestamps, which second-resolution agent clocks make common, the report that ends the run
    /// counts as the last), then its event id.
    /// </summary>
    private static string ClockOf(ProgressReport report, string target)
    {
        var split = report.Clock.IndexOf('|', StringComparison.Ordinal) + 1;
        return string.Concat(report.Clock.AsSpan(0, split), RunStatus.IsTerminal(target) ? "1|" : "0|", report.Clock.AsSpan(split));
    }

    /// <summary>
    /// Whether the run is final but holds fields merged from reports with clocks after the final one
    /// (they arrived first): then <see cref="Rebuild"/> them from the run's history.
    /// </summary>
    public static bool NeedsRebuild(RunRecord run) =>
        RunStatus.IsTerminal(run.Status) && (string?)run.Clocks[FinalClockKey] is { } final
        && run.Clocks.Any(c => IsPathKey(c.Key) && !IsPatchClock((string?)c.Value) && string.CompareOrdinal((string?)c.Value, final) > 0);

    /// <summary>
    /// Recomputes the fields reports wrote: each starts again from what the start and the PATCHes
    /// alone made of it (<see cref="RunRecord.Base"/>), and the reports of <paramref name="history"/>
    /// (every report applied to the run, any order) are merged into it again, those with clocks up
    /// to the final one; later ones do not count. Fields no report wrote stay as they are.
    /// </summary>
    public static void Rebuild(RunRecord run, IEnumerable<ProgressReport> history)
    {
        var final = (string)run.Clocks[FinalClockKey]!;
        var names = (run.Base[BaseNames] as JsonArray ?? []).Select(n => (string)n!).ToHashSet(StringComparer.Ordinal);
        // Runs stored before the base was kept: their report-written fields are rebuilt from reports alone.
        names.UnionWith(run.Clocks.Where(c => IsPathKey(c.Key) && !IsPatchClock((string?)c.Value)).Select(c => TopName(c.Key)));
        var baseDoc = run.Base[BaseDoc] as JsonObject;
        foreach (var name in names)
        {
            run.Document.Remove(name);
            if (baseDoc is not null && baseDoc.TryGetPropertyValue(name, out var value)) run.Document[name] = value?.DeepClone();
        }
        foreach (var key in run.Clocks.Where(c => IsPathKey(c.Key) && names.Contains(TopName(c.Key))).Select(c => c.Key).ToList())
        {
            run.Clocks.Remove(key);
        }
        foreach (var (key, clock) in run.Base[BaseClocks] as JsonObject ?? []) run.Clocks[key] = clock?.DeepClone();

        var finalAgent = FinalAgent(run.Document);
        foreach (var (report, clock) in history.Select(r => (r, ClockOf(r, TargetStatus(r, finalAgent)))))
        {
            if (string.CompareOrdinal(clock, final) <= 0) MergeReport(run, Contribution(report), clock);
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

    /// <summary>Merges one write's fields into <paramref name="doc"/> with clock <paramref name="clock"/>, order-independently.</summary>
    private static void Merge(JsonObject doc, JsonObject clockTable, JsonObject contribution, string clock)
    {
        var pending = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (path, value) in Leaves(contribution, ""))
        {
            var key = value is JsonObject ? ObjectPrefix + path : path;
            if ((string?)clockTable[key] is { } seen && string.CompareOrdinal(seen, clock) >= 0) continue;
            clockTable[key] = clock;
            if (value is not JsonObject) pending[path] = value;
        }
        foreach (var (name, _) in contribution)
        {
            var path = "/" + Escape(name);
            var (present, value) = Render(path, null, doc[name], clockTable, pending);
            if (present) doc[name] = value is { Parent: not null } ? value.DeepClone() : value;
            else doc.Remove(name);
        }
    }

    /// <summary>
    /// The value at <paramref name="path"/> given every write's clock: absent when erased by a value
    /// written above it after <paramref name="erasedBefore"/>'s writes; the newest value written at
    /// the path, unless a newer write inside it made it an object of what was written inside since.
    /// A path nothing clocked ever wrote keeps what it holds (set at start).
    /// </summary>
    private static (bool Present, JsonNode? Value) Render(
        string path, string? erasedBefore, JsonNode? current, JsonObject clocks, Dictionary<string, JsonNode?> pending)
    {
        var written = (string?)clocks[path];
        var inside = (string?)clocks[ObjectPrefix + path];
        var below = path + "/";
        foreach (var (key, node) in clocks)
        {
            if (!IsPathKey(key) || !Bare(key).StartsWith(below, StringComparison.Ordinal)) continue;
            var clock = (string?)node;
            if (string.CompareOrdinal(clock, inside) > 0) inside = clock;
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
        foreach (var (key, _) in clocks)
        {
            if (!IsPathKey(key)) continue;
            var bare = Bare(key);
            if (!bare.StartsWith(below, StringComparison.Ordinal)) continue;
            var rest = bare[below.Length..];
            var slash = rest.IndexOf('/');
            names.Add(Unescape((slash < 0 ? rest : rest[..slash]).ToString()));
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

    /// <summary>A clock key's path, without the prefix of an object's clock.</summary>
    private static ReadOnlySpan<char> Bare(string key) =>
        key.StartsWith(ObjectPrefix, StringComparison.Ordinal) ? key.AsSpan(ObjectPrefix.Length) : key.AsSpan();

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
