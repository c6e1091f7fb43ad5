using System.Text.Json.Nodes;
using FunctionsHost.Http;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// Azure's host sends a request to the first matching route in function-name order, not to the most
/// specific one (azure-functions-host#9876; tools/FunctionsHost/README.md). So no two HTTP functions of the
/// app may be able to match the same request: read from the functions.metadata the Worker SDK built.
/// </summary>
public sealed class RouteOverlapTests
{
    [Fact]
    public async Task NoTwoHttpFunctionsCanMatchTheSameRequestWhateverOrderAHostTriesThem()
    {
        var metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(LedgerHost.AppDirectory, "functions.metadata")))!.AsArray();
        var routes = (from function in metadata
                      from binding in function!["bindings"]!.AsArray()
                      where string.Equals((string?)binding!["type"], "httpTrigger", StringComparison.OrdinalIgnoreCase)
                      select new RouteOverlaps.Route(
                          (string)function["name"]!,
                          binding["methods"]?.AsArray().Select(m => (string)m!).ToList(),
                          "api/" + ((string?)binding["route"] ?? (string)function["name"]!))).ToList();

        var overlaps = RouteOverlaps.Find(routes).Select(p => $"{p.First.Function} ({p.First.Template}) and {p.Second.Function} ({p.Second.Template})");

        Assert.True(routes.Count >= 25, $"Only {routes.Count} HTTP functions were read from functions.metadata.");
        Assert.Empty(overlaps);
    }
}
