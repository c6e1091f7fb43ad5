using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Progress;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>
/// A write that reached storage and committed, whose answer was lost: the SDK sends it again, and
/// the retry fails its condition on our own write. It must come out as done once: no error, no
/// double count, no second run.
/// </summary>
public sealed class CommittedRetryTests : ComponentTest
{
    private readonly LoseTheAnswer _faults = new();

    public CommittedRetryTests()
    {
        App.ConfigureServices = services => services.AddAzureClients(clients =>
            clients.ConfigureDefaults(options => options.AddPolicy(_faults, HttpPipelinePosition.PerRetry)));
    }

    [Fact]
    public async Task AProgressReportWhoseCommittedTransactionIsRetriedCountsOnce()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;

        _faults.LoseNext("$batch");
        var answer = await LedgerComponents.BodyAsync(App.Functions<ProgressFunctions>().PostProgress(LedgerComponents.Request(body:
            """{"eventId":"e1","agent":"voice","status":"running","usage":{"model":"gpt-4o","inputTokens":1000}}"""), "p1", runId, default));

        Assert.Equal(1, _faults.Lost);
        Assert.Equal("e1", (string)answer["eventId"]!);
        var run = await GetRunAsync("p1", runId);
        var events = await LedgerComponents.BodyAsync(App.Functions<ProgressFunctions>().GetRunEvents(LedgerComponents.Request(), "p1", runId, default));
        Assert.Single(events["items"]!.AsArray());
        Assert.Equal(2500, (long)run["totalCostMicros"]!);   // 1,000 gpt-4o input tokens, once
        Assert.Equal("running", (string)run["status"]!);
    }

    [Fact]
    public async Task AStartWhoseCommittedTransactionIsRetriedCreatesOneRun()
    {
        _ = App.Storage;

        _faults.LoseNext("$batch");
        var started = await StartAsync("""{"projectId":"p1"}""");

        Assert.Equal(1, _faults.Lost);
        var list = await LedgerComponents.BodyAsync(App.Functions<RunsFunctions>().ListRuns(LedgerComponents.Request(), "p1", default));
        Assert.Equal((string)started["runId"]!, (string)Assert.Single(list["items"]!.AsArray())!["runId"]!);
        Assert.Single((await App.Storage.Jobs.ReceiveMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task APatchWithIfMatchWhoseCommittedWriteIsRetriedSucceeds()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        var store = App.Get<RunStore>();
        var etag = (await store.GetAsync("p1", runId, default))!.ETag.ToString();

        _faults.LoseNext("$batch");
        var patched = await App.Get<RunPatcher>().PatchAsync("p1", runId, new JsonObject { ["step"] = "voice" }, etag, default);

        Assert.Equal(1, _faults.Lost);
        var run = (await store.GetAsync("p1", runId, default))!;
        Assert.Equal("voice", (string)run.Document["step"]!);
        Assert.Equal(run.ETag, patched.ETag);
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
