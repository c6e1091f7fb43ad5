using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RunLedger.Hosting;
using RunLedger.Ledger;

namespace RunLedger.Dashboard;

/// <summary>
/// A run's <c>dashboardUrl</c>: the address of its run page, worked out for each answer rather
/// than stored, so that it follows <c>RunLedger__DashboardBaseUrl</c> (else the request's own scheme
/// and host) and the stored run never holds a credential.
/// </summary>
public sealed class DashboardLinks(IOptions<LedgerOptions> options)
{
    public const string Field = "dashboardUrl";

    /// <summary>The app's base address for links in answers to <paramref name="request"/>.</summary>
    public string BaseUrl(HttpRequest request) =>
        options.Value.DashboardBaseUrl is { Length: > 0 } configured
            ? configured.TrimEnd('/')
            : $"{request.Scheme}://{request.Host.Value}";

    public string RunPage(HttpRequest request, string projectId, string runId) =>
        $"{BaseUrl(request)}/{OpenApiDocument.RoutePrefix}/dashboard/projects/{Uri.EscapeDataString(projectId)}/runs/{Uri.EscapeDataString(runId)}";

    public string ProjectPage(HttpRequest request, string projectId) =>
        $"{BaseUrl(request)}/{OpenApiDocument.RoutePrefix}/dashboard/projects/{Uri.EscapeDataString(projectId)}";

    /// <summary>Sets <c>dashboardUrl</c> on a run (or a run summary) about to be answered.</summary>
    public JsonObject Stamp(HttpRequest request, JsonObject run)
    {
        if ((string?)run["projectId"] is { } projectId && (string?)run["runId"] is { } runId)
        {
            run[Field] = RunPage(request, projectId, runId);
        }
        return run;
    }
}
