using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using Azure.Data.Tables;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Runs;

/// <summary>
/// The active-runs index and the pipeline settings it follows. Every queued or running run has an
/// <c>act|{runId}</c> row in its project's partition, written in the same transaction as every
/// change to the run (created at start, rewritten with the time of the last activity, deleted when
/// the run becomes final), so the stale sweep reads only these rows, never the runs themselves.
/// </summary>
public static class ActiveRuns
{
    public static readonly TimeSpan DefaultStaleAfter = TimeSpan.FromHours(2);
    public static readonly TimeSpan MaxStaleAfter = TimeSpan.FromDays(365);

    /// <summary>The active-runs row of a run: when it last changed, when it becomes stale, whether it is.</summary>
    public static TableEntity Entity(RunRecord run)
    {
        var last = LastActivity(run);
        return new TableEntity(run.ProjectId, Keys.ActiveRow(run.RunId))
        {
            ["RunId"] = run.RunId,
            ["LastActivity"] = last,
            ["StaleAt"] = last + StaleAfter(run.Document),
            ["Stale"] = run.Stale,
        };
    }

    /// <summary>When something last happened to the run (its own <c>updatedAt</c> for runs stored before this was kept).</summary>
    public static DateTimeOffset LastActivity(RunRecord run) =>
        run.LastActivity
        ?? RunRules.ParseTimestamp(run.Document["updatedAt"]) ?? DateTimeOffset.UnixEpoch;

    /// <summary><c>configSnapshot.pipeline.staleAfter</c> (validated when the run started), else 2 hours.</summary>
    public static TimeSpan StaleAfter(JsonObject run) =>
        ParseDuration(run["configSnapshot"]?["pipeline"]?["staleAfter"]) ?? DefaultStaleAfter;

    /// <summary><c>configSnapshot.pipeline.failWhenStale</c>: fail a stale run instead of marking it.</summary>
    public static bool FailWhenStale(JsonObject run) =>
        run["configSnapshot"]?["pipeline"]?["failWhenStale"] is JsonValue v && v.TryGetValue(out bool fail) && fail;

    /// <summary>ISO 8601, as the settings are written (<c>PT2H</c>).</summary>
    public static string Iso(TimeSpan duration) => XmlConvert.ToString(duration);

    /// <summary>
    /// Checks <c>pipeline.staleAfter</c> (an ISO 8601 duration, more than zero and at most a year)
    /// and <c>pipeline.failWhenStale</c> (a boolean) of a config, at start and on config PUT.
    /// </summary>
    public static void CheckPipelineSettings(JsonObject config, string path)
    {
        if (config["pipeline"] is not JsonObject pipeline) return;
        if (pipeline.ContainsKey("staleAfter") && ParseDuration(pipeline["staleAfter"]) is null)
        {
            throw LedgerException.BadRequest(
                $"'{path}.staleAfter' must be an ISO 8601 duration of more than zero and at most a year, e.g. PT2H or PT30M; got {pipeline["staleAfter"]?.ToJsonString() ?? "null"}.");
        }
        if (pipeline["failWhenStale"] is { } fail && fail.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw LedgerException.BadRequest($"'{path}.failWhenStale' must be true or false.");
        }
    }

    private static TimeSpan? ParseDuration(JsonNode? node)
    {
        if (node is not JsonValue v || !v.TryGetValue(out string? text) || !text.StartsWith('P')) return null;
        try
        {
            var duration = XmlConvert.ToTimeSpan(text);
            return duration > TimeSpan.Zero && duration <= MaxStaleAfter ? duration : null;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return null;
        }
    }
}
