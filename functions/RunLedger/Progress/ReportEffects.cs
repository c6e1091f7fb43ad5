using System.Text.Json.Nodes;
using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>
/// What a report does to its run. The result depends on the set of reports, not on the order the
/// queue delivers them: status only moves forward, and every other field a report writes is
/// last-writer-wins per leaf by the report's clock (timestamp, then event id), remembered in the
/// run's <see cref="RunRecord.Clocks"/>. Once the run is terminal a report changes nothing but history.
/// </summary>
public static class ReportEffects
{
    public const string DefaultFinalAgent = "publisher";

    public static void Apply(RunRecord run, ProgressReport report, DateTimeOffset now)
    {
        var doc = run.Document;
        if (RunStatus.IsTerminal(run.Status)) return;

        var target = TargetStatus(report, FinalAgent(doc));
        if (RunStatus.CanMove(run.Status, target))
        {
            MoveStatus(doc, target, report.Timestamp);
        }
        // The run started when its earliest report says so, whatever order reports arrive in.
        var started = RunRules.Timestamp(report.Timestamp);
        if (doc["startedAt"] is JsonValue s && string.CompareOrdinal(started, (string)s!) < 0) doc["startedAt"] = started;

        foreach (var (path, value) in Leaves(Contribution(report), ""))
        {
            var clock = (string?)run.Clocks[path];
            if (clock is not null && string.CompareOrdinal(clock, report.Clock) >= 0) continue;
            run.Clocks[path] = report.Clock;
            Set(doc, path, value);
        }
        doc["updatedAt"] = RunRules.Timestamp(now);
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

    private static IEnumerable<(string Path, JsonNode? Value)> Leaves(JsonObject node, string prefix)
    {
        foreach (var (name, value) in node)
        {
            var path = prefix + "/" + name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
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

    private static void Set(JsonObject doc, string path, JsonNode? value)
    {
        var names = path[1..].Split('/').Select(n => n.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        var target = doc;
        foreach (var name in names[..^1])
        {
            if (target[name] is not JsonObject next)
            {
                next = [];
                target[name] = next;
            }
            target = next;
        }
        if (value is null) target.Remove(names[^1]);
        else target[names[^1]] = value.DeepClone();
    }
}
