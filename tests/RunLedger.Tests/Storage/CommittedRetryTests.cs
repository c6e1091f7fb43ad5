using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>
/// A write that reached storage and committed, whose answer was lost: the SDK sends it again, and
/// the retry fails its condition on our own write. It must come out as done once: no error, no
/// double count, no second run.
/// </summary>
public sealed class CommittedRetryTests : LedgerTest
{
    private readonly LoseTheAnswer _faults = new();

    public CommittedRetryTests()
    {
        App.With("RunLedger:ListenToQueue", "false");
        App.ConfigureServicesHook = services => services.AddAzureClients(clients =>
            clients.ConfigureDefaults(options => options.AddPolicy(_faults, HttpPipelinePosition.PerRetry)));
    }

    [Fact]
    public async Task AProgressReportWhoseCommittedTransactionIsRetriedCountsOnce()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;

        _faults.LoseNext("$batch");
        var response = await Client.PostJsonAsync($"/api/projects/p1/runs/{runId}/progress",
            """{"eventId":"e1","agent":"voice","status":"running","usage":{"model":"gpt-4o","inputTokens":1000}}""");

        Assert.Equal(1, _faults.Lost);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var run = await (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).JsonAsync();
        var events = await (await Client.GetAsync($"/api/projects/p1/runs/{runId}/events")).JsonAsync();
        Assert.Single(events["items"]!.AsArray());
        Assert.Equal(2500, (long)run["totalCostMicros"]!);   // 1,000 gpt-4o input tokens, once
        Assert.Equal("running", (string)run["status"]!);
    }

    [Fact]
    public async Task AStartWhoseCommittedTransactionIsRetriedCreatesOneRun()
    {
        await Client.GetAsync("/api/health");

        _faults.LoseNext("$batch");
        var started = await StartAsync("""{"projectId":"p1"}""");

        Assert.Equal(1, _faults.Lost);
        var list = await (await Client.GetAsync("/api/projects/p1/runs")).JsonAsync();
        Assert.Equal((string)started["runId"]!, (string)Assert.Single(list["items"]!.AsArray())!["runId"]!);
        Assert.Single(await DrainJobsAsync());
    }

    [Fact]
    public async Task APatchWithIfMatchWhoseCommittedWriteIsRetriedSucceeds()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var etag = (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).Headers.ETag!.ToString();

        _faults.LoseNext("$batch");
        var patched = await Client.PatchJsonAsync($"/api/projects/p1/runs/{runId}", """{"step":"voice"}""", etag);

        Assert.Equal(1, _faults.Lost);
        Assert.Equal(System.Net.HttpStatusCode.OK, patched.StatusCode);
        var run = await (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).JsonAsync();
        Assert.Equal("voice", (string)run["step"]!);
        Assert.Equal(patched.Headers.ETag!.Tag, (await Client.GetAsync($"/api/projects/p1/runs/{runId}")).Headers.ETag!.Tag);
    }

    /// <summary>Lets the next matching request reach storage, then fails as if the connection dropped before the answer.</summary>
    private sealed class LoseTheAnswer : HttpPipelinePolicy
    {
        private string? _armed;
        private int _lost;

        public int Lost => Volatile.Read(ref _lost);

        public void LoseNext(string pathSuffix) => Volatile.Write(ref _armed, pathSuffix);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            var armed = Volatile.Read(ref _armed);
            if (armed is not null && message.Request.Uri.Path.EndsWith(armed, StringComparison.Ordinal)
                && Interlocked.CompareExchange(ref _armed, null, armed) == armed)
            {
                Interlocked.Increment(ref _lost);
                throw new IOException("Connection reset after the request was sent (injected).");
            }
        }
    }
}
