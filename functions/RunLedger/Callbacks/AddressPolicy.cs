using System.Net;
using System.Net.Sockets;

namespace RunLedger.Callbacks;

/// <summary>
/// Which addresses a callback may reach (SSRF guard): public unicast only. Refused: unspecified,
/// private (RFC 1918, IPv6 unique-local, which holds the EC2 IPv6 metadata address fd00:ec2::254),
/// loopback (except in Development), link-local (169.254.0.0/16, holding the cloud metadata
/// address 169.254.169.254, and fe80::/10), carrier-grade NAT (100.64.0.0/10), multicast,
/// broadcast, reserved and documentation ranges, and IPv6 forms that embed an IPv4 address
/// (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo), which are judged by the address they embed.
/// </summary>
public static class AddressPolicy
{
    /// <summary>Null when <paramref name="address"/> may be called, else why not (a phrase: "a private address").</summary>
    public static string? Refusal(IPAddress address, bool allowLoopback)
    {
        if (address.IsIPv4MappedToIPv6) return Refusal(address.MapToIPv4(), allowLoopback);
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => V4(address.GetAddressBytes(), allowLoopback),
            AddressFamily.InterNetworkV6 => V6(address.GetAddressBytes(), allowLoopback),
            _ => "not an IP address",
        };
    }

    public static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private static string? V4(byte[] b, bool allowLoopback) => (b[0], b[1]) switch
    {
        (0, _) => "an unspecified ('this network') address",
        (10, _) => "a private address",
        (100, >= 64 and <= 127) => "a carrier-grade NAT address",
        (127, _) => allowLoopback ? null : "a loopback address",
        (169, 254) when b[2] == 169 && b[3] == 254 => "the cloud metadata address",
        (169, 254) => "a link-local address",
        (172, >= 16 and <= 31) => "a private address",
        (192, 0) when b[2] is 0 or 2 => "a reserved address",
        (192, 88) when b[2] == 99 => "a reserved address",
        (192, 168) => "a private address",
        (198, 18 or 19) => "a reserved address",
        (198, 51) when b[2] == 100 => "a reserved address",
        (203, 0) when b[2] == 113 => "a reserved address",
        (>= 224 and <= 239, _) => "a multicast address",
        (>= 240, _) => "a reserved or broadcast address",
        _ => null,
    };

    private static string? V6(byte[] b, bool allowLoopback)
    {
        var firstTwelveZero = b.Take(12).All(x => x == 0);
        if (firstTwelveZero)
        {
            // ::, ::1, and the deprecated IPv4-compatible ::a.b.c.d.
            if (b.Skip(12).Take(3).All(x => x == 0) && b[15] <= 1)
            {
                return b[15] == 0 ? "an unspecified address" : allowLoopback ? null : "a loopback address";
            }
            return V4(b[12..16], allowLoopback) ?? "an IPv4-compatible address";
        }
        if (b[0] == 0xff) return "a multicast address";
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "a site-local address";
        if ((b[0] & 0xfe) == 0xfc)
        {
            return b is [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]
                ? "the cloud metadata address" : "a private (unique-local) address";
        }
        // NAT64 64:ff9b::/96 and 64:ff9b:1::/48 carry an IPv4 address: judge that one.
        if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return V4(b[12..16], allowLoopback: false) ?? "a NAT64 address";
        if (b[0] == 0x20 && b[1] == 0x02) return "a 6to4 address";
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return "a Teredo address";
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return "a documentation address";
        if (b[0] == 0x01 && b[1] == 0 && b.Skip(2).Take(6).All(x => x == 0)) return "a discard-only address";
        return null;
    }
}
