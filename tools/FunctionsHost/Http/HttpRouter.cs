using FunctionsHost.Functions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FunctionsHost.Http;

/// <summary>
/// Matches a request to an HTTP function as the Functions host does: route prefix, template,
/// constraints and methods. A method that matches no function is a 404, as under the host.
/// </summary>
internal sealed class HttpRouter(IReadOnlyList<FunctionDescriptor> functions, string routePrefix, IInlineConstraintResolver resolver)
{
    private readonly List<HttpRoute> routes = functions
        .Where(f => f.Trigger == TriggerKind.Http)
        .Select(f => new HttpRoute(f, routePrefix, resolver))
        .OrderBy(r => r.Precedence)
        .ToList();

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
