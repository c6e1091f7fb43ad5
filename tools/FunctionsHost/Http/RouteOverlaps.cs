using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsHost.Http;

/// <summary>
/// Finds pairs of HTTP routes that can match one request. Azure's host tries routes in function-name
/// order and takes the first that matches (see <see cref="HttpRouter"/>), so in such a pair the request
/// goes to whichever function sorts first, not to the more specific route: an app must not have any.
/// The check is conservative: two parameters at the same place are assumed to overlap (their constraints
/// are not compared with each other), a literal against a parameter overlaps when the parameter's
/// constraints accept the literal, optional parameters may be absent, a catch-all takes the rest.
/// </summary>
public static class RouteOverlaps
{
    /// <summary>One HTTP route: the function's name, its methods (null: every method) and its template.</summary>
    public sealed record Route(string Function, IReadOnlyCollection<string>? Methods, string Template);

    /// <summary>Every pair that can match the same method and path, in function-name order.</summary>
    public static IReadOnlyList<(Route First, Route Second)> Find(IEnumerable<Route> routes, IInlineConstraintResolver? resolver = null)
    {
        resolver ??= DefaultResolver.Value;
        var parsed = routes
            .OrderBy(r => r.Function, StringComparer.OrdinalIgnoreCase)
            .Select(r => (Route: r, Segments: Segments(r.Template, resolver)))
            .ToList();
        var pairs = new List<(Route, Route)>();
        for (var i = 0; i < parsed.Count; i++)
        {
            for (var j = i + 1; j < parsed.Count; j++)
            {
                if (MethodsMeet(parsed[i].Route.Methods, parsed[j].Route.Methods) && CanMeet(parsed[i].Segments, 0, parsed[j].Segments, 0))
                {
                    pairs.Add((parsed[i].Route, parsed[j].Route));
                }
            }
        }
        return pairs;
    }

    private static readonly Lazy<IInlineConstraintResolver> DefaultResolver = new(() =>
        new ServiceCollection().AddRouting().BuildServiceProvider().GetRequiredService<IInlineConstraintResolver>());

    private static bool MethodsMeet(IReadOnlyCollection<string>? a, IReadOnlyCollection<string>? b) =>
        a is null || b is null || a.Intersect(b, StringComparer.OrdinalIgnoreCase).Any();

    private sealed record Segment(string? Literal, string? Parameter, IReadOnlyList<IRouteConstraint> Constraints, bool Optional, bool CatchAll)
    {
        /// <summary>Whether this segment can match the literal path segment <paramref name="text"/>.</summary>
        public bool Accepts(string text)
        {
            if (Literal is not null)
            {
                return string.Equals(Literal, text, StringComparison.OrdinalIgnoreCase);
            }
            if (Parameter is null)
            {
                return true; // a complex segment ("{a}.{b}"): assume it can
            }
            var values = new RouteValueDictionary { [Parameter] = text };
            return Constraints.All(c => c.Match(null, null, Parameter, values, RouteDirection.IncomingRequest));
        }
    }

    private static List<Segment> Segments(string template, IInlineConstraintResolver resolver) =>
        RoutePatternFactory.Parse(template).PathSegments.Select(segment =>
        {
            if (segment.IsSimple && segment.Parts[0] is RoutePatternLiteralPart literal)
            {
                return new Segment(literal.Content, null, [], false, false);
            }
            if (segment.IsSimple && segment.Parts[0] is RoutePatternParameterPart parameter)
            {
                var constraints = parameter.ParameterPolicies
                    .Select(p => resolver.ResolveConstraint(p.Content!) ?? throw new InvalidOperationException($"Unknown route constraint '{p.Content}' in '{template}'."))
                    .ToList();
                return new Segment(null, parameter.Name, constraints, parameter.IsOptional || parameter.Default is not null, parameter.IsCatchAll);
            }
            return new Segment(null, null, [], false, false);
        }).ToList();

    private static bool CanMeet(List<Segment> a, int i, List<Segment> b, int j)
    {
        if (i < a.Count && a[i].CatchAll || j < b.Count && b[j].CatchAll)
        {
            return true;
        }
        if (i == a.Count || j == b.Count)
        {
            // One route is used up: the other matches only if all it has left may be absent.
            return a.Skip(i).All(s => s.Optional) && b.Skip(j).All(s => s.Optional);
        }
        var (x, y) = (a[i], b[j]);
        var here = x.Literal is not null ? y.Accepts(x.Literal)
            : y.Literal is not null ? x.Accepts(y.Literal)
            : true;
        return here && CanMeet(a, i + 1, b, j + 1)
            || x.Optional && CanMeet(a, i + 1, b, j)
            || y.Optional && CanMeet(a, i, b, j + 1);
    }
}
