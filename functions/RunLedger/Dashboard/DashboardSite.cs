using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;
using RunLedger.Http;

namespace RunLedger.Dashboard;

/// <summary>
/// The dashboard's files, embedded in the assembly (so every build and the published package
/// carry them) and served with the headers a page holding a token in its URL needs.
/// </summary>
public static class DashboardSite
{
    private const string ResourcePrefix = "RunLedger.Dashboard.site.";

    /// <summary>
    /// Scripts only from this origin and never inline; API calls only to this origin; no framing,
    /// no plugins, no forms, no base-URL tricks.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private sealed record File(byte[] Content, string ContentType, string ETag);

    private static readonly FrozenDictionary<string, File> Files = Load();

    /// <summary>The names the assets route serves: every shipped file except the pages themselves.</summary>
    public static IEnumerable<string> AssetNames => Files.Keys.Where(name => !name.EndsWith(".html", StringComparison.Ordinal));

    private static FrozenDictionary<string, File> Load()
    {
        var assembly = typeof(DashboardSite).Assembly;
        var files = new Dictionary<string, File>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var name = resource[ResourcePrefix.Length..];
            files[name] = new File(content, ContentType(name), $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => throw new InvalidOperationException($"The dashboard ships '{name}', whose type is not known."),
    };

    public static IResult Serve(HttpContext context, string page) => Write(context, Files[page]);

    public static IResult ServeAsset(HttpContext context, string name) =>
        !name.EndsWith(".html", StringComparison.Ordinal) && Files.TryGetValue(name, out var file)
            ? Write(context, file)
            : throw LedgerException.NotFound($"The dashboard has no asset '{name}'.");

    private static IResult Write(HttpContext context, File file)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        // Revalidated on every load (cheap with the ETag), so a new version of the app never
        // meets pages or scripts of the old one.
        headers.CacheControl = "no-cache";
        headers.ETag = file.ETag;
        if (context.Request.Headers.IfNoneMatch.ToString() == file.ETag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Bytes(file.Content, file.ContentType);
    }
}
