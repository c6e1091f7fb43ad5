using FunctionsHost.Configuration;
using FunctionsHost.Queues;

namespace FunctionsHost.Tests.Queues;

public sealed class QueueConnectionTests
{
    [Fact]
    public void AnIdentityBasedConnectionUsesTheQueueServiceUri()
    {
        var factory = new QueueServiceFactory(new AppSettings(null,
        [
            new("MyStorage__queueServiceUri", "https://example.queue.core.windows.net"),
            new("MyStorage__credential", "managedidentity"),
            new("MyStorage__clientId", "00000000-0000-0000-0000-000000000001"),
        ]));

        var queue = factory.GetQueue("MyStorage", "orders");

        Assert.Equal(new Uri("https://example.queue.core.windows.net/orders"), queue.Uri);
    }

    [Fact]
    public void AnAccountNameAloneMeansTheAccountsPublicQueueEndpoint()
    {
        var factory = new QueueServiceFactory(new AppSettings(null, [new("Other__accountName", "myaccount")]));

        Assert.Equal(new Uri("https://myaccount.queue.core.windows.net/jobs"), factory.GetQueue("Other", "jobs").Uri);
    }

    [Fact]
    public void AConnectionThatIsNotConfiguredFailsWithTheSettingsToSet()
    {
        var factory = new QueueServiceFactory(new AppSettings(null, []));

        var error = Assert.Throws<InvalidOperationException>(() => factory.GetQueue("Missing_4711", "jobs"));
        Assert.Contains("Missing_4711__queueServiceUri", error.Message, StringComparison.Ordinal);
    }
}
