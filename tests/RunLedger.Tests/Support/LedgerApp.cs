using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using RunLedger.Ledger;

namespace RunLedger.Tests.Support;

/// <summary>
/// The real app against the shared Azurite, with its own table and queues, so each test sees
/// only its own data. Dispose removes them.
/// </summary>
public sealed class LedgerApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    private Azurite.Endpoints? _azurite;
    private readonly Dictionary<string, string?> _settings = new();

    public string TableName { get; } = Names.Table("runs");
    public string JobsQueue { get; } = Names.Queue("jobs");
    public string ProgressQueue { get; } = Names.Queue("progress");

    /// <summary>Extra services or settings a test needs, set before the first request.</summary>
    public Action<IServiceCollection>? ConfigureServicesHook { get; set; }

    public LedgerApp With(string key, string? value)
    {
        _settings[key] = value;
        return this;
    }

    /// <summary>This app's storage, reached through the app's own client registration.</summary>
    public LedgerStorage Storage => _storage ??= TestStorage.For(_azurite!.ConnectionString, TableName, JobsQueue, ProgressQueue);
    private LedgerStorage? _storage;

    public TableClient Table => Storage.Table;
    public QueueClient Jobs => Storage.Jobs;
    public QueueClient Progress => Storage.Progress;
    public QueueClient ProgressPoison => Storage.ProgressPoison;

    /// <summary>A queue of this app without message encoding: text goes on and comes off exactly as stored.</summary>
    public QueueClient Raw(string queueName) => new(_azurite!.ConnectionString, queueName);

    public async Task InitializeAsync() => _azurite = await Azurite.GetAsync();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("AzureWebJobsStorage", _azurite!.ConnectionString);
        builder.UseSetting("RunLedger:TableName", TableName);
        builder.UseSetting("RunLedger:JobsQueue", JobsQueue);
        builder.UseSetting("RunLedger:ProgressQueue", ProgressQueue);
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        if (ConfigureServicesHook is { } hook) builder.ConfigureTestServices(hook);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (_azurite is null) return;
        await Table.DeleteAsync();
        foreach (var queue in new[] { Jobs, Progress, ProgressPoison })
        {
            await queue.DeleteIfExistsAsync();
        }
    }
}

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
