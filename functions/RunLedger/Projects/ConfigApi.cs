using RunLedger.Http;
using RunLedger.Runs;

namespace RunLedger.Projects;

/// <summary>
/// A project's (client's) stored config: pipeline definition, invoice markup, anything else.
/// Each run freezes a copy at start (<c>configSnapshot</c>), so changes here never alter runs.
/// </summary>
public static class ConfigApi
{
    public static IEndpointRouteBuilder MapProjectConfig(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/projects/{projectId}/config", GetConfig).WithName("GetProjectConfig");
        routes.MapPut("/api/projects/{projectId}/config", PutConfig).WithName("PutProjectConfig");
        return routes;
    }

    private static async Task<IResult> GetConfig(string projectId, RunStore store, CancellationToken cancellationToken)
    {
        RunsApi.CheckProject(projectId);
        var config = await store.GetConfigAsync(projectId, cancellationToken)
            ?? throw LedgerException.NotFound($"Project '{projectId}' has no stored config.");
        return TypedResults.Ok(config);
    }

    private static async Task<IResult> PutConfig(HttpRequest request, string projectId, RunStore store, CancellationToken cancellationToken)
    {
        RunsApi.CheckProject(projectId);
        var config = await JsonBody.ReadObjectAsync(request, cancellationToken);
        Costs.CostLedger.CheckInvoiceSettings(config, "invoice");
        await store.PutConfigAsync(projectId, config, cancellationToken);
        return TypedResults.Ok(config);
    }
}
