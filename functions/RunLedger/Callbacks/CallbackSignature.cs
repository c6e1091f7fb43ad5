using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RunLedger.Callbacks;

/// <summary>
/// The <c>X-RunLedger-Signature</c> header: <c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256&gt;</c>, the
/// HMAC keyed with the callback's secret (UTF-8) over <c>"{t}.{body}"</c>. A receiver recomputes
/// it over the raw body, compares in constant time, and rejects a <c>t</c> too far from its clock
/// (replays); the delivery id header then de-duplicates retries.
/// </summary>
public static class CallbackSignature
{
    public static string Header(string secret, DateTimeOffset at, string body)
    {
        var t = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={t},v1={Compute(secret, t, body)}";
    }

    public static string Compute(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    /// <summary>What a receiver does: true when the header is ours for this body and within <paramref name="tolerance"/> of <paramref name="now"/>.</summary>
    public static bool Verify(string secret, string header, string body, DateTimeOffset now, TimeSpan tolerance)
    {
        string? t = null, v1 = null;
        foreach (var part in header.Split(','))
        {
            var pair = part.Split('=', 2);
            if (pair.Length != 2) return false;
            if (pair[0] == "t") t = pair[1];
            else if (pair[0] == "v1") v1 = pair[1];
        }
        if (t is null || v1 is null || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return false;
        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds) return false;
        var expected = Encoding.ASCII.GetBytes(Compute(secret, t, body));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(v1));
    }
}
