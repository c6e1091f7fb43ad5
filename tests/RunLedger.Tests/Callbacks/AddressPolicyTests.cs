using System.Net;
using RunLedger.Callbacks;

namespace RunLedger.Tests.Callbacks;

/// <summary>The SSRF guard's address classifier: public unicast only, loopback only in Development.</summary>
public sealed class AddressPolicyTests
{
    [Theory]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("10.255.255.255", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.254", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("100.64.0.1", "carrier-grade NAT")]
    [InlineData("100.127.255.254", "carrier-grade NAT")]
    [InlineData("169.254.169.254", "metadata")]
    [InlineData("169.254.10.1", "link-local")]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.8.8.8", "loopback")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("239.255.255.250", "multicast")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("192.0.2.10", "reserved")]
    [InlineData("198.18.0.1", "reserved")]
    [InlineData("::", "unspecified")]
    [InlineData("::1", "loopback")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fc00::1", "unique-local")]
    [InlineData("fd12:3456::1", "unique-local")]
    [InlineData("fd00:ec2::254", "metadata")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("::ffff:169.254.169.254", "metadata")]
    [InlineData("::10.0.0.1", "private")]
    [InlineData("64:ff9b::a9fe:a9fe", "metadata")]
    [InlineData("2002:a00:1::1", "6to4")]
    [InlineData("2001:0:4136:e378::1", "Teredo")]
    [InlineData("2001:db8::1", "documentation")]
    public void NonPublicAddressesAreRefusedWithTheirKind(string address, string kind)
    {
        var refusal = AddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: false);
        Assert.NotNull(refusal);
        Assert.Contains(kind, refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("169.255.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void PublicAddressesAreAllowed(string address)
    {
        Assert.Null(AddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: false));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public void LoopbackIsAllowedOnlyWhenDevelopmentAllowsIt(string address)
    {
        Assert.Null(AddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: true));
        Assert.NotNull(AddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: false));
    }

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("fd00:ec2::254")]
    [InlineData("::ffff:192.168.0.1")]
    public void DevelopmentStillRefusesEverythingButLoopback(string address)
    {
        Assert.NotNull(AddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: true));
    }
}
