using System.Net;
using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// GET /api/openapi.json describes exactly the HTTP API the host serves: every HTTP function in
/// the functions.metadata the Worker SDK generated, with its route and methods, and nothing else.
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
            .Where(f => (string)f.Trigger["type"]! == "httpTrigger" && f.Name != "GetOpenApiDocument")
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

    /// <summary>OpenAPI names path parameters without their route constraints: <c>{runId}</c>, not <c>{runId:regex(...)}</c>.</summary>
    private static string WithoutConstraints(string route) =>
        System.Text.RegularExpressions.Regex.Replace(route, @"\{(\w+)(?::[^}]*)?\}", "{$1}");
}
