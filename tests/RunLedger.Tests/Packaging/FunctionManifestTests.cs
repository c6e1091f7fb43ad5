using System.Text.Json.Nodes;
using RunLedger.Hosting;
using RunLedger.Ledger;
using RunLedger.Progress;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// The function.json files publish.sh writes are generated from the app's route table; these
/// tests hold the generator to that table and host.json to what the app expects of the host.
/// </summary>
public sealed class FunctionManifestTests : LedgerTest
{
    private IReadOnlyList<FunctionDefinition> Functions => FunctionManifest.Build(RepoFiles.Endpoints(App.Services));

    private static JsonObject Trigger(FunctionDefinition function) => function.FunctionJson["bindings"]![0]!.AsObject();

    private static bool IsHttp(FunctionDefinition function) => (string?)Trigger(function)["type"] == "httpTrigger";

    [Fact]
    public void EveryApiEndpointIsNamedAndBecomesExactlyOneHttpFunctionWithItsRouteAndMethods()
    {
        var apiEndpoints = RepoFiles.Endpoints(App.Services).Where(RepoFiles.IsApi).ToList();
        Assert.NotEmpty(apiEndpoints);
        Assert.All(apiEndpoints, e => Assert.True(RepoFiles.Name(e) is not null, $"/{FunctionManifest.Render(e.RoutePattern)} has no name"));

        var http = Functions.Where(IsHttp).ToDictionary(f => f.Name);
        Assert.Equal(apiEndpoints.Select(e => RepoFiles.Name(e)!).Order(StringComparer.Ordinal), http.Keys.Order(StringComparer.Ordinal));
        foreach (var endpoint in apiEndpoints)
        {
            var trigger = Trigger(http[RepoFiles.Name(endpoint)!]);
            // The host prefixes "api/" and proxies the original path, which must be this endpoint's pattern.
            Assert.Equal(FunctionManifest.Render(endpoint.RoutePattern), $"{FunctionManifest.RoutePrefix}/{(string)trigger["route"]!}".TrimEnd('/'));
            var methods = (trigger["methods"]?.AsArray() ?? []).Select(m => ((string)m!).ToUpperInvariant()).Order(StringComparer.Ordinal);
            Assert.Equal(RepoFiles.Methods(endpoint), methods);
            Assert.Equal(RepoFiles.Name(endpoint) == "Health" ? "anonymous" : "function", (string)trigger["authLevel"]!);
            Assert.Equal("http", (string)http[RepoFiles.Name(endpoint)!].FunctionJson["bindings"]![1]!["type"]!);
        }
    }

    [Fact]
    public void TheOnlyQueueFunctionIsAgentProgressOnTheDefaultProgressQueueAndTheAppServesItsInvocationPath()
    {
        var queue = Assert.Single(Functions, f => !IsHttp(f));
        Assert.Equal(HostInvocation.FunctionName, queue.Name);
        var trigger = Trigger(queue);
        Assert.Equal("queueTrigger", (string)trigger["type"]!);
        Assert.Equal(HostInvocation.BindingName, (string)trigger["name"]!);
        Assert.Equal(new LedgerOptions().ProgressQueue, (string)trigger["queueName"]!);
        Assert.Equal("AzureWebJobsStorage", (string)trigger["connection"]!);

        var invocation = Assert.Single(RepoFiles.Endpoints(App.Services), e => FunctionManifest.Render(e.RoutePattern) == HostInvocation.FunctionName);
        Assert.Equal(["POST"], RepoFiles.Methods(invocation));
    }

    [Fact]
    public void NoHttpFunctionCanReachAHostInvocationPath()
    {
        // The host serves HTTP functions at /{routePrefix}/{route}; with a non-empty prefix no
        // HTTP request can arrive at /AgentProgress, which only the host's queue trigger calls.
        var http = RepoFiles.Json("host.json")["extensions"]?["http"];
        var prefix = (string?)http?["routePrefix"] ?? "api";
        Assert.Equal(FunctionManifest.RoutePrefix, prefix);

        // Outside /api the app serves only the readiness answer on "/" and one POST per queue function.
        var queueFunctions = Functions.Where(f => !IsHttp(f)).Select(f => f.Name).ToHashSet();
        var outside = RepoFiles.Endpoints(App.Services).Where(e => !RepoFiles.IsApi(e)).Select(e => FunctionManifest.Render(e.RoutePattern)).ToList();
        Assert.All(outside, path => Assert.True(path.Length == 0 || queueFunctions.Contains(path), $"'/{path}' is outside /api but is no host invocation"));
        Assert.All(Functions.Where(IsHttp), f => Assert.DoesNotContain((string)Trigger(f)["route"]!, queueFunctions));
    }

    [Fact]
    public void WrittenFoldersHoldExactlyTheGeneratedFunctions()
    {
        var directory = Directory.CreateTempSubdirectory("functions-");
        try
        {
            FunctionManifest.Write(Functions, directory.FullName);
            var written = directory.GetDirectories().ToDictionary(d => d.Name, d => JsonNode.Parse(File.ReadAllText(Path.Combine(d.FullName, "function.json")))!);
            Assert.Equal(Functions.Select(f => f.Name), written.Keys.Order(StringComparer.Ordinal));
            Assert.All(Functions, f => Assert.True(JsonNode.DeepEquals(f.FunctionJson, written[f.Name]), f.Name));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void HostJsonStartsThePublishedExecutableWithProxyingAndTheQueueSemanticsTheAppAssumes()
    {
        var host = RepoFiles.Json("host.json");
        Assert.Equal("2.0", (string)host["version"]!);
        var handler = host["customHandler"]!;
        // Both paths are relative to the function app root (the folder holding host.json).
        Assert.Equal("app/RunLedger", (string)handler["description"]!["defaultExecutablePath"]!);
        Assert.Equal("app", (string)handler["description"]!["workingDirectory"]!);
        Assert.True((bool)handler["enableProxyingHttpRequest"]!);
        Assert.Null(handler["enableForwardingHttpRequest"]); // buffers whole responses: breaks Server-Sent Events

        Assert.Equal("Microsoft.Azure.Functions.ExtensionBundle", (string)host["extensionBundle"]!["id"]!);
        Assert.Equal("[4.*, 5.0.0)", (string)host["extensionBundle"]!["version"]!);

        var queues = host["extensions"]!["queues"]!;
        Assert.Equal("base64", (string)queues["messageEncoding"]!);
        Assert.Equal(QueueListener.MaxDequeueCount, (int)queues["maxDequeueCount"]!);
        Assert.Equal(QueueListener.BatchSize, (int)queues["batchSize"]!);
    }
}
