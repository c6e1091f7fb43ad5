using FunctionsHost.Functions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Http;

/// <summary>
/// Matches a request to an HTTP function as Azure's Functions host does: route prefix, template,
/// constraints and methods, with routes tried in function-name order (case-insensitive) and the first
/// match taken. No ASP.NET Core route precedence: Azure's host adds one route per function, in the order
/// its function metadata is sorted (azure-functions-host src/WebJobs.Script/Host/FunctionMetadataManager.cs,
/// <c>OrderBy(f =&gt; f.Name, StringComparer.OrdinalIgnoreCase)</c>; src/WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs)
/// to a <c>RouteCollection</c>, which tries them in order (azure-webjobs-sdk-extensions
/// src/WebJobs.Extensions.Http/Routing/WebJobsRouteBuilder.cs; azure-functions-host#9876,
/// azure-functions-dotnet-worker#1855). So <c>runs/{runId}</c> in <c>GetRun</c> answers <c>runs/counts</c>
/// before <c>GetRunCounts</c> is tried. Routes that can match one request are logged as a warning at start-up.
/// A method that matches no function is a 404, as under the host.
/// </summary>
internal sealed class HttpRouter
{
    private readonly List<HttpRoute> routes;

    public HttpRouter(IReadOnlyList<FunctionDescriptor> functions, string routePrefix, IInlineConstraintResolver resolver, ILogger? logger = null)
    {
        var http = functions
            .Where(f => f.Trigger == TriggerKind.Http)
            .OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
        routes = http.Select(f => new HttpRoute(f, routePrefix, resolver)).ToList();
        if (logger is null)
        {
            return;
        }
        var overlaps = RouteOverlaps.Find(http.Select(f => new RouteOverlaps.Route(f.Name, f.Methods, FunctionCatalog.Path(routePrefix, f.Route!))), resolver);
        foreach (var (first, second) in overlaps)
        {
            HttpLog.RoutesOverlap(logger, first.Function, first.Template, second.Function, second.Template);
        }
    }

    public (FunctionDescriptor Function, RouteValueDictionary Values)? Match(HttpContext context)
    {
        foreach (var route in routes)
        {
            if (route.TryMatch(context, out var values))
            {
                return (route.Function, values);
            }
        }
        return null;
    }
}
