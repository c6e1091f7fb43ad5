using System.Net;
using FunctionsHost.Tests.Support;

namespace FunctionsHost.Tests.Http;

[Collection(KeyedHostGroup.Name)]
public sealed class FunctionKeyTests(KeyedHostFixture fixture)
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task WithKeysConfiguredAFunctionLevelFunctionWithoutAKeyIs401()
    {
        using var response = await Client.GetAsync("api/secured");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task WithKeysConfiguredAWrongKeyIs401()
    {
        using var response = await Client.GetAsync("api/secured?code=test-key-3");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AConfiguredKeyInTheHeaderOrTheCodeQueryIsAccepted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/secured");
        request.Headers.Add("x-functions-key", KeyedHostFixture.Key);
        using var byHeader = await Client.SendAsync(request);
        using var byQuery = await Client.GetAsync("api/secured?code=test-key-2");

        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);
    }

    [Fact]
    public async Task AnonymousFunctionsStayOpenWhenKeysAreConfigured()
    {
        using var response = await Client.GetAsync("api/ping");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // azure-functions-host src/WebJobs.Script.WebHost/Security/Authentication/Keys/AuthenticationLevelHandler.cs,
    // GetAuthorizationKeyInfoAsync: "header takes precedence": a request with the header is judged by it alone.
    [Fact]
    public async Task TheHeaderKeyTakesPrecedenceSoAWrongHeaderFailsEvenWithAGoodCode()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/secured?code=test-key-2");
        request.Headers.Add("x-functions-key", "wrong");
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
