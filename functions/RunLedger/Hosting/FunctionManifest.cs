using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing.Patterns;
using RunLedger.Ledger;
using RunLedger.Progress;

namespace RunLedger.Hosting;

/// <summary>One Azure Functions function: the folder it lives in and its <c>function.json</c>.</summary>
public sealed record FunctionDefinition(string Name, JsonObject FunctionJson);

/// <summary>
/// Writes the Functions host's view of this app, one <c>{Name}/function.json</c> per function,
/// from the app's own route table, so the two cannot drift apart (<c>RunLedger --emit-functions DIR</c>,
/// run by publish.sh). Every endpoint under <c>/api</c> must have a name (<c>.WithName</c>): it
/// becomes the function's name. The host adds the <c>api</c> route prefix itself and proxies the
/// original path, so a function's route is the endpoint's pattern without its leading <c>api/</c>.
/// Queue triggers are the host invocations the app maps outside <c>/api</c> (see <see cref="HostInvocation"/>).
/// </summary>
public static class FunctionManifest
{
    public const string EmitArgument = "--emit-functions";

    /// <summary>The host's HTTP route prefix (host.json <c>extensions.http.routePrefix</c>, default <c>api</c>).</summary>
    public const string RoutePrefix = "api";

    /// <summary>App setting (or setting prefix, for identity-based access) naming the trigger's storage account.</summary>
    public const string StorageConnection = "AzureWebJobsStorage";

    /// <summary>When the arguments ask for it, writes the function folders and returns true: the app then exits instead of serving.</summary>
    public static bool TryEmit(WebApplication app, string[] args)
    {
        var at = Array.IndexOf(args, EmitArgument);
        if (at < 0)
        {
            return false;
        }

        if (at + 1 >= args.Length)
        {
            throw new ArgumentException($"{EmitArgument} needs the directory to write the function folders to.", nameof(args));
        }

        var endpoints = ((IEndpointRouteBuilder)app).DataSources.SelectMany(source => source.Endpoints);
        var functions = Build(endpoints);
        Write(functions, args[at + 1]);
        Console.WriteLine($"Wrote {functions.Count} functions to {Path.GetFullPath(args[at + 1])}: {string.Join(", ", functions.Select(f => f.Name))}");
        return true;
    }

    public static IReadOnlyList<FunctionDefinition> Build(IEnumerable<Endpoint> endpoints)
    {
        var functions = new List<FunctionDefinition>();
        foreach (var endpoint in endpoints.OfType<RouteEndpoint>())
        {
            var pattern = Render(endpoint.RoutePattern);
            var name = endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
            var route = FunctionRoute(endpoint.RoutePattern);
            if (name is null)
            {
                if (route is not null)
                {
                    throw new InvalidOperationException(
                        $"Endpoint '/{pattern}' has no name. Give it .WithName(\"...\"): under Azure Functions each /{RoutePrefix} endpoint is a function of that name.");
                }
                continue; // "/" (readiness) and host invocations such as "/AgentProgress"
            }

            if (route is null)
            {
                throw new InvalidOperationException(
                    $"Endpoint '{name}' ('/{pattern}') is not under /{RoutePrefix}/, so the Functions host cannot route HTTP requests to it.");
            }

            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [];
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            functions.Add(new FunctionDefinition(name, HttpFunction(route, methods, anonymous)));
        }

        functions.Add(new FunctionDefinition(
            HostInvocation.FunctionName,
            QueueFunction(HostInvocation.BindingName, new LedgerOptions().ProgressQueue)));

        var duplicate = functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two functions would be named '{duplicate.Key}'; endpoint names must be unique (ignoring case).");
        }

        return [.. functions.OrderBy(f => f.Name, StringComparer.Ordinal)];
    }

    public static void Write(IEnumerable<FunctionDefinition> functions, string directory)
    {
        foreach (var function in functions)
        {
            var folder = Path.Combine(directory, function.Name);
            Directory.CreateDirectory(folder);
            File.WriteAllText(
                Path.Combine(folder, "function.json"),
                function.FunctionJson.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }

    public static JsonObject HttpFunction(string route, IEnumerable<string> methods, bool anonymous)
    {
        var trigger = new JsonObject
        {
            ["type"] = "httpTrigger",
            ["direction"] = "in",
            ["name"] = "req",
            // The host checks keys before proxying; "function" accepts a function key or a host key.
            ["authLevel"] = anonymous ? "anonymous" : "function",
        };
        var methodList = methods.Select(m => m.ToLowerInvariant()).ToList();
        if (methodList.Count > 0)
        {
            trigger["methods"] = new JsonArray([.. methodList.Select(m => (JsonNode)m)]);
        }
        trigger["route"] = route;
        return new JsonObject
        {
            ["bindings"] = new JsonArray(trigger, new JsonObject
            {
                ["type"] = "http",
                ["direction"] = "out",
                ["name"] = "res",
            }),
        };
    }

    public static JsonObject QueueFunction(string bindingName, string queueName) => new()
    {
        ["bindings"] = new JsonArray(new JsonObject
        {
            ["type"] = "queueTrigger",
            ["direction"] = "in",
            ["name"] = bindingName,
            ["queueName"] = queueName,
            ["connection"] = StorageConnection,
        }),
    };

    /// <summary><c>/api/projects/{projectId}/runs/</c> → <c>projects/{projectId}/runs</c>; null when not under <c>/api</c>.</summary>
    public static string? FunctionRoute(RoutePattern pattern)
    {
        var segments = pattern.PathSegments;
        if (segments.Count < 2
            || segments[0].Parts is not [RoutePatternLiteralPart { Content: RoutePrefix }])
        {
            return null;
        }

        return string.Join('/', segments.Skip(1).Select(Render));
    }

    /// <summary>The pattern in route-template syntax, without leading or trailing slashes.</summary>
    public static string Render(RoutePattern pattern) => string.Join('/', pattern.PathSegments.Select(Render));

    private static string Render(RoutePatternPathSegment segment) => string.Concat(segment.Parts.Select(part => part switch
    {
        RoutePatternLiteralPart literal => literal.Content,
        RoutePatternSeparatorPart separator => separator.Content,
        RoutePatternParameterPart parameter =>
            "{"
            + (parameter.IsCatchAll ? (parameter.EncodeSlashes ? "*" : "**") : "")
            + parameter.Name
            + string.Concat(parameter.ParameterPolicies.Select(policy => ":" + policy.Content))
            + (parameter.Default is { } value ? "=" + Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : "")
            + (parameter.IsOptional ? "?" : "")
            + "}",
        _ => throw new NotSupportedException($"Route part {part.GetType().Name} is not supported."),
    }));
}
