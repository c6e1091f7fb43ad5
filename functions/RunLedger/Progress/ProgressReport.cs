using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Progress;

/// <summary>An agent's progress report, validated. Anything malformed is a 400 <see cref="LedgerException"/>.</summary>
public sealed record ProgressReport(
    string ProjectId,
    string RunId,
    string EventId,
    string Agent,
    string Status,
    string? Message,
    decimal? Progress,
    string? RunStatus,
    JsonObject? Usage,
    JsonObject? Artifacts,
    JsonObject? Metadata,
    string? Error,
    DateTimeOffset Timestamp)
{
    /// <summary>
    /// When the ledger received the report: the queue message's insertion time (stable across
    /// redeliveries) or the HTTP request's arrival. The anchor of the timestamp window.
    /// </summary>
    public DateTimeOffset ReceivedAt { get; init; } = Timestamp;

    /// <summary>The agent's own timestamp when it fell outside the window and was replaced.</summary>
    public DateTimeOffset? AgentTimestamp { get; init; }

    /// <summary>How far an agent's clock may be off: before the run was created, or after the report arrived.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The report with a plausible timestamp: one more than <see cref="ClockSkew"/> before the
    /// run's creation or after the report's own arrival is replaced by the arrival time, and the
    /// agent's is kept in the history (<c>agentTimestamp</c>). Both bounds are fixed per run and
    /// per report, so a redelivery is judged the same way and the run still ends the same.
    /// </summary>
    public ProgressReport WithinWindow(DateTimeOffset runCreatedAt) =>
        Timestamp < runCreatedAt - ClockSkew || Timestamp > ReceivedAt + ClockSkew
            ? this with { Timestamp = ReceivedAt, AgentTimestamp = Timestamp }
            : this;

    public const int MaxEventIdLength = 256;

    /// <summary>Keeps every figure and its cost far inside Int64 micro-dollars.</summary>
    public const decimal MaxUsageFigure = 1_000_000_000_000m;

    /// <summary>Usage figures an agent may report; each a non-negative number.</summary>
    public static readonly IReadOnlyList<string> UsageFigures =
        [.. Costs.UsageUnit.All.Select(u => u.Figure), "costUsd"];

    /// <summary>
    /// Parses a report. <paramref name="defaultEventId"/> (the queue message id, stable across
    /// redeliveries) and <paramref name="defaultTimestamp"/> apply when the report has none.
    /// </summary>
    public static ProgressReport Parse(JsonObject body, string defaultEventId, DateTimeOffset defaultTimestamp)
    {
        var projectId = JsonBody.OptionalString(body, "projectId");
        var clientId = JsonBody.OptionalString(body, "clientId");
        if (projectId is not null && clientId is not null && projectId != clientId)
        {
            // As at start: the alias may repeat the project, never name another one.
            throw LedgerException.BadRequest("'projectId' and its alias 'clientId' are both given and differ.");
        }
        projectId ??= clientId;
        var runId = JsonBody.OptionalString(body, "runId");
        if (Keys.Problem("projectId", projectId) is { } p1) throw LedgerException.BadRequest(p1);
        if (Keys.Problem("runId", runId) is { } p2) throw LedgerException.BadRequest(p2);

        var eventId = JsonBody.OptionalString(body, "eventId") ?? defaultEventId;
        if (eventId.Length is 0 or > MaxEventIdLength)
        {
            throw LedgerException.BadRequest($"'eventId' must be 1 to {MaxEventIdLength} characters.");
        }

        var agent = JsonBody.OptionalString(body, "agent") ?? "pipeline";
        if (Keys.Problem("agent", agent) is { } p3) throw LedgerException.BadRequest(p3);

        var status = body["status"] is null ? Runs.RunStatus.Running : RunRules.ParseStatus(body["status"], "status");
        var runStatus = body["runStatus"] is null ? null : RunRules.ParseStatus(body["runStatus"], "runStatus");
        var progress = body["progress"] is { } progressNode ? RunRules.ParseProgress(progressNode, "progress") : (decimal?)null;

        var artifacts = JsonBody.OptionalObject(body, "artifacts");
        foreach (var (name, value) in artifacts ?? [])
        {
            if (value is not JsonValue v || !v.TryGetValue(out string? _))
            {
                throw LedgerException.BadRequest($"'artifacts.{name}' must be a string (a key or URL).");
            }
        }

        var metadata = JsonBody.OptionalObject(body, "metadata");
        if (metadata is not null)
        {
            foreach (var (name, value) in metadata)
            {
                if (value is not JsonObject) throw LedgerException.BadRequest($"'metadata.{name}' must be a JSON object.");
            }
            RunRules.CheckPatch(metadata, "metadata."); // same field rules as PATCH: no ledger-managed names, typed voice/music
        }

        var usage = JsonBody.OptionalObject(body, "usage");
        // A report may carry its cost at the top level; it means the same as usage.costUsd.
        if (body["costUsd"] is { } topCost)
        {
            var merged = usage?.DeepClone().AsObject() ?? [];
            if (merged["costUsd"] is { } usageCost && !JsonNode.DeepEquals(usageCost, topCost)
                && !(usageCost.GetValueKind() == JsonValueKind.Number && topCost.GetValueKind() == JsonValueKind.Number
                     && (decimal)usageCost == (decimal)topCost))
            {
                throw LedgerException.BadRequest("'costUsd' and 'usage.costUsd' are both given and differ; send one of them.");
            }
            merged["costUsd"] = topCost.DeepClone();
            usage = merged;
        }
        if (usage is not null) CheckUsage(usage);

        return new ProgressReport(
            projectId!, runId!, eventId, agent, status,
            JsonBody.OptionalString(body, "message"),
            progress, runStatus, usage, artifacts, metadata,
            JsonBody.OptionalString(body, "error"),
            ParseTimestamp(body) ?? defaultTimestamp)
        {
            ReceivedAt = defaultTimestamp,
        };
    }

    private static void CheckUsage(JsonObject usage)
    {
        if (usage["model"] is { } model && !(model is JsonValue v && v.TryGetValue(out string? _)))
        {
            throw LedgerException.BadRequest("'usage.model' must be a string.");
        }
        foreach (var figure in UsageFigures)
        {
            if (usage[figure] is not { } value) continue;
            if (value.GetValueKind() != JsonValueKind.Number || !value.AsValue().TryGetValue(out decimal number) || number < 0)
            {
                throw LedgerException.BadRequest($"'usage.{figure}' must be a number of at least 0.");
            }
            if (figure is not ("seconds" or "costUsd") && decimal.Truncate(number) != number)
            {
                throw LedgerException.BadRequest($"'usage.{figure}' must be a whole number.");
            }
            if (number > MaxUsageFigure)
            {
                throw LedgerException.BadRequest($"'usage.{figure}' is implausibly large (over {MaxUsageFigure}).");
            }
        }
    }

    private static DateTimeOffset? ParseTimestamp(JsonObject body)
    {
        var text = JsonBody.OptionalString(body, "timestamp");
        if (text is null) return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.ToUniversalTime()
            : throw LedgerException.BadRequest("'timestamp' must be an ISO 8601 date and time, e.g. 2026-01-15T18:12:06Z.");
    }

    /// <summary>
    /// Orders reports for last-writer-wins: report time, then event id to break ties. The time to the
    /// millisecond, as the history stores it (<see cref="ToEvent"/>), so a report replayed from the
    /// history has the clock it had when it arrived.
    /// </summary>
    public string Clock => RunRules.Timestamp(Timestamp) + "|" + EventId;

    /// <summary>The report as kept in the run's history.</summary>
    public JsonObject ToEvent(long sequence, DateTimeOffset recordedAt) =>
        JsonNode.Parse(EventUtf8(sequence, recordedAt))!.AsObject();

    /// <summary>
    /// <see cref="ToEvent"/> as stored: UTF-8 JSON written straight from the report, without
    /// copying its usage, artifacts and metadata into a document first (one per applied report).
    /// </summary>
    public byte[] EventUtf8(long sequence, DateTimeOffset recordedAt) => JsonMerge.ToUtf8(writer =>
    {
        writer.WriteStartObject();
        writer.WriteNumber("seq", sequence);
        writer.WriteString("eventId", EventId);
        writer.WriteString("projectId", ProjectId);
        writer.WriteString("runId", RunId);
        writer.WriteString("agent", Agent);
        writer.WriteString("status", Status);
        if (Message is not null) writer.WriteString("message", Message);
        if (Progress is { } progress) writer.WriteNumber("progress", progress);
        if (RunStatus is not null) writer.WriteString("runStatus", RunStatus);
        WriteObject(writer, "usage", Usage);
        WriteObject(writer, "artifacts", Artifacts);
        WriteObject(writer, "metadata", Metadata);
        if (Error is not null) writer.WriteString("error", Error);
        writer.WriteString("timestamp", RunRules.Timestamp(Timestamp));
        if (AgentTimestamp is { } agentTime) writer.WriteString("agentTimestamp", RunRules.Timestamp(agentTime));
        writer.WriteString("recordedAt", RunRules.Timestamp(recordedAt));
        writer.WriteEndObject();
    });

    private static void WriteObject(Utf8JsonWriter writer, string name, JsonObject? value)
    {
        if (value is null) return;
        writer.WritePropertyName(name);
        value.WriteTo(writer);
    }
}
