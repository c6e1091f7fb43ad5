using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FunctionsHost.Http;
using FunctionsHost.Tests.Support;

namespace FunctionsHost.Tests.Http;

/// <summary>
/// The local host's HTTP behaviour where Azure's Functions host differs from plain ASP.NET Core: each test
/// pins one behaviour and names the Azure source it follows (tools/FunctionsHost/README.md has the table).
/// </summary>
[Collection(HttpHostGroup.Name)]
public sealed class HttpConformanceTests(HostFixture fixture)
{
    private HttpClient Client => fixture.Host.Client;

    // azure-functions-host src/WebJobs.Script/Host/FunctionMetadataManager.cs sorts functions by name
    // (OrdinalIgnoreCase); src/WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs maps one route per
    // function in that order into a RouteCollection (azure-webjobs-sdk-extensions
    // src/WebJobs.Extensions.Http/Routing/WebJobsRouteBuilder.cs), which takes the first match: no route
    // precedence (azure-functions-host#9876, azure-functions-dotnet-worker#1855, azure-functions-host#3153).
    [Fact]
    public async Task AmongMatchingRoutesTheFunctionFirstByNameAnswersNotTheMostSpecificRoute()
    {
        var answer = await Client.GetFromJsonAsync<JsonElement>("api/order/fixed");

        Assert.Equal("OrderAnything", answer.GetProperty("function").GetString());
        Assert.Equal("fixed", answer.GetProperty("name").GetString());
    }

    [Fact]
    public async Task RoutesThatCanMatchOneRequestAreNamedInAWarningAtStartUp()
    {
        var warning = await fixture.Host.WaitForLogAsync(
            log => log.Level == Microsoft.Extensions.Logging.LogLevel.Warning && log.Message.Contains("OrderAnything", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));

        Assert.Contains("OrderFixed", warning.Message, StringComparison.Ordinal);
        Assert.Contains("api/order/{name}", warning.Message, StringComparison.Ordinal);
    }

    // azure-webjobs-sdk-extensions src/WebJobs.Extensions.Http/HttpTriggerAttributeBindingProvider.cs,
    // GetRequestBindingData: query parameters (all but "code", the last value of a repeated one) join the
    // binding data, then the route's values replace any of the same name; "Query" and "Headers" hold the
    // collections (src/WebJobs.Extensions.Http/Extensions/HttpRequestExtensions.cs, GetQueryParameterDictionary).
    [Fact]
    public async Task QueryParametersJoinTheBindingDataButRouteValuesWinAndCodeIsLeftOut()
    {
        var answer = await Client.GetFromJsonAsync<JsonElement>("api/binding/from-route?id=from-query&runId=R1&extra=a&extra=b&code=secret");
        var data = answer.GetProperty("data");

        Assert.Equal("from-route", data.GetProperty("id").GetString());
        Assert.Equal("R1", data.GetProperty("runId").GetString());
        Assert.Equal("b", data.GetProperty("extra").GetString());
        Assert.False(data.TryGetProperty("code", out _));
        Assert.Contains("\"code\"", data.GetProperty("Query").GetString(), StringComparison.Ordinal);
        Assert.True(data.TryGetProperty("Headers", out _));
    }

    // Utility.ApplyBindingData (same repository): a body that looks like JSON adds its top-level members,
    // except arrays and nulls, before the query and the route.
    [Fact]
    public async Task AJsonBodyAddsItsTopLevelMembersExceptArraysBeneathQueryAndRoute()
    {
        using var response = await Client.PostAsync("api/binding/from-route?fromBoth=query",
            new StringContent("""{"fromBody":"b","fromBoth":"body","id":"body-id","count":3,"flag":true,"list":[1],"nothing":null,"obj":{"a":1}}""", Encoding.UTF8, "application/json"));
        var data = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data");

        Assert.Equal("b", data.GetProperty("fromBody").GetString());
        Assert.Equal("query", data.GetProperty("fromBoth").GetString());
        Assert.Equal("from-route", data.GetProperty("id").GetString());
        Assert.Equal("3", data.GetProperty("count").GetString());
        Assert.Equal("True", data.GetProperty("flag").GetString());
        Assert.False(data.TryGetProperty("list", out _));
        Assert.False(data.TryGetProperty("nothing", out _));
        Assert.Equal(1, JsonDocument.Parse(data.GetProperty("obj").GetString()!).RootElement.GetProperty("a").GetInt32());
    }

    [Fact]
    public async Task TheBodyStillReachesTheFunctionWholeAfterTheHostReadItForBindingData()
    {
        var json = """{"category":"not-the-route","text":"kept"}""";
        using var response = await Client.PutAsync("api/items/tools/hammer", new StringContent(json, Encoding.UTF8, "application/json"));
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("tools", answer.GetProperty("category").GetString());
        Assert.Equal(json, answer.GetProperty("body").GetString());
    }

