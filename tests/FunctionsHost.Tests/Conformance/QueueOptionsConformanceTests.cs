using FunctionsHost.Configuration;
using FunctionsHost.Queues;

namespace FunctionsHost.Tests.Conformance;

public sealed class QueueOptionsConformanceTests
{
    // RandomizedExponentialBackoffStrategy(QueuePollingIntervals.Minimum = 100 ms, maxPollingInterval), as
    // QueueListener uses it: each empty poll waits longer (100 ms + 0.8–1.2 × 2^(n−1) × 100 ms), never past the maximum.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Timers/RandomizedExponentialBackoffStrategy.cs
    [Fact]
    public void AnEmptyQueueIsPolledLessAndLessOftenUpToMaxPollingInterval()
    {
        var delay = new PollingDelay(TimeSpan.FromSeconds(2));

        var waits = Enumerable.Range(0, 10).Select(_ => delay.Next(foundMessagesSinceLastWait: false)).ToList();

        Assert.Equal(TimeSpan.FromMilliseconds(100), waits[0]);
        Assert.InRange(waits[1].TotalMilliseconds, 180, 220);
        Assert.InRange(waits[2].TotalMilliseconds, 260, 340);
        Assert.InRange(waits[3].TotalMilliseconds, 420, 580);
        Assert.All(waits.Zip(waits.Skip(1)), pair => Assert.True(pair.Second >= pair.First));
        Assert.Equal(TimeSpan.FromSeconds(2), waits[^1]);
    }

    // QueueListener.CreateDelayWithNotificationTask: a poll that found messages starts the back-off over.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueListener.cs
    [Fact]
    public void AfterMessagesWereFoundTheNextEmptyPollWaitsTheMinimumAgain()
    {
        var delay = new PollingDelay(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 8; i++) delay.Next(false);

        Assert.Equal(TimeSpan.FromMilliseconds(100), delay.Next(foundMessagesSinceLastWait: true));
        Assert.InRange(delay.Next(false).TotalMilliseconds, 180, 220);
    }

    // QueuesOptions: the setters reject these values, so Azure's host does not start with them.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueuesOptions.cs
    [Theory]
    [InlineData("batchSize", "0")]
    [InlineData("batchSize", "33")]
    [InlineData("newBatchThreshold", "-1")]
    [InlineData("maxPollingInterval", "\"00:00:00.050\"")]
    [InlineData("maxDequeueCount", "0")]
    [InlineData("messageEncoding", "\"utf8\"")]
    public void AQueueSettingTheExtensionRejectsStopsTheHostFromStarting(string name, string json)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, $$"""{ "version": "2.0", "extensions": { "queues": { "{{name}}": {{json}} } } }""");

            var error = Assert.Throws<InvalidOperationException>(() => HostJson.Load(path));
            Assert.Contains($"extensions.queues.{name}", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // QueuesOptions.NewBatchThreshold: unset, it is BatchSize / 2 × the processor count.
    // Source: Azure/azure-sdk-for-net sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueuesOptions.cs
    [Fact]
    public void NewBatchThresholdDefaultsToHalfABatchPerProcessor()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{ "version": "2.0", "extensions": { "queues": { "batchSize": 10 } } }""");

            Assert.Equal(5 * Environment.ProcessorCount, HostJson.Load(path).Queues.NewBatchThreshold);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
