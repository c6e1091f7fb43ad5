using FunctionsHost.Configuration;

namespace FunctionsHost.Tests.Configuration;

public sealed class HostJsonTests
{
    [Fact]
    public void QueueSettingsAndTheRoutePrefixAreReadFromHostJson()
    {
        var path = Write("""
            { "version": "2.0", "extensions": {
                "http": { "routePrefix": "/v1/" },
                "queues": { "batchSize": 4, "newBatchThreshold": 2, "maxPollingInterval": "00:00:05",
                            "visibilityTimeout": "00:00:30", "maxDequeueCount": 3, "messageEncoding": "none" } } }
            """);

        var hostJson = HostJson.Load(path);

        Assert.Equal("v1", hostJson.RoutePrefix);
        Assert.Equal(new QueuesOptions
        {
            BatchSize = 4,
            NewBatchThreshold = 2,
            MaxPollingInterval = TimeSpan.FromSeconds(5),
            VisibilityTimeout = TimeSpan.FromSeconds(30),
            MaxDequeueCount = 3,
            Base64 = false,
        }, hostJson.Queues);
    }

    [Fact]
    public void MissingSettingsTakeTheStorageExtensionsDefaults()
    {
        var hostJson = HostJson.Load(Write("""{ "version": "2.0" }"""));

        Assert.Equal("api", hostJson.RoutePrefix);
        Assert.Equal(16, hostJson.Queues.BatchSize);
        Assert.Equal(8 * Environment.ProcessorCount, hostJson.Queues.NewBatchThreshold);
        Assert.Equal(TimeSpan.FromMinutes(1), hostJson.Queues.MaxPollingInterval);
        Assert.Equal(TimeSpan.Zero, hostJson.Queues.VisibilityTimeout);
        Assert.Equal(5, hostJson.Queues.MaxDequeueCount);
        Assert.True(hostJson.Queues.Base64);
    }

    [Fact]
    public void AnEmptyRoutePrefixServesFunctionsAtTheRoot()
    {
        Assert.Equal("", HostJson.Load(Write("""{ "extensions": { "http": { "routePrefix": "" } } }""")).RoutePrefix);
    }

    private static string Write(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"host-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
