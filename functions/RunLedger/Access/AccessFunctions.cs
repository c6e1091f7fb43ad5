using System.Text.Json.Nodes;
using System.Xml;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using RunLedger.Http;
using RunLedger.Ledger;
using RunLedger.Runs;

namespace RunLedger.Access;

/// <summary>
/// Handing out credentials.
/// <code>
/// POST projects/{projectId}/keys    CreateProjectKey    admin: the project's key (read and write that project only)
/// POST projects/{projectId}/links   CreateReadOnlyLink  project: a signed, expiring, read-only dashboard link
/// </code>
/// </summary>
public sealed class AccessFunctions(Credentials credentials, RunStore store, IOptions<LedgerOptions> options, TimeProvider clock)
{
    [Function("CreateProjectKey")]
    [Access(Need.Admin)]
    [Answers(200, "ProjectKey")]
    [Problems(400, 501)]
    public IResult CreateProjectKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "projects/{projectId}/keys")] HttpRequest request,
        string projectId)
    {
        RouteIds.CheckProject(projectId);
        RequireSigning();
        return TypedResults.Ok(new JsonObject
        {
            ["projectId"] = projectId,
            ["key"] = credentials.ProjectKey(projectId),
        });
    }

    /// <summary>Body (optional): <c>{"runId": "...", "expiresIn": "P7D"}</c>; without a run id the link shows the whole project.</summary>
    [Function("CreateReadOnlyLink")]
    [Access(Need.Write)]
    [Body("LinkRequest", Required = false)]
    [Answers(200, "ReadOnlyLink")]
    [Problems(400, 404, 413, 415, 501, 503)]
    public async Task<IResult> CreateReadOnlyLink(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "projects/{projectId}/links")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        RequireSigning();
        var body = await JsonBody.ReadOptionalObjectAsync(request, cancellationToken);
        var runId = JsonBody.OptionalString(body, "runId");
        var lifetime = Lifetime(JsonBody.OptionalString(body, "expiresIn"));
        if (runId is not null)
        {
            await store.GetExistingAsync(projectId, runId, cancellationToken);
        }
        var expiresAt = clock.GetUtcNow() + lifetime;
        var token = credentials.MintReadToken(projectId, runId, expiresAt);
        return TypedResults.Ok(new JsonObject
        {
            ["projectId"] = projectId,
            ["runId"] = runId,
            ["expiresAt"] = RunRules.Timestamp(expiresAt),
            ["token"] = token,
            ["url"] = DashboardLinks.Page(options.Value, request, projectId, runId, token),
        });
    }

    private TimeSpan Lifetime(string? expiresIn)
    {
        var max = options.Value.MaxLinkLifetime;
        if (expiresIn is null) return options.Value.LinkLifetime;
        TimeSpan lifetime;
        try
        {
            lifetime = XmlConvert.ToTimeSpan(expiresIn);
        }
        catch (FormatException)
        {
            throw LedgerException.BadRequest($"'expiresIn' must be an ISO 8601 duration such as PT1H or P7D, not '{expiresIn}'.");
        }
        catch (OverflowException)
        {
            throw LedgerException.BadRequest($"'expiresIn' may be at most {XmlConvert.ToString(max)}.");
        }
        if (lifetime <= TimeSpan.Zero || lifetime > max)
        {
            throw LedgerException.BadRequest($"'expiresIn' must be more than zero and at most {XmlConvert.ToString(max)}.");
        }
        return lifetime;
    }

    private void RequireSigning()
    {
        if (!credentials.CanMint)
        {
            throw new LedgerException(StatusCodes.Status501NotImplemented, "Not configured",
                "This app has no signing secret (RunLedger__SigningSecrets), so it cannot mint project keys or links.");
        }
    }
}
