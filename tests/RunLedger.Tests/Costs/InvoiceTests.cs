using System.Text.Json.Nodes;
using RunLedger.Costs;

namespace RunLedger.Tests.Costs;

public sealed class InvoiceTests
{
    private static JsonObject Lines(params long[] micros)
    {
        var lines = new JsonObject();
        for (var i = 0; i < micros.Length; i++)
        {
            lines[$"l{i}"] = new JsonObject
            {
                ["agent"] = $"agent{i:D3}", ["model"] = "m", ["unit"] = "request", ["unitPrice"] = null,
                ["quantity"] = 1m, ["micros"] = micros[i], ["priced"] = true,
            };
        }
        return lines;
    }

    private static decimal Amount(JsonNode item) => (decimal)item["amount"]!;

    [Fact]
    public void ManyTinyLineItemsStillSumExactlyToTheSubtotal()
    {
        // 300 lines of $0.0049 each: every line alone rounds to $0.00, together they are $1.47.
        var invoice = Invoice.Build(Lines(Enumerable.Repeat(4_900L, 300).ToArray()), 0.20m);
        var items = invoice["lineItems"]!.AsArray();
        Assert.Equal(1.47m, (decimal)invoice["subtotal"]!);
        Assert.Equal((decimal)invoice["subtotal"]!, items.Sum(i => Amount(i!)));
        Assert.Equal(147, items.Count(i => Amount(i!) == 0.01m));
        Assert.Equal("1.470000", (string)invoice["exactSubtotal"]!);
    }

    [Fact]
    public void RemainderCentsGoToTheLargestRemaindersFirst()
    {
        // $0.014, $0.016, $0.005: the exact sum $0.035 shows as $0.04; truncated, the lines give
        // $0.01 + $0.01 + $0.00, and the two cents left go to the largest remainders (0.6¢, 0.5¢).
        var invoice = Invoice.Build(Lines(14_000, 16_000, 5_000), 0m);
        Assert.Equal([0.01m, 0.02m, 0.01m], invoice["lineItems"]!.AsArray().Select(i => Amount(i!)));
        Assert.Equal(0.04m, (decimal)invoice["subtotal"]!);
    }

    [Fact]
    public void TwentyPercentMarkupOnHalfACentRoundsAwayFromZero()
    {
        // Subtotal $0.025 exactly: shown as $0.03; markup 20% = $0.005 exactly, shown as $0.01.
        var invoice = Invoice.Build(Lines(25_000), 0.20m);
        Assert.Equal(0.03m, (decimal)invoice["subtotal"]!);
        Assert.Equal(0.01m, (decimal)invoice["markup"]!);
        Assert.Equal(0.04m, (decimal)invoice["total"]!);
        Assert.Equal(0.20m, (decimal)invoice["markupRate"]!);
    }

    [Fact]
    public void MarkupIsTakenOnTheExactSubtotalAndTheTotalAddsUp()
    {
        // $12.345 shows as $12.35; 20% of the exact $12.345 is $2.469, shown as $2.47.
        var invoice = Invoice.Build(Lines(12_345_000), 0.20m);
        Assert.Equal(12.35m, (decimal)invoice["subtotal"]!);
        Assert.Equal(2.47m, (decimal)invoice["markup"]!);
        Assert.Equal(14.82m, (decimal)invoice["total"]!);
    }

    [Fact]
    public void AnEmptyInvoiceIsAllZeros()
    {
        var invoice = Invoice.Build([], 0.20m);
        Assert.Empty(invoice["lineItems"]!.AsArray());
        Assert.Equal(0m, (decimal)invoice["total"]!);
    }

    [Fact]
    public void MoneyConvertsToMicrosHalfAwayFromZeroAndShowsFourDecimals()
    {
        Assert.Equal(2L, Money.ToMicros(0.0000015m));
        Assert.Equal(1L, Money.ToMicros(0.00000149m));
        Assert.Equal("0.0123", Money.ToDollars4(12_345).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("0.0000", Money.ToDollars4(0).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("0.0001", Money.ToDollars4(50).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("=1+1")]
    [InlineData("+1")]
    [InlineData("-1")]
    [InlineData("@SUM(A1)")]
    [InlineData("\t=1+1")]
    [InlineData("\r=1+1")]
    public void ACsvCellThatASpreadsheetWouldRunAsAFormulaIsNeutralised(string text)
    {
        var cell = RunLedger.Costs.CostsFunctions.Field(System.Text.Json.Nodes.JsonValue.Create(text));

        Assert.StartsWith("'", cell.TrimStart('"'), StringComparison.Ordinal);
    }
}
