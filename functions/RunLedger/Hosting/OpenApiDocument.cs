using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.WebUtilities;
using RunLedger.Access;
using RunLedger.Http;

namespace RunLedger.Hosting;

/// <summary>
/// An OpenAPI 3 document of the HTTP functions, read from their <c>[Function]</c> and
/// <c>[HttpTrigger]</c> attributes: the same facts the Worker SDK writes to functions.metadata,
/// so the document cannot drift from what the host serves; and from what each function declares beside
/// its route: <c>[Answers]</c>, <c>[Problems]</c>, <c>[Body]</c>, <c>[Query]</c>, <c>[RequestHeader]</c>
/// (Http/Outcomes). The bodies' schemas and the parameters' meanings are in <see cref="OpenApiSchemas"/>.
/// </summary>
public static partial class OpenApiDocument
{
    public const string RoutePrefix = "api";

    /// <summary>Every HTTP function: name, methods, route (without the prefix), the host's auth level, its access rule.</summary>
    public static IEnumerable<(string Name, string[] Methods, string Route, AuthorizationLevel Auth, AccessAttribute? Access)> HttpFunctions(Assembly assembly) =>
        Functions(assembly).Select(f => (f.Name, f.Methods, f.Route, f.Auth, f.Access));

    public static JsonObject Build(Assembly assembly)
    {
        var schemas = OpenApiSchemas.Schemas();
        var paths = new JsonObject();
        foreach (var (name, methods, route, _, access, method) in Functions(assembly).OrderBy(f => f.Route, StringComparer.Ordinal))
        {
            // OpenAPI paths name parameters without route constraints ({runId}, not {runId:regex(...)}).
            var path = $"/{RoutePrefix}/{Parameter().Replace(route, m => $"{{{m.Groups["name"].Value}}}")}";
            var item = paths[path]?.AsObject() ?? (JsonObject)(paths[path] = new JsonObject());
            foreach (var verb in methods)
            {
                var operation = new JsonObject
                {
                    ["operationId"] = name,
                    ["tags"] = new JsonArray(method.DeclaringType!.Namespace!.Split('.')[^1]),
                    ["parameters"] = new JsonArray([.. Parameters(route, method)]),
                };
                if (method.GetCustomAttribute<BodyAttribute>() is { } body)
                {
                    operation["requestBody"] = new JsonObject
                    {
                        ["required"] = body.Required,
                        ["content"] = new JsonObject(body.ContentTypes.Select(type =>
                            KeyValuePair.Create(type, (JsonNode?)new JsonObject { ["schema"] = Schema(body.Schema, schemas, name) }))),
                    };
                }
                operation["responses"] = Responses(name, method, schemas);
                if (access is { Need: not Need.Anyone })
                {
                    operation["description"] = Describe(access);
                    operation["security"] = new JsonArray(new JsonObject { ["functionKey"] = new JsonArray() }, new JsonObject { ["functionCode"] = new JsonArray() });
                }
                item[verb.ToLowerInvariant()] = operation;
            }
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject
            {
                ["title"] = "Run Ledger",
                ["version"] = "1.0",
                ["description"] = "The run-state ledger for AI content pipelines. Every refusal is RFC 9457 problem+json.",
            },
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["schemas"] = schemas,
                ["responses"] = ProblemResponses(Functions(assembly).SelectMany(f => ProblemStatuses(f.Method))),
                ["securitySchemes"] = new JsonObject
                {
                    ["functionKey"] = new JsonObject { ["type"] = "apiKey", ["in"] = "header", ["name"] = "x-functions-key" },
                    ["functionCode"] = new JsonObject { ["type"] = "apiKey", ["in"] = "query", ["name"] = "code" },
                },
            },
        };
    }

    /// <summary>
    /// Every status <paramref name="method"/> can answer with: its <c>[Answers]</c> and <c>[Problems]</c>,
    /// 401 and 403 when its <c>[Access]</c> needs a credential, and 500.
    /// </summary>
    public static IReadOnlySet<int> Statuses(MethodInfo method) =>
        new SortedSet<int>(method.GetCustomAttributes<AnswersAttribute>().Select(a => a.Status).Concat(ProblemStatuses(method)));

    private static IEnumerable<int> ProblemStatuses(MethodInfo method)
    {
        var declared = method.GetCustomAttribute<ProblemsAttribute>()?.Statuses ?? [];
        var access = method.GetCustomAttribute<AccessAttribute>();
        return declared
            .Concat(access is { Need: not Need.Anyone } ? [StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden] : [])
            .Append(StatusCodes.Status500InternalServerError)
            .Distinct()
            .Order();
    }

    private static IEnumerable<(string Name, string[] Methods, string Route, AuthorizationLevel Auth, AccessAttribute? Access, MethodInfo Method)> Functions(Assembly assembly) =>
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
        let function = method.GetCustomAttribute<FunctionAttribute>()
        where function is not null
        from parameter in method.GetParameters()
        let trigger = parameter.GetCustomAttribute<HttpTriggerAttribute>()
        where trigger is not null
        select (function.Name, trigger.Methods ?? [], trigger.Route ?? function.Name, trigger.AuthLevel, method.GetCustomAttribute<AccessAttribute>(), method);

    private static IEnumerable<JsonNode> Parameters(string route, MethodInfo method)
    {
        foreach (Match m in Parameter().Matches(route))
        {
            var name = m.Groups["name"].Value;
            yield return new JsonObject
            {
                ["name"] = name,
                ["in"] = "path",
                ["required"] = true,
                ["schema"] = name is "projectId" or "runId"
                    ? new JsonObject { ["type"] = "string", ["pattern"] = "^[A-Za-z0-9_.-]{1,128}$" }
                    : new JsonObject { ["type"] = "string" },
            };
        }
        foreach (var query in method.GetCustomAttributes<QueryAttribute>())
        {
            yield return OpenApiSchemas.Query(query.Name, query.Maximum, query.Default);
        }
        foreach (var header in method.GetCustomAttributes<RequestHeaderAttribute>())
        {
            yield return OpenApiSchemas.RequestHeader(header.Name);
        }
    }

    private static JsonObject Responses(string function, MethodInfo method, JsonObject schemas)
    {
        var responses = new JsonObject();
        foreach (var group in method.GetCustomAttributes<AnswersAttribute>().GroupBy(a => a.Status).OrderBy(g => g.Key))
        {
            var answers = group.ToList();
            var response = new JsonObject
            {
                ["description"] = string.Join(" ", answers.Select(a => a.When).Where(w => w is not null).Distinct()) is { Length: > 0 } when
                    ? when
                    : ReasonPhrases.GetReasonPhrase(group.Key),
            };
            var headers = answers.SelectMany(a => a.Headers).Distinct().ToList();
            if (headers.Count > 0)
            {
                response["headers"] = new JsonObject(headers.Select(h => KeyValuePair.Create(h, (JsonNode?)OpenApiSchemas.ResponseHeader(h))));
            }
            var bodies = answers.Where(a => a.Schema is not null || a.ContentType != AnswersAttribute.Json).ToList();
            if (bodies.Count > 0)
            {
                response["content"] = new JsonObject(bodies.Select(a => KeyValuePair.Create(a.ContentType, (JsonNode?)new JsonObject
                {
                    ["schema"] = a.Schema is null ? new JsonObject { ["type"] = "string" } : Schema(a.Schema, schemas, function),
                })));
            }
            responses[group.Key.ToString(CultureInfo.InvariantCulture)] = response;
        }
        if (responses.Count == 0 || responses.All(r => r.Key[0] != '2'))
        {
            throw new InvalidOperationException($"{function} declares no [Answers] with a 2xx status.");
        }
        foreach (var status in ProblemStatuses(method))
        {
            responses[status.ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["$ref"] = "#/components/responses/" + ProblemName(status) };
        }
        return responses;
    }

    /// <summary>The problem responses, one per status, that operations refer to.</summary>
    private static JsonObject ProblemResponses(IEnumerable<int> statuses)
    {
        var responses = new JsonObject();
        foreach (var status in statuses.Distinct().Order())
        {
            var problem = new JsonObject
            {
                ["description"] = OpenApiSchemas.Problem(status),
                ["content"] = new JsonObject { ["application/problem+json"] = new JsonObject { ["schema"] = OpenApiSchemas.Ref("Problem") } },
            };
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                problem["headers"] = new JsonObject { ["Retry-After"] = OpenApiSchemas.ResponseHeader("Retry-After") };
            }
            responses[ProblemName(status)] = problem;
        }
        return responses;
    }

    /// <summary>400 is BadRequest, 503 ServiceUnavailable.</summary>
    private static string ProblemName(int status) => ReasonPhrases.GetReasonPhrase(status).Replace(" ", "", StringComparison.Ordinal);

    private static JsonObject Schema(string name, JsonObject schemas, string function) =>
        schemas.ContainsKey(name)
            ? OpenApiSchemas.Ref(name)
            : throw new InvalidOperationException($"{function} names the schema '{name}', which the document does not define.");

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
