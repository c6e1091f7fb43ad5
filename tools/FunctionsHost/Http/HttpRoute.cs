using FunctionsHost.Functions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Constraints;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;

namespace FunctionsHost.Http;

/// <summary>One HTTP function's route: template (with the route prefix), inline constraints and methods.</summary>
internal sealed class HttpRoute
{
    private readonly TemplateMatcher matcher;
    private readonly List<(string Parameter, IRouteConstraint Constraint)> constraints = [];
    private readonly HashSet<string>? methods;

    public HttpRoute(FunctionDescriptor function, string routePrefix, IInlineConstraintResolver resolver)
    {
        Function = function;
        var pattern = RoutePatternFactory.Parse(FunctionCatalog.Path(routePrefix, function.Route!));
        var template = new RouteTemplate(pattern);
        matcher = new TemplateMatcher(template, new RouteValueDictionary(pattern.Defaults));
        foreach (var parameter in pattern.Parameters)
        {
            foreach (var policy in parameter.ParameterPolicies)
            {
                var constraint = resolver.ResolveConstraint(policy.Content!)
                    ?? throw new InvalidOperationException($"Function '{function.Name}': unknown route constraint '{policy.Content}'.");
                constraints.Add((parameter.Name, parameter.IsOptional ? new OptionalRouteConstraint(constraint) : constraint));
            }
        }
        methods = function.Methods is { Count: > 0 } list ? new HashSet<string>(list, StringComparer.OrdinalIgnoreCase) : null;
    }

    public FunctionDescriptor Function { get; }

    public bool TryMatch(HttpContext context, out RouteValueDictionary values)
    {
        values = [];
        if (methods is not null && !methods.Contains(context.Request.Method))
        {
            return false;
        }
        if (!matcher.TryMatch(context.Request.Path, values))
        {
            return false;
        }
        foreach (var (parameter, constraint) in constraints)
        {
            if (!constraint.Match(context, null, parameter, values, RouteDirection.IncomingRequest))
            {
                return false;
            }
        }
        return true;
    }
}
