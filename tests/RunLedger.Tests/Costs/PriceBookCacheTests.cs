using RunLedger.Costs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Costs;

/// <summary>The price book each instance keeps: one read shared by every report until it is refreshed.</summary>
public sealed class PriceBookCacheTests : ComponentTest
{
    [Fact]
    public async Task AReadStartedByARequestThatIsThenCancelledStillServesTheReportsAfterIt()
    {
        var book = App.Get<PriceBook>();
        using var abandoned = new CancellationTokenSource();

        var first = book.CurrentAsync(abandoned.Token);
        await abandoned.CancelAsync();
        await Task.WhenAny(first, Task.Delay(TimeSpan.FromSeconds(10)));

        // The next report is priced from the same shared read, whatever became of the request that started it.
        var table = await book.CurrentAsync(CancellationToken.None);
        Assert.NotNull(table.Find("gpt-4o", DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task EveryReportWithinTheRefreshTimeIsPricedFromOneRead()
    {
        var requests = new StorageRequests();
        requests.Install(App);
        var book = App.Get<PriceBook>();
        requests.Clear();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => book.CurrentAsync(default)));

        // One query of the price book's partition, however many reports asked.
        Assert.Single(requests.Snapshot());
    }
}
