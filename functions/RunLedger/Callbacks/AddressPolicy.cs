using System.Net;
using System.Net.Sockets;

namespace RunLedger.Callbacks;

/// <summary>
/// Where a callback may go (the SSRF guard): globally reachable unicast addresses only, and names
/// that can only mean such a host. Refused are every range of the IANA IPv4 and IPv6
/// special-purpose address registries that is not globally reachable, multicast, everything in
/// IPv6 outside global unicast (2000::/3), the cloud platforms' own addresses (metadata services,
/// Azure's WireServer), IPv6 forms that embed an IPv4 address (judged by the address they embed),
/// and names that resolve only inside a network: single labels (<c>metadata</c>, which DNS search
/// domains complete), <c>localhost</c>, and private-use suffixes such as <c>.internal</c>
/// (<c>metadata.google.internal</c>). Loopback is allowed only in Development. The sender checks
/// the name first and then every address DNS returns for it; the config checks what it can
/// without DNS (literal addresses and names).
/// </summary>
public static class AddressPolicy
{
    /// <summary>One range: its first address, prefix length, and what an address in it is (a phrase).</summary>
    private sealed record Block(IPAddress Network, int Bits, string Kind)
    {
        public static Block Of(string cidr, string kind)
        {
            var slash = cidr.IndexOf('/', StringComparison.Ordinal);
            return new Block(IPAddress.Parse(cidr[..slash]), int.Parse(cidr[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture), kind);
        }

        public bool Contains(byte[] address)
        {
            var network = Network.GetAddressBytes();
            if (network.Length != address.Length) return false;
            var whole = Bits / 8;
            for (var i = 0; i < whole; i++)
            {
                if (network[i] != address[i]) return false;
            }
            var rest = Bits % 8;
            return rest == 0 || ((network[whole] ^ address[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
        }
    }

    public const string Loopback = "a loopback address";

    /// <summary>
    /// IPv4, most specific first (IANA IPv4 Special-Purpose Address Registry, entries that are not
    /// globally reachable; then multicast and the cloud platforms' addresses). The registry's
    /// globally reachable entries (192.31.196.0/24, 192.52.193.0/24, 192.175.48.0/24) stay allowed.
    /// </summary>
    private static readonly Block[] V4Blocks =
    [
        Block.Of("169.254.169.254/32", "the cloud metadata address"),        // Azure, AWS, GCP, Oracle, DigitalOcean...
        Block.Of("100.100.100.200/32", "the Alibaba Cloud metadata address"),
        Block.Of("168.63.129.16/32", "the Azure platform address (WireServer)"),
        Block.Of("168.63.129.17/32", "an Azure platform address"),           // its neighbour; refused with it as a precaution
        Block.Of("255.255.255.255/32", "the broadcast address"),
        Block.Of("0.0.0.0/8", "an unspecified ('this network') address"),
        Block.Of("10.0.0.0/8", "a private address"),
        Block.Of("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        Block.Of("127.0.0.0/8", Loopback),
        Block.Of("169.254.0.0/16", "a link-local address"),
        Block.Of("172.16.0.0/12", "a private address"),
        Block.Of("192.0.0.0/24", "an IETF protocol assignment address"),
        Block.Of("192.0.2.0/24", "a documentation address"),
        Block.Of("192.88.99.0/24", "a 6to4 relay anycast address"),
        Block.Of("192.168.0.0/16", "a private address"),
        Block.Of("198.18.0.0/15", "a benchmarking address"),
        Block.Of("198.51.100.0/24", "a documentation address"),
        Block.Of("203.0.113.0/24", "a documentation address"),
        Block.Of("224.0.0.0/4", "a multicast address"),
        Block.Of("240.0.0.0/4", "a reserved address"),
    ];

    /// <summary>
    /// IPv6 ranges refused outright, most specific first (IANA IPv6 Special-Purpose Address Registry,
    /// entries that are not globally reachable). Forms embedding IPv4 are in <see cref="Embedding"/>.
    /// </summary>
    private static readonly Block[] V6Blocks =
    [
        Block.Of("::/128", "an unspecified address"),
        Block.Of("::1/128", Loopback),
        Block.Of("fd00:ec2::254/128", "the cloud metadata address"),         // AWS (IPv6)
        Block.Of("100::/64", "a discard-only address"),
        Block.Of("2001::/32", "a Teredo address"),
        Block.Of("2001:2::/48", "a benchmarking address"),
        Block.Of("2001:db8::/32", "a documentation address"),
        Block.Of("3fff::/20", "a documentation address"),
        Block.Of("5f00::/16", "a segment routing (SRv6) address"),
        Block.Of("fc00::/7", "a private (unique-local) address"),
        Block.Of("fe80::/10", "a link-local address"),
        Block.Of("fec0::/10", "a site-local address"),
        Block.Of("ff00::/8", "a multicast address"),
    ];

    /// <summary>The registry's globally reachable entries inside 2001::/23, which is refused otherwise.</summary>
    private static readonly Block[] V6Reachable =
    [
        Block.Of("2001:1::1/128", "PCP anycast"),
        Block.Of("2001:1::2/128", "TURN anycast"),
        Block.Of("2001:1::3/128", "DNS-SD service registration"),
        Block.Of("2001:3::/32", "AMT"),
        Block.Of("2001:4:112::/48", "AS112-v6"),
        Block.Of("2001:20::/28", "ORCHIDv2"),
        Block.Of("2001:30::/28", "drone remote ID"),
    ];

    private static readonly Block IetfAssignments = Block.Of("2001::/23", "an IETF protocol assignment address");

    /// <summary>IPv6 forms that carry an IPv4 address in their last four bytes (6to4 in bytes 2–5).</summary>
    private static readonly (Block Block, bool AllowedWhenEmbeddedIsPublic, int At)[] Embedding =
    [
        (Block.Of("::ffff:0:0:0/96", "an IPv4-translated address"), false, 12),
        (Block.Of("::/96", "an IPv4-compatible address"), false, 12),
        (Block.Of("64:ff9b::/96", "a NAT64 address"), true, 12),             // globally reachable when what it embeds is
        (Block.Of("64:ff9b:1::/48", "a local-use NAT64 address"), false, 12),
        (Block.Of("2002::/16", "a 6to4 address"), false, 2),
    ];

    /// <summary>Null when <paramref name="address"/> may be called, else why not (a phrase: "a private address").</summary>
    public static string? Refusal(IPAddress address, bool allowLoopback)
    {
        if (address.IsIPv4MappedToIPv6) return Refusal(address.MapToIPv4(), allowLoopback);
        var bytes = address.GetAddressBytes();
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => V4(bytes, allowLoopback),
            AddressFamily.InterNetworkV6 => V6(bytes, allowLoopback),
            _ => "not an IP address",
        };
    }

    public static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private static string? V4(byte[] b, bool allowLoopback)
    {
        var kind = V4Blocks.FirstOrDefault(block => block.Contains(b))?.Kind;
        return kind == Loopback && allowLoopback ? null : kind;
    }

    private static string? V6(byte[] b, bool allowLoopback)
    {
        if (V6Blocks.FirstOrDefault(block => block.Contains(b)) is { } refused)
        {
            return refused.Kind == Loopback && allowLoopback ? null : refused.Kind;
        }
        foreach (var (block, allowedWhenPublic, at) in Embedding)
        {
            if (!block.Contains(b)) continue;
            var embedded = new IPAddress(b[at..(at + 4)]);
            // What an IPv6 form embeds is never this machine, even in Development.
            var inner = V4(embedded.GetAddressBytes(), allowLoopback: false);
            if (inner is null) return allowedWhenPublic ? null : $"{block.Kind} (embedding {embedded})";
            return $"{block.Kind} embedding {embedded}, {inner}";
        }
        if (IetfAssignments.Contains(b)) return V6Reachable.Any(block => block.Contains(b)) ? null : IetfAssignments.Kind;
        // Only 2000::/3 holds global unicast addresses; everything else is reserved.
        return (b[0] & 0xe0) == 0x20 ? null : "a reserved address (outside global unicast, 2000::/3)";
    }

    /// <summary>Private-use top-level names: never delegated in public DNS, resolved only inside a network.</summary>
    private static readonly HashSet<string> PrivateSuffixes = new(StringComparer.Ordinal)
    {
        "internal", "local", "localdomain", "lan", "home", "corp", "intranet", "private", "arpa",
    };

    /// <summary>
    /// Null when a URL's host (a name or a literal address, as <see cref="Uri.IdnHost"/> gives it)
    /// may be called before DNS is asked, else why not. One trailing dot (the DNS root) is the same
    /// name without it.
    /// </summary>
    public static string? HostRefusal(string host, bool allowLoopback)
    {
        var name = host.ToLowerInvariant();
        if (name.StartsWith('[') && name.EndsWith(']')) name = name[1..^1];
        if (name.EndsWith('.')) name = name[..^1];
        if (name.Length == 0 || name.StartsWith('.') || name.EndsWith('.') || name.Contains("..", StringComparison.Ordinal)) return "not a host name";
        if (IPAddress.TryParse(name, out var literal)) return Refusal(literal, allowLoopback);
        if (name == "localhost" || name.EndsWith(".localhost", StringComparison.Ordinal))
        {
            return allowLoopback ? null : "a loopback name";
        }
        var dot = name.LastIndexOf('.');
        if (dot < 0) return "a single-label name, which only a local network resolves (as it does 'metadata' on cloud machines)";
        var last = name[(dot + 1)..];
        if (last.All(char.IsAsciiDigit) || (last.StartsWith("0x", StringComparison.Ordinal) && last[2..].All(char.IsAsciiHexDigit)))
        {
            return "a name ending in a number, which is read as an IPv4 address";
        }
        return PrivateSuffixes.Contains(last) ? $"a name under '.{last}', which only a private network resolves" : null;
    }

    /// <summary>Whether a URL's host is this machine (loopback names and addresses, with or without a trailing dot).</summary>
    public static bool IsLoopbackHost(string host)
    {
        var name = host.ToLowerInvariant();
        if (name.EndsWith('.')) name = name[..^1];
        if (name.StartsWith('[') && name.EndsWith(']')) name = name[1..^1];
        return name == "localhost" || name.EndsWith(".localhost", StringComparison.Ordinal)
            || (IPAddress.TryParse(name, out var address) && IsLoopback(address));
    }
}
