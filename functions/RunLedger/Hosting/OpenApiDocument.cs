using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Azure.Functions.Worker;
using RunLedger.Access;

namespace RunLedger.Hosting;

/// <summary>
/// An OpenAPI 3 document of the HTTP functions, read from their <c>[Function]</c> and
/// <c>[HttpTrigger]</c> attributes: the same facts the Worker SDK writes to functions.metadata,
/// so the document cannot drift from what the host serves. Only the document itself is left out.
/// </summary>
public static partial class OpenApiDocument
{
    public const string RoutePrefix = "api";

    /// <summary>Every HTTP function: name, methods, route (without the prefix), the host's auth level, its access rule.</summary>
    public static IEnumerable<(string Name, string[] Methods, string Route, AuthorizationLevel Auth, AccessAttribute? Access)> HttpFunctions(Assembly assembly) =>
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
        let function = method.GetCustomAttribute<FunctionAttribute>()
        where function is not null
        from parameter in method.GetParameters()
        let trigger = parameter.GetCustomAttribute<HttpTriggerAttribute>()
        where trigger is not null
        select (function.Name, trigger.Methods ?? [], trigger.Route ?? function.Name, trigger.AuthLevel, method.GetCustomAttribute<AccessAttribute>());

    public static JsonObject Build(Assembly assembly)
    {
        var paths = new JsonObject();
        foreach (var (name, methods, route, _, access) in HttpFunctions(assembly)
                     .Where(f => f.Name != "GetOpenApiDocument")
                     .OrderBy(f => f.Route, StringComparer.Ordinal))
        {
            // OpenAPI paths name parameters without route constraints ({runId}, not {runId:regex(...)}).
            var path = $"/{RoutePrefix}/{Parameter().Replace(route, m => $"{{{m.Groups["name"].Value}}}")}";
            var item = paths[path]?.AsObject() ?? (JsonObject)(paths[path] = new JsonObject());
            foreach (var method in methods)
            {
                var operation = new JsonObject
                {
                    ["operationId"] = name,
                    ["parameters"] = new JsonArray([.. Parameter().Matches(route).Select(m => (JsonNode)new JsonObject
                    {
                        ["name"] = m.Groups["name"].Value,
                        ["in"] = "path",
                        ["required"] = true,
                        ["schema"] = new JsonObject { ["type"] = "string" },
                    })]),
                    ["responses"] = new JsonObject
                    {
                        ["default"] = new JsonObject
                        {
                            ["description"] = "JSON, or application/problem+json (RFC 9457) for errors.",
                        },
                    },
                };
                if (access is { Need: not Need.Anyone })
                {
                    operation["description"] = Describe(access);
                    operation["security"] = new JsonArray(new JsonObject { ["functionKey"] = new JsonArray() }, new JsonObject { ["functionCode"] = new JsonArray() });
                }
                item[method.ToLowerInvariant()] = operation;
            }
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject
            {
                ["title"] = "Run Ledger",
                ["version"] = "1.0",
                ["description"] = "The run-state ledger for AI content pipelines.",
            },
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["securitySchemes"] = new JsonObject
                {
                    ["functionKey"] = new JsonObject { ["type"] = "apiKey", ["in"] = "header", ["name"] = "x-functions-key" },
                    ["functionCode"] = new JsonObject { ["type"] = "apiKey", ["in"] = "query", ["name"] = "code" },
                },
            },
        };
    }

    private static string Describe(AccessAttribute access) => access.Need switch
    {
        Need.Admin => "Needs an admin key.",
        Need.Write => "Needs an admin key or the project's key.",
        _ when access.Project == ProjectFrom.Query => "Needs an admin key; with projectId, also that project's key or a read-only link token for it.",
        _ => "Needs an admin key, the project's key, or a read-only link token for the project (or, for a run's data, that run).",
    };

    [GeneratedRegex(@"\{(?<name>\w+)(?::[^}]*)?\}")]
    private static partial Regex Parameter();
}