    // azure-functions-host src/WebJobs.Script.WebHost/Middleware/CustomHttpHeadersMiddleware.cs: host.json
    // http.customHeaders are added when the response starts, TryAdd, so a function's own header stays.
    [Fact]
    public async Task HostJsonCustomHeadersAreAddedToEveryResponseWithoutReplacingAFunctionsOwn()
    {
        using var ping = await Client.GetAsync("api/ping");
        using var echo = await Client.GetAsync("api/binding/x");

        Assert.Equal("from-host-json", ping.Headers.GetValues("X-Fixture-Host").Single());
        Assert.Equal("from-function", echo.Headers.GetValues("X-Fixture-Own").Single());
    }

    // Both hosts serve with Kestrel's default limits: a request line over 8 KiB is refused before any function.
    [Fact]
    public async Task ARequestLineOverKestrelsEightKibLimitIs414()
    {
        using var response = await Client.GetAsync("api/binding/x?q=" + new string('a', 9000));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
    }

    [Fact]
    public void TheOverlapCheckFindsParameterLiteralCollisionsAndHonoursConstraints()
    {
        RouteOverlaps.Route R(string name, string template, params string[] methods) => new(name, methods.Length == 0 ? null : methods, template);

        var found = RouteOverlaps.Find(
        [
            R("GetRun", "api/p/{p}/runs/{runId}", "GET"),
            R("GetRunCounts", "api/p/{p}/runs/counts", "GET"),
            R("PatchRun", "api/p/{p}/runs/{runId}", "PATCH"),
            R("GetItem", "api/items/{id:int}", "GET"),
            R("GetItemNamed", "api/items/named", "GET"),
            R("GetLatest", "api/p/{p}/latest", "GET"),
            R("GetOne", "api/p/{p}/{x:regex(^(?!latest$))}", "GET"),
            R("Optional", "api/opt/{a}/{b?}", "GET"),
            R("OptionalShort", "api/opt/x", "GET"),
            R("CatchAll", "api/files/{**path}"),
            R("File", "api/files/a/b/c", "GET"),
        ]).Select(p => $"{p.First.Function}+{p.Second.Function}").ToList();

        Assert.Equal(["CatchAll+File", "GetRun+GetRunCounts", "Optional+OptionalShort"], found.Order(StringComparer.Ordinal));
    }
}

/// <summary>The host left at Azure's defaults (<see cref="AzureDefaultsHostFixture"/>).</summary>
[Collection(AzureDefaultsHostGroup.Name)]
public sealed class AzureDefaultsConformanceTests(AzureDefaultsHostFixture fixture)
{
    private HttpClient Client => fixture.Host.Client;

    // Azure's host runs as Production unless AZURE_FUNCTIONS_ENVIRONMENT says otherwise; only Core Tools set Development.
    [Fact]
    public async Task WithoutAnEnvironmentSettingTheWorkerRunsAsProduction()
    {
        var answer = await Client.GetFromJsonAsync<JsonElement>("api/binding/x");

        Assert.Equal("Production", answer.GetProperty("environment").GetString());
    }

    // In Azure keys always exist and function-level functions always need one
    // (azure-functions-host src/WebJobs.Script.WebHost/Security/Authentication/Keys/AuthenticationLevelHandler.cs);
    // a host that knows no key lets none through, rather than everyone.
    [Fact]
    public async Task OutsideDevelopmentAFunctionLevelFunctionIsClosedEvenWhenNoKeyIsConfigured()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/secured");
        request.Headers.Add("x-functions-key", "anything");
        using var response = await Client.SendAsync(request);
        using var anonymous = await Client.GetAsync("api/ping");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
    }

    [Fact]
    public async Task OutsideDevelopmentTheAdminApiNeedsAKey()
    {
        using var response = await Client.PostAsJsonAsync("admin/functions/Tick", new { input = "" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    // azure-functions-host src/WebJobs.Script.WebHost/Program.cs (Kestrel MaxRequestBodySize 100 MB) and
    // Middleware/HttpRequestBodySizeMiddleware.cs (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT overrides it).
    [Fact]
    public async Task ABodyOverTheRequestBodySizeLimitIs413AndOneAtTheLimitPasses()
    {
        using var over = await Client.PutAsync("api/items/a/b", new StringContent(new string('x', AzureDefaultsHostFixture.BodyLimit + 1)));
        using var at = await Client.PutAsync("api/items/a/b", new StringContent(new string('x', AzureDefaultsHostFixture.BodyLimit)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);
        Assert.Equal(HttpStatusCode.OK, at.StatusCode);
    }
}
