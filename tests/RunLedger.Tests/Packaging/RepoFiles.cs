using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Hosting;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>Files of the repository that describe the deployment, and the app's route table.</summary>
public static class RepoFiles
{
    public static string Root => Azurite.RepoRoot();

    public static string FullPath(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(FullPath(relative));

    public static JsonObject Json(string relative) => JsonNode.Parse(Read(relative))!.AsObject();

    /// <summary>Every Bicep and JSON file under infra/, concatenated, each preceded by its path.</summary>
    public static string InfraText() => string.Concat(
        Directory.EnumerateFiles(FullPath("infra"), "*", SearchOption.AllDirectories)
            .Where(path => path.EndsWith(".bicep", StringComparison.Ordinal) || path.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(path => $"\n// ---- {Path.GetRelativePath(Root, path)}\n{File.ReadAllText(path)}"));

    /// <summary>The running app's endpoints (the same table the host-facing manifest is built from).</summary>
    public static IReadOnlyList<RouteEndpoint> Endpoints(IServiceProvider services) =>
        [.. services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()];

    public static bool IsApi(RouteEndpoint endpoint) => FunctionManifest.FunctionRoute(endpoint.RoutePattern) is not null;

    public static string? Name(Endpoint endpoint) => endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;

    public static IReadOnlyList<string> Methods(Endpoint endpoint) =>
        [.. (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => m.ToUpperInvariant()).Order(StringComparer.Ordinal)];
}
