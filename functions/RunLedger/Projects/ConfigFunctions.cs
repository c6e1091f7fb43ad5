using RunLedger.Access;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Http;

namespace RunLedger.Projects;

/// <summary>
/// A project's (client's) stored config: pipeline definition, invoice markup, anything else.
/// Each run freezes a copy at start (<c>configSnapshot</c>), so changes here never alter runs.
/// <code>
/// GET projects/{projectId}/config   GetProjectConfig
/// PUT projects/{projectId}/config   PutProjectConfig
/// </code>
/// </summary>
public sealed class ConfigFunctions(ProjectConfigs configs)
{
    [Function("GetProjectConfig")]
    [Access(Need.Write)]
    [Answers(200, "Config")]
    [Problems(400, 404, 503)]
    public async Task<IResult> GetConfig(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "projects/{projectId}/config")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var config = await configs.GetAsync(projectId, cancellationToken)
            ?? throw LedgerException.NotFound($"Project '{projectId}' has no stored config.");
        return TypedResults.Ok(config);
    }

    [Function("PutProjectConfig")]
    [Access(Need.Write)]
    [Body("Config")]
    [Answers(200, "Config", When = "The config, stored as sent.")]
    [Problems(400, 413, 415, 503)]
    public async Task<IResult> PutConfig(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "projects/{projectId}/config")] HttpRequest request,
        string projectId, CancellationToken cancellationToken)
    {
        RouteIds.CheckProject(projectId);
        var config = await JsonBody.ReadObjectAsync(request, cancellationToken);
        await configs.PutAsync(projectId, config, cancellationToken);
        return TypedResults.Ok(config);
    }
}
