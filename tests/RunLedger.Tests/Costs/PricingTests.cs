using RunLedger.Costs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Costs;

public sealed class PricingTests
{
    private static readonly PricingTable Shipped = PricingTable.Load(
        Path.Combine(Azurite.RepoRoot(), "functions", "RunLedger", "Costs", "pricing.json"), null);

    [Fact]
    public void ThePriceInForceAtTheReportTimeIsUsed()
    {
        Assert.Equal(5.00m, Shipped.Find("gpt-4o", new DateTimeOffset(2024, 6, 1, 0, 0, 0, TimeSpan.Zero))!.Prices["inputTokens"]);
        Assert.Equal(2.50m, Shipped.Find("gpt-4o", new DateTimeOffset(2024, 10, 1, 0, 0, 0, TimeSpan.Zero))!.Prices["inputTokens"]);
        Assert.Null(Shipped.Find("gpt-4o", new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void AModelMatchesByExactIdThenByTheLongestDeclaredPrefix()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(0.15m, Shipped.Find("gpt-4o-mini", now)!.Prices["inputTokens"]);
        Assert.Equal(0.15m, Shipped.Find("gpt-4o-mini-2024-07-18", now)!.Prices["inputTokens"]);
        Assert.Equal(2.50m, Shipped.Find("gpt-4o-2024-08-06", now)!.Prices["inputTokens"]);
        Assert.Equal(3.00m, Shipped.Find("claude-sonnet-4-20250514", now)!.Prices["inputTokens"]);
        Assert.Null(Shipped.Find("my-own-model", now));
        Assert.Null(Shipped.Find(null, now));
    }

    [Fact]
    public void AnOverrideFileReplacesAndAddsModels()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """
                {"models":[
                  {"id":"gpt-4o","prices":[{"effective":"2020-01-01","inputTokensPer1M":"1.00","outputTokensPer1M":4}]},
                  {"id":"eleven_multilingual_v2","prices":[{"effective":"2020-01-01","charactersPer1K":"0.18"}]}]}
                """);
            var table = PricingTable.Load(Path.Combine(Azurite.RepoRoot(), "functions", "RunLedger", "Costs", "pricing.json"), file);
            var now = DateTimeOffset.UtcNow;
            Assert.Equal(1.00m, table.Find("gpt-4o", now)!.Prices["inputTokens"]);
            Assert.Equal(4m, table.Find("gpt-4o", now)!.Prices["outputTokens"]);
            Assert.Equal(0.18m, table.Find("eleven_multilingual_v2", now)!.Prices["characters"]);
            Assert.Equal(0.15m, table.Find("gpt-4o-mini", now)!.Prices["inputTokens"]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void AMalformedPricingFileIsRejectedWithItsName()
    {
        var error = Assert.Throws<InvalidDataException>(() => PricingTable.Parse("""{"models":[{"id":"x","prices":[{"effective":"2020-01-01","inputTokensPer1M":"cheap"}]}]}""", "custom.json"));
        Assert.Contains("custom.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("inputTokensPer1M", error.Message, StringComparison.Ordinal);
    }
}
