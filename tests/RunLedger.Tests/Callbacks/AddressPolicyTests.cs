using System.Net;
using RunLedger.Callbacks;

namespace RunLedger.Tests.Callbacks;

/// <summary>
/// The SSRF guard's classifier: globally reachable unicast only (the IANA IPv4 and IPv6
/// special-purpose registries, multicast, cloud platform addresses, IPv6 forms embedding IPv4),
/// loopback only in Development; and names only a private network resolves.
/// </summary>
public sealed class AddressPolicyTests
{
    [Theory]
    // IPv4 special-purpose registry, entries not globally reachable (first and last address of each where it matters).
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("0.255.255.255", "unspecified")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("10.255.255.255", "private")]
    [InlineData("100.64.0.1", "carrier-grade NAT")]
    [InlineData("100.127.255.254", "carrier-grade NAT")]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.8.8.8", "loopback")]
    [InlineData("169.254.10.1", "link-local")]
    [InlineData("169.254.170.2", "link-local")] // AWS ECS task metadata
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.254", "private")]
    [InlineData("192.0.0.1", "IETF protocol assignment")]
    [InlineData("192.0.0.170", "IETF protocol assignment")]
    [InlineData("192.0.2.10", "documentation")]
    [InlineData("192.88.99.1", "6to4 relay anycast")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("198.18.0.1", "benchmarking")]
    [InlineData("198.19.255.255", "benchmarking")]
    [InlineData("198.51.100.7", "documentation")]
    [InlineData("203.0.113.9", "documentation")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("239.255.255.250", "multicast")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("255.255.255.254", "reserved")]
    [InlineData("255.255.255.255", "broadcast")]
    // Cloud platform addresses.
    [InlineData("169.254.169.254", "the cloud metadata address")]
    [InlineData("100.100.100.200", "Alibaba Cloud metadata")]
    [InlineData("168.63.129.16", "Azure platform")]
    [InlineData("168.63.129.17", "Azure platform")]
    [InlineData("fd00:ec2::254", "the cloud metadata address")]
    // IPv4-mapped (::ffff:0:0/96): judged as the IPv4 address.
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("::ffff:169.254.169.254", "the cloud metadata address")]
    [InlineData("::ffff:168.63.129.16", "Azure platform")]
    [InlineData("::ffff:168.63.129.17", "Azure platform")]
    // IPv4-translated (::ffff:0:0:0/96), IPv4-compatible (::/96), local-use NAT64, 6to4: refused, naming what they embed.
    [InlineData("::ffff:0:a9fe:a9fe", "IPv4-translated address embedding 169.254.169.254, the cloud metadata address")]
    [InlineData("::ffff:0:7f00:1", "IPv4-translated address embedding 127.0.0.1, a loopback address")]
    [InlineData("::ffff:0:808:808", "IPv4-translated address (embedding 8.8.8.8)")]
    [InlineData("::10.0.0.1", "IPv4-compatible address embedding 10.0.0.1, a private address")]
    [InlineData("::8.8.8.8", "IPv4-compatible")]
    [InlineData("64:ff9b::a9fe:a9fe", "NAT64 address embedding 169.254.169.254, the cloud metadata address")]
    [InlineData("64:ff9b::a83f:8110", "NAT64 address embedding 168.63.129.16, the Azure platform address")]
    [InlineData("64:ff9b:1::808:808", "local-use NAT64")]
    [InlineData("2002:a00:1::1", "6to4 address embedding 10.0.0.1, a private address")]
    [InlineData("2002:808:808::1", "6to4")]
    // IPv6 special-purpose registry, entries not globally reachable.
    [InlineData("::", "unspecified")]
    [InlineData("::1", "loopback")]
    [InlineData("100::1", "discard-only")]
    [InlineData("2001:0:4136:e378::1", "Teredo")]
    [InlineData("2001:2::1", "benchmarking")]
    [InlineData("2001:10::1", "IETF protocol assignment")] // ORCHID (deprecated)
    [InlineData("2001:1::4", "IETF protocol assignment")]
    [InlineData("2001:1ff::1", "IETF protocol assignment")]
    [InlineData("2001:db8::1", "documentation")]
    [InlineData("3fff::1", "documentation")]
    [InlineData("5f00::1", "segment routing")]
    [InlineData("fc00::1", "unique-local")]
    [InlineData("fd12:3456::1", "unique-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("febf::1", "link-local")]
    [InlineData("fec0::1", "site-local")]
    [InlineData("ff02::1", "multicast")]
    // Outside global unicast (2000::/3): reserved.
    [InlineData("::ffff:1:0:0:1", "reserved")]
    [InlineData("4000::1", "reserved")]
    [InlineData("e000::1", "reserved")]
    public void NonPublicAddressesAreRefusedWithTheirKind(string address, string kind)
    {
        var refusal = AddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: false);
        Assert.NotNull(refusal);
        Assert.Contains(kind, refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("9.255.255.255")]
    [InlineData("11.0.0.0")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.1")]
    [InlineData("168.63.129.15")]
    [InlineData("168.63.129.18")]
    [InlineData("169.255.0.1")]
    [InlineData("172.32.0.1")]
    [InlineData("192.0.1.255")]
    [InlineData("192.31.196.1")]  // AS112-v4: globally reachable
    [InlineData("192.52.193.1")]  // AMT
    [InlineData("192.175.48.1")]  // direct delegation AS112
    [InlineData("198.20.0.1")]
    [InlineData("223.255.255.254")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")] // NAT64 of a public address
    [InlineData("2001:1::1")]       // PCP anycast
    [InlineData("2001:3::1")]       // AMT
    [InlineData("2001:4:112::1")]   // AS112-v6
    [InlineData("2001:20::1")]      // ORCHIDv2
    [InlineData("2001:200::1")]     // just past 2001::/23
    [InlineData("2606:4700:4700::1111")]
    [InlineData("2620:4f:8000::1")] // direct delegation AS112
    [InlineData("3ffe:ffff::1")]
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
    [InlineData("168.63.129.16")]
    [InlineData("fd00:ec2::254")]
    [InlineData("::ffff:192.168.0.1")]
    [InlineData("::ffff:0:7f00:1")]
    [InlineData("64:ff9b::7f00:1")]
    public void DevelopmentStillRefusesEverythingButLoopback(string address)
    {
        Assert.NotNull(AddressPolicy.Refusal(IPAddress.Parse(address), allowLoopback: true));
    }

    [Theory]
    [InlineData("metadata", "single-label")]
    [InlineData("instance-data", "single-label")]
    [InlineData("metadata.", "single-label")]
    [InlineData("metadata.google.internal", "'.internal'")]
    [InlineData("METADATA.Google.Internal.", "'.internal'")]
    [InlineData("printer.local", "'.local'")]
    [InlineData("nas.lan", "'.lan'")]
    [InlineData("router.home.arpa", "'.arpa'")]
    [InlineData("1.0.0.127.in-addr.arpa", "'.arpa'")]
    [InlineData("localhost", "loopback")]
    [InlineData("localhost.", "loopback")]
    [InlineData("api.localhost", "loopback")]
    [InlineData("127.0.0.1.", "loopback")]
    [InlineData("127.1.", "loopback")]
    [InlineData("0x7f.0.0.1.", "loopback")]
    [InlineData("169.254.169.254.", "the cloud metadata address")]
    [InlineData("168.63.129.16.", "Azure platform")]
    [InlineData("[::ffff:0:a9fe:a9fe]", "IPv4-translated")]
    [InlineData("example.123", "ending in a number")]
    [InlineData("example.0x7f", "ending in a number")]
    [InlineData("example..com", "not a host name")]
    [InlineData(".", "not a host name")]
    public void NamesOnlyAPrivateNetworkResolvesAreRefusedBeforeDns(string host, string kind)
    {
        var refusal = AddressPolicy.HostRefusal(host, allowLoopback: false);
        Assert.NotNull(refusal);
        Assert.Contains(kind, refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("example.com.")]
    [InlineData("hook.eu1.make.com")]
    [InlineData("xn--bcher-kva.example")]
    [InlineData("internal.example.com")]
    [InlineData("metadata.example.com")]
    [InlineData("8.8.8.8")]
    [InlineData("2606:4700:4700::1111")]
    public void PublicNamesAndAddressesPassTheNameCheck(string host)
    {
        Assert.Null(AddressPolicy.HostRefusal(host, allowLoopback: false));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("localhost.")]
    [InlineData("127.0.0.1.")]
    public void LoopbackNamesPassTheNameCheckOnlyInDevelopment(string host)
    {
        Assert.Null(AddressPolicy.HostRefusal(host, allowLoopback: true));
        Assert.NotNull(AddressPolicy.HostRefusal(host, allowLoopback: false));
    }
}
