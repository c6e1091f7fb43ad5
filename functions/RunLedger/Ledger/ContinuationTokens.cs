using System.Text;

namespace RunLedger.Ledger;

/// <summary>
/// Continuation tokens of the paged listings: the last row key of a page, base64url-encoded. A
/// token is only accepted back when the row key it names is one the listing could have issued.
/// </summary>
public static class ContinuationTokens
{
    public static string Encode(string rowKey) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(rowKey)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The row key a continuation token names, when <paramref name="isValid"/> accepts it.</summary>
    public static string? Decode(string token, Func<string, bool> isValid)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - base64.Length % 4) % 4);
            var rowKey = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            return isValid(rowKey) ? rowKey : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
