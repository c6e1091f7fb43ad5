using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using FunctionsHost.Testing;
using FunctionsHost.Tests.Support;
using RunLedger.Tests.Support;

namespace FunctionsHost.Tests.Conformance;

/// <summary>
/// Queue trigger behaviour that depends on host.json's queue settings or on a queue's state before
/// the host starts: each test starts a host of its own on a queue it filled first.
/// </summary>
public sealed class QueueSettingsConformanceTests
{
    // The queue hands messages out in the order sent: the short first one lets the next pair in
    // while the second still runs; the long ones keep three running long enough to be seen on a
    // busy machine.
    private static readonly int[] Durations = [200, 8000, 8000, 8000, 8000];

    // QueueListener.ExecuteAsync / WaitForNewBatchThreshold: batchSize messages per fetch; the next fetch
    // happens (without delay) once at most newBatchThreshold are still running, so at most
    // batchSize + newBatchThreshold run at once.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueListener.cs
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueuesOptions.cs
    [Fact]
    public async Task TheNextBatchIsFetchedOnlyWhenAtMostNewBatchThresholdRunSoAtMostBatchSizePlusThresholdRunAtOnce()
    {
        var key = Guid.NewGuid().ToString("N");
        var texts = Durations.Select((ms, i) => $"sleep:{ms}:{key}-{i}").ToList();
        await using var host = await StartAsync(new() { ["batchSize"] = 2, ["newBatchThreshold"] = 1 }, texts);

        foreach (var text in texts)
        {
            await host.Harness.WaitForLogAsync($"Work {text} done", TimeSpan.FromSeconds(60));
        }

        var runs = texts.Select(text => (
            Start: host.Harness.Logs.Single(l => l.Message.StartsWith($"Work {text} dequeue ", StringComparison.Ordinal)).Time,
            End: host.Harness.Logs.Single(l => l.Message == $"Work {text} done").Time)).OrderBy(r => r.Start).ToList();
        var mostAtOnce = runs.Max(run => runs.Count(other => other.Start <= run.Start && other.End > run.Start));
        Assert.Equal(3, mostAtOnce);
        // The first fetch brought two; the third message started only after one of them had finished.
        Assert.True(runs[2].Start >= runs.Take(2).Min(r => r.End), string.Join(", ", runs));
    }

    // QueueProcessor.ReleaseMessageAsync: a failed message is updated with visibilityTimeout and shows again after it.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueProcessor.cs
    [Fact]
    public async Task AFailedMessageIsDeliveredAgainOnlyAfterTheVisibilityTimeout()
    {
        var text = $"fail:1:{Guid.NewGuid():N}";
        await using var host = await StartAsync(new() { ["visibilityTimeout"] = "00:00:02" }, [text]);

        var second = await host.Harness.WaitForLogAsync($"Work {text} dequeue 2 ");

        var first = host.Harness.Logs.Single(l => l.Message.StartsWith($"Work {text} dequeue 1 ", StringComparison.Ordinal));
        Assert.InRange(second.Time - first.Time, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(6));
    }

    // QueueProcessor.BeginProcessingMessageAsync: a message whose DequeueCount already exceeds maxDequeueCount
    // (its host died while it ran) goes to the poison queue without another invocation.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueProcessor.cs
    [Fact]
    public async Task AMessageReceivedMoreOftenThanMaxDequeueCountIsPoisonedWithoutAnInvocation()
    {
        var text = $"ok:{Guid.NewGuid():N}";
        var raw = Base64(text);
        await using var host = await StartAsync(new() { ["maxDequeueCount"] = 1 }, [text], async queue =>
        {
            // One delivery that was never settled: received, then made visible again.
            var taken = (await queue.ReceiveMessageAsync()).Value;
            await queue.UpdateMessageAsync(taken.MessageId, taken.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        });

        var poison = host.Harness.Queue(host.QueueName + "-poison");
        await Eventually(async () => await poison.ExistsAsync() && (await poison.PeekMessagesAsync()).Value.Any(m => m.Body.ToString() == raw));

        await host.Harness.WaitForQueueDrainedAsync(host.QueueName);
        Assert.DoesNotContain(host.Harness.Logs, l => l.Message.StartsWith($"Work {text} ", StringComparison.Ordinal));
    }

    // QueueListenerFactory.CreatePoisonQueueReference (no poison queue for a queue named "*-poison") and
    // QueueProcessor.CompleteProcessingMessageAsync ("leave the message invisible when processing fails").
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/Listeners/QueueListenerFactory.cs
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueProcessor.cs
    [Fact]
    public async Task AFailedMessageOnAPoisonQueueStaysHiddenAndIsNotMovedToAnotherPoisonQueue()
    {
        var text = $"always:{Guid.NewGuid():N}";
        await using var host = await StartAsync([], [text], queueName: Names.Queue("work") + "-poison");

        await host.Harness.WaitForLogAsync($"Work {text} dequeue 1 ");
        // With visibilityTimeout 0 a released message would be back within a poll (500 ms here).
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.Single(host.Harness.Logs, l => l.Message.StartsWith($"Work {text} dequeue ", StringComparison.Ordinal));
        Assert.False(await host.Harness.Queue(host.QueueName + "-poison").ExistsAsync());
        Assert.Equal(1, (await host.Harness.Queue(host.QueueName).GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>A host whose host.json has these queue settings (over maxPollingInterval 500 ms), its work queue holding these messages.</summary>
    private static async Task<TunedHost> StartAsync(
        JsonObject queueSettings, IReadOnlyList<string> messages, Func<QueueClient, Task>? prepare = null, string? queueName = null)
    {
        var azurite = await Azurite.GetAsync();
        queueName ??= Names.Queue("work");
        var queue = new QueueClient(azurite.ConnectionString, queueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync();
        foreach (var message in messages)
        {
            await queue.SendMessageAsync(message);
            await Task.Delay(20);
        }
        if (prepare is not null)
        {
            await prepare(queue);
        }
        queueSettings["maxPollingInterval"] ??= "00:00:00.500";
        var hostJson = Path.Combine(Path.GetTempPath(), $"host-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(hostJson, new JsonObject
        {
            ["version"] = "2.0",
            ["extensions"] = new JsonObject { ["queues"] = queueSettings },
        }.ToJsonString());
        var harness = await FunctionsHostHarness.StartAsync(new FunctionsHostOptions
        {
            AppDirectory = HostFixture.AppDirectory,
            HostJsonPath = hostJson,
            Settings = new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = azurite.ConnectionString,
                ["WorkQueue"] = queueName,
                ["BenchQueue"] = Names.Queue("bench"),
                ["TickSchedule"] = "0 0 0 1 1 *",
            },
        });
        return new TunedHost(harness, queueName, hostJson);
    }

    private sealed record TunedHost(FunctionsHostHarness Harness, string QueueName, string HostJsonPath) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Harness.DisposeAsync();
            File.Delete(HostJsonPath);
        }
    }
}
