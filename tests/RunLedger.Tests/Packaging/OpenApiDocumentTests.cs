using System.Net;
using Microsoft.AspNetCore.Routing;
using RunLedger.Hosting;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>GET /api/openapi.json describes exactly the HTTP API: every named /api endpoint, nothing else.</summary>
public sealed class OpenApiDocumentTests : LedgerTest
{
    [Fact]
    public async Task TheDocumentListsEveryApiEndpointWithItsMethodAndNothingElse()
    {
        var response = await Client.GetAsync("/api/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.JsonAsync();
        Assert.StartsWith("3.", (string)document["openapi"]!, StringComparison.Ordinal);

        var documented = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject()
                .Where(operation => operation.Key is "get" or "put" or "post" or "patch" or "delete" or "head" or "options")
                .Select(operation => $"{operation.Key.ToUpperInvariant()} {path.Key.TrimEnd('/')}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        var api = RepoFiles.Endpoints(App.Services).Where(RepoFiles.IsApi).ToList();
        // Only the document itself is left out of the document.
        var hidden = api.Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>()?.ExcludeFromDescription == true);
        Assert.Equal(["GetOpenApiDocument"], hidden.Select(RepoFiles.Name));

        var expected = api.Except(hidden)
            .SelectMany(e => RepoFiles.Methods(e).Select(method => $"{method} /{FunctionManifest.Render(e.RoutePattern)}"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(expected, documented);
        Assert.DoesNotContain(documented, d => d.EndsWith(" /", StringComparison.Ordinal) || d.Contains("/AgentProgress", StringComparison.Ordinal));
    }
}
