using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace RunLedger.Tests.Support;

public static class HttpExtensions
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, string json, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string url, string json, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return client.SendAsync(request);
    }

    /// <summary>
    /// A run as stored, for "changed nothing" comparisons: its answer without <c>dashboardUrl</c>, which
    /// is worked out for each answer (the link's token expiry moves on with the clock).
    /// </summary>
    public static async Task<string> StoredRunAsync(this HttpClient client, string url)
    {
        var run = await (await client.GetAsync(url)).JsonAsync();
        run.Remove("dashboardUrl");
        return run.ToJsonString();
    }

    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!;

    /// <summary>Asserts a problem+json answer with the status and returns its detail.</summary>
    public static async Task<string> AssertProblemAsync(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(status, (int)problem["status"]!);
        return (string?)problem["detail"] ?? "";
    }
}
