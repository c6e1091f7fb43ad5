using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// GET /api/openapi.json describes exactly the HTTP API the host serves: every HTTP function in
/// the functions.metadata the Worker SDK generated, with its route and methods, and nothing else;
/// and it is a valid OpenAPI document whose operations say what they answer.
/// </summary>
public sealed class OpenApiDocumentTests(LedgerHost host) : LedgerTest(host), IClassFixture<LedgerHost>
{
    [Fact]
    public async Task TheDocumentListsEveryHttpFunctionWithItsRouteAndMethodsAndNothingElse()
    {
        var response = await Client.GetAsync("/api/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.JsonAsync();
        Assert.StartsWith("3.", (string)document["openapi"]!, StringComparison.Ordinal);

        var documented = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(operation =>
                $"{operation.Key.ToUpperInvariant()} {path.Key} {(string)operation.Value!["operationId"]!}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        var metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(LedgerHost.AppDirectory, "functions.metadata")))!.AsArray();
        var served = metadata
            .Select(f => (Name: (string)f!["name"]!, Trigger: f["bindings"]!.AsArray().Single(b => ((string)b!["type"]!).EndsWith("Trigger", StringComparison.Ordinal))!))
            .Where(f => (string)f.Trigger["type"]! == "httpTrigger")
            .SelectMany(f => f.Trigger["methods"]!.AsArray().Select(m => $"{((string)m!).ToUpperInvariant()} /api/{WithoutConstraints((string)f.Trigger["route"]!)} {f.Name}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(served);
        Assert.Equal(served, documented);
        Assert.DoesNotContain(documented, d => d.Contains("AgentProgress", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OperationsThatNeedAFunctionKeySaySoAndHealthDoesNot()
    {
        var document = await (await Client.GetAsync("/api/openapi.json")).JsonAsync();

        Assert.Null(document["paths"]!["/api/health"]!["get"]!["security"]);
        Assert.NotNull(document["paths"]!["/api/pipelines"]!["post"]!["security"]);
        Assert.Equal("x-functions-key", (string)document["components"]!["securitySchemes"]!["functionKey"]!["name"]!);
    }

    [Fact]
    public async Task TheServedDocumentIsValidOpenApiAndEveryOperationDeclaresA2xxAnswerAndNoDefaultResponse()
    {
        var text = await Client.GetStringAsync("/api/openapi.json");

        var document = new Microsoft.OpenApi.Readers.OpenApiStringReader().Read(text, out var diagnostic);

        Assert.True(diagnostic.Errors.Count == 0, "OpenAPI errors:\n" + string.Join("\n", diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}")));
        Assert.Equal(Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_0, diagnostic.SpecificationVersion);
        var operations = document.Paths.SelectMany(p => p.Value.Operations.Select(o => (Name: o.Value.OperationId, o.Value.Responses))).ToList();
        var httpFunctions = typeof(RunLedger.Hosting.LedgerServices).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttributes(typeof(Microsoft.Azure.Functions.Worker.FunctionAttribute), false).Length > 0
                && m.GetParameters().Any(p => p.GetCustomAttributes(typeof(Microsoft.Azure.Functions.Worker.HttpTriggerAttribute), false).Length > 0))
            .ToList();
        Assert.Equal(httpFunctions.Count, operations.Count);
        Assert.All(operations, o =>
        {
            Assert.True(o.Responses.Keys.Any(k => k.StartsWith('2')), $"{o.Name} declares no 2xx answer.");
            Assert.False(o.Responses.ContainsKey("default"), $"{o.Name} has a default response.");
            Assert.Contains("500", o.Responses.Keys);
        });
    }

    [Fact]
    public async Task EveryRefusalIsProblemJsonAndOperationsNeedingACredentialDeclare401And403()
    {
        var document = await (await Client.GetAsync("/api/openapi.json")).JsonAsync();

        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var name = (string)operation!["operationId"]!;
                var responses = operation["responses"]!.AsObject();
                foreach (var (status, reference) in responses.Where(r => r.Key[0] is '4' or '5'))
                {
                    var response = document["components"]!["responses"]![((string)reference!["$ref"]!).Split('/')[^1]];
                    Assert.True(response!["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>() == "#/components/schemas/Problem",
                        $"{name} answers {status} without the Problem schema.");
                }
                var needsCredential = operation["security"] is not null;
                Assert.True(needsCredential == (responses.ContainsKey("401") && responses.ContainsKey("403")), $"{method.ToUpperInvariant()} {path} ({name}): security and 401/403 disagree.");
            }
        }
        Assert.NotNull(document["paths"]!["/api/projects/{projectId}/runs/{runId}"]!["patch"]!["responses"]!["412"]);
        Assert.Equal("#/components/schemas/Run",
            (string?)document["paths"]!["/api/pipelines"]!["post"]!["responses"]!["202"]!["content"]!["application/json"]!["schema"]!["$ref"]);
        Assert.NotNull(document["paths"]!["/api/pipelines"]!["post"]!["responses"]!["202"]!["headers"]!["Location"]);
        Assert.NotNull(document["paths"]!["/api/projects/{projectId}/runs/{runId}/costs"]!["get"]!["responses"]!["200"]!["content"]!["text/csv"]);
        Assert.NotNull(document["paths"]!["/api/projects/{projectId}/runs/{runId}/events"]!["get"]!["responses"]!["200"]!["content"]!["text/event-stream"]);
    }

    /// <summary>OpenAPI names path parameters without their route constraints: <c>{runId}</c>, not <c>{runId:regex(...)}</c>.</summary>
    private static string WithoutConstraints(string route) =>
        System.Text.RegularExpressions.Regex.Replace(route, @"\{(\w+)(?::[^}]*)?\}", "{$1}");
}
