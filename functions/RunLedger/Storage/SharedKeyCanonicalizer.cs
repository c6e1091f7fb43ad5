namespace RunLedger.Storage;

/// <summary>Helpers shared by the two shared-key signing policies.</summary>
internal static class SharedKeyCanonicalizer
{
    /// <summary>Query parameters with names and values unescaped, as the signature wants them.</summary>
    public static IEnumerable<(string Name, string Value)> QueryParameters(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            yield break;
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? pair : pair[..equals];
            var value = equals < 0 ? string.Empty : pair[(equals + 1)..];
            yield return (Uri.UnescapeDataString(name), Uri.UnescapeDataString(value));
        }
    }

    // The signature format requires lower-case names (not a normalisation for comparison).
#pragma warning disable CA1308
    public static string Lower(string value) => value.ToLowerInvariant();
#pragma warning restore CA1308
}
