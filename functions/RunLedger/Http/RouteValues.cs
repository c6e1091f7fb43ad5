using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Azure.Functions.Worker;

namespace RunLedger.Http;

/// <summary>
/// The values of an HTTP function's own route. Binding data is not that: Azure's host fills it from the
/// body's top-level JSON members, then every query parameter, then the route's values
/// (azure-webjobs-sdk-extensions HttpTriggerAttributeBindingProvider.GetRequestBindingData), so on a route
/// without <c>{runId}</c> a request's <c>?runId=R</c> shows up as <c>runId</c>. A value is taken from binding
/// data only when the function's route template declares it; there the route's value wins.
/// </summary>
public static class RouteValues
{
    private static readonly FrozenDictionary<string, FrozenSet<string>> Parameters =
        (from type in typeof(RouteValues).Assembly.GetTypes()
         from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
         let function = method.GetCustomAttribute<FunctionAttribute>()
         where function is not null
         from parameter in method.GetParameters()
         let trigger = parameter.GetCustomAttribute<HttpTriggerAttribute>()
         where trigger is not null
         select (function.Name, Names: Declared(trigger.Route ?? function.Name)))
        .ToFrozenDictionary(f => f.Name, f => f.Names);

    /// <summary>The value of <paramref name="name"/> in the invoked function's route, or null when its route has no such parameter.</summary>
    public static string? Get(FunctionContext context, string name) =>
        Parameters.TryGetValue(context.FunctionDefinition.Name, out var names) && names.Contains(name)
        && context.BindingContext.BindingData.TryGetValue(name, out var value)
            ? value as string
            : null;

    /// <summary>Whether <paramref name="function"/> is one of the app's HTTP functions.</summary>
    public static bool IsHttpFunction(string function) => Parameters.ContainsKey(function);

    /// <summary>The parameter names a route template declares.</summary>
    public static FrozenSet<string> Declared(string template) =>
        RoutePatternFactory.Parse(template).Parameters.Select(p => p.Name).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
}
