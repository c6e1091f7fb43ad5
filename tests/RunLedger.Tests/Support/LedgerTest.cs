using System.Text.Json.Nodes;

namespace RunLedger.Tests.Support;

/// <summary>Base for API tests: a fresh app, table and queues for every test.</summary>
public abstract class LedgerTest : IAsyncLifetime
{
    protected LedgerApp App { get; } = new();

    private HttpClient? _client;

    protected HttpClient Client => _client ??= App.CreateClient();

    public virtual async Task InitializeAsync() => await ((IAsyncLifetime)App).InitializeAsync();

    public virtual async Task DisposeAsync()
    {
        _client?.Dispose();
        await ((IAsyncLifetime)App).DisposeAsync();
    }

    protected async Task<JsonObject> StartAsync(string json, string? idempotencyKey = null)
    {
        var response = await Client.PostJsonAsync("/api/pipelines", json, idempotencyKey);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"start answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    protected async Task<List<JsonObject>> DrainJobsAsync()
    {
        var jobs = new List<JsonObject>();
        while (true)
        {
            var batch = (await App.Jobs.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value;
            if (batch.Length == 0) return jobs;
            jobs.AddRange(batch.Select(m => JsonNode.Parse(m.Body.ToString())!.AsObject()));
        }
    }
}
