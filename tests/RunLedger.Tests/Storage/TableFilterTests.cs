using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

public sealed class TableFilterTests
{
    [Fact]
    public void StringsAreQuotedWithEmbeddedQuotesDoubled()
    {
        var name = "it's";
        Assert.Equal("Name eq 'it''s'", TableFilter.Create($"Name eq {name}"));
    }

    [Fact]
    public void AnInjectionAttemptStaysInsideItsLiteral()
    {
        var hostile = "x' or PartitionKey ne '";
        Assert.Equal("PartitionKey eq 'x'' or PartitionKey ne '''", TableFilter.Create($"PartitionKey eq {hostile}"));
    }

    [Fact]
    public void EachSupportedTypeBecomesItsODataLiteral()
    {
        var when = new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.FromHours(1));
        var id = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");

        Assert.Equal("A eq true and B eq false", TableFilter.Create($"A eq {true} and B eq {false}"));
        Assert.Equal("N eq 5", TableFilter.Create($"N eq {5}"));
        Assert.Equal("N eq -5L", TableFilter.Create($"N eq {-5L}"));
        Assert.Equal("D eq 2.5", TableFilter.Create($"D eq {2.5}"));
        Assert.Equal("D eq 5.0", TableFilter.Create($"D eq {5.0}"));
        Assert.Equal("T eq datetime'2026-01-01T00:00:00.0000000Z'", TableFilter.Create($"T eq {when}"));
        Assert.Equal("G eq guid'0f8fad5b-d9cb-469f-a165-70867728950e'", TableFilter.Create($"G eq {id}"));
        Assert.Equal("B eq X'00ff10'", TableFilter.Create($"B eq {new byte[] { 0, 255, 16 }}"));
    }

    [Fact]
    public void DoublesAreFormattedInvariantly()
    {
        var previous = Thread.CurrentThread.CurrentCulture;
        try
        {
            Thread.CurrentThread.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
            Assert.Equal("D eq 1234.5", TableFilter.Create($"D eq {1234.5}"));
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = previous;
        }
    }

    [Fact]
    public void LiteralBracesInTheTemplateSurvive()
    {
        Assert.Equal("Name eq '{x}'", TableFilter.Create($"Name eq {"{x}"}"));
    }

    [Fact]
    public void NullOrUnsupportedArgumentsAreRejected()
    {
        string? missing = null;
        Assert.Throws<ArgumentException>(() => TableFilter.Create($"Name eq {missing}"));
        Assert.Throws<ArgumentException>(() => TableFilter.Create($"Name eq {new object()}"));
        Assert.Throws<ArgumentException>(() => TableFilter.Create($"Name eq {1.5m}"));
        Assert.Throws<ArgumentException>(() => TableFilter.Create($"D eq {double.NaN}"));
    }
}
