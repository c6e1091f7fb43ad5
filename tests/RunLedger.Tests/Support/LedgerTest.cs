using System.Text.Json.Nodes;

namespace RunLedger.Tests.Support;

/// <summary>
/// Base for end-to-end tests: requests go through the local Functions host to the real worker,
/// shared by the tests of a class. Each test works in a project of its own (<see cref="P"/>).
/// </summary>
public abstract class LedgerTest(LedgerHost host)
{
    protected LedgerHost App { get; } = host;

    protected HttpClient Client => App.Client;

    /// <summary>This test's project id, unique in the run.</summary>
    protected string P { get; } = "p" + Guid.NewGuid().ToString("N")[..12];

    protected async Task<JsonObject> StartAsync(string json, string? idempotencyKey = null)
    {
        var response = await Client.PostJsonAsync("/api/pipelines", json, idempotencyKey);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"start answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>The first page of a run's history in this test's project.</summary>
    protected async Task<JsonArray> EventsAsync(string runId) =>
        (await (await Client.GetAsync($"/api/projects/{P}/runs/{runId}/events")).JsonAsync())["items"]!.AsArray();

    /// <summary>The jobs sent to agents for this test's project, or the one named (others' jobs stay on the queue).</summary>
    protected async Task<List<JsonObject>> DrainJobsAsync(string? projectId = null)
    {
        projectId ??= P;
        var jobs = new List<JsonObject>();
        while (true)
        {
            var batch = (await App.Jobs.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(1))).Value;
            if (batch.Length == 0) return jobs;
            foreach (var message in batch)
            {
                var job = JsonNode.Parse(message.Body.ToString())!.AsObject();
                if ((string?)job["projectId"] != projectId) continue;
                jobs.Add(job);
                await App.Jobs.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }
    }
}
