using RunLedger.Callbacks;

namespace RunLedger.Tests.Callbacks;

/// <summary>The signature receivers verify: t=unix seconds, v1 = hex HMAC-SHA256(secret, "t.body").</summary>
public sealed class CallbackSignatureTests
{
    private const string Secret = "whsec_0123456789abcdef";
    private const string Body = """{"event":"completed"}""";
    private static readonly DateTimeOffset At = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheHeaderMatchesAnHmacComputedIndependently()
    {
        // python3: hmac.new(b'whsec_0123456789abcdef', b'1767225600.{"event":"completed"}', hashlib.sha256).hexdigest()
        Assert.Equal("t=1767225600,v1=4aa192dfb2faad6748193853132a6110d680e3dd71c545d12f36ce62baa67eca",
            CallbackSignature.Header(Secret, At, Body));
    }

    [Fact]
    public void AReceiverAcceptsTheHeaderForTheSameBodyAndSecret()
    {
        var header = CallbackSignature.Header(Secret, At, Body);
        Assert.True(CallbackSignature.Verify(Secret, header, Body, At.AddSeconds(30), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void AnotherBodySecretOrTimestampFailsVerification()
    {
        var header = CallbackSignature.Header(Secret, At, Body);
        Assert.False(CallbackSignature.Verify(Secret, header, """{"event":"failed"}""", At, TimeSpan.FromMinutes(5)));
        Assert.False(CallbackSignature.Verify(Secret + "x", header, Body, At, TimeSpan.FromMinutes(5)));
        Assert.False(CallbackSignature.Verify(Secret, header.Replace("t=1767225600", "t=1767225601", StringComparison.Ordinal), Body, At, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void AnOldSignatureIsRejectedAsAReplay()
    {
        var header = CallbackSignature.Header(Secret, At, Body);
        Assert.False(CallbackSignature.Verify(Secret, header, Body, At.AddMinutes(10), TimeSpan.FromMinutes(5)));
    }
}
