using System.Text.Json.Nodes;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Pipelines;

/// <summary>The start webhook's body (as Make.com or any caller sends it), validated.</summary>
public sealed record StartRequest(
    string ProjectId,
    string? RunId,
    string? DossierId,
    string TriggeredBy,
    JsonObject SeedData,
    JsonObject? Config,
    string ContentHash)
{
    /// <summary>Reserved: <c>/runs/latest</c> names the newest run, so no run may be called that.</summary>
    public const string ReservedRunId = "latest";

    /// <summary>Reserved: <c>/runs/counts</c> answers the project's counts.</summary>
    public const string CountsRunId = "counts";

    public static StartRequest Parse(JsonObject body)
    {
        var projectId = JsonBody.OptionalString(body, "projectId");
        var clientId = JsonBody.OptionalString(body, "clientId");
        if (projectId is not null && clientId is not null && projectId != clientId)
        {
            throw LedgerException.BadRequest("'projectId' and its alias 'clientId' are both given and differ.");
        }
        projectId ??= clientId;
        if (Keys.Problem("projectId", projectId) is { } projectProblem) throw LedgerException.BadRequest(projectProblem);

        var runId = JsonBody.OptionalString(body, "runId");
        if (runId is not null && Keys.Problem("runId", runId) is { } runProblem) throw LedgerException.BadRequest(runProblem);
        if (string.Equals(runId, ReservedRunId, StringComparison.OrdinalIgnoreCase))
        {
            throw LedgerException.BadRequest("'runId' may not be 'latest': that name is reserved for the newest run.");
        }
        if (string.Equals(runId, CountsRunId, StringComparison.OrdinalIgnoreCase))
        {
            throw LedgerException.BadRequest("'runId' may not be 'counts': that name is reserved for the project's run counts.");
        }

        var dossierId = JsonBody.OptionalString(body, "dossierId");
        if (dossierId is not null && Keys.Problem("dossierId", dossierId) is { } dossierProblem) throw LedgerException.BadRequest(dossierProblem);

        var triggeredBy = JsonBody.OptionalString(body, "triggeredBy") is { } trigger
            ? RunRules.NormalizeTrigger(trigger)
              ?? throw LedgerException.BadRequest($"'triggeredBy' must be one of {string.Join(", ", RunRules.TriggerSources)}.")
            : "api";

        return new StartRequest(
            projectId!,
            runId,
            dossierId,
            triggeredBy,
            JsonBody.OptionalObject(body, "seedData")?.DeepClone().AsObject() ?? [],
            JsonBody.OptionalObject(body, "config"),
            JsonMerge.ContentHash(body));
    }
}
