using Azure.Core;
using Azure.Core.Pipeline;
using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

public sealed class ProbeTmp : TableTestBase
{
    private sealed class Dump : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException();
        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            message.Response.Headers.TryGetValue("Content-Type", out var ct);
            await File.AppendAllTextAsync("/tmp/probe/out.txt", message.Request.Method + " " + message.Request.Uri + "\n" + ct + "\n" + message.Response.Content + "\n=====\n");
        }
    }

    [Fact]
    public async Task Probe()
    {
        var o = new StorageClientOptions();
        o.AddPolicy(new Dump(), HttpPipelinePosition.PerRetry);
        var az = await Support.Azurite.GetAsync();
        var t = StorageAccount.Parse(az.ConnectionString).CreateTableServiceClient(o).GetTableClient(Table.Name);
        var stale = await t.AddEntityAsync(new TableEntity("p", "existing") { ["N"] = 1 });
        await t.UpdateEntityAsync(new TableEntity("p", "existing") { ["N"] = 2 }, stale);
        try {
        await t.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Add, new TableEntity("p", "inserted")),
            new(TableTransactionActionType.UpdateMerge, new TableEntity("p", "existing") { ["N"] = 3 }, stale),
            new(TableTransactionActionType.Add, new TableEntity("p", "inserted2")),
        ]); } catch (TableTransactionFailedException) {}
        await t.SubmitTransactionAsync([new(TableTransactionActionType.Add, new TableEntity("p", "ok"))]);
        await t.AddEntityAsync(new TableEntity("p", "t") { ["D"] = 5.0, ["I"] = 5, ["L"] = 5L });
        await t.GetEntityAsync("p", "t");
    }
}
