using System.Security.Cryptography;
using System.Text;
using FunctionsHost.Configuration;
using FunctionsHost.Functions;
using Microsoft.AspNetCore.Http;

namespace FunctionsHost.Http;

/// <summary>
/// Function keys. In Azure (any environment but Development) keys always exist and are always checked:
/// functions with authLevel function or admin, and the admin API, need one of the keys listed in
/// <c>FunctionsHost__FunctionKeys</c> (comma-separated; none listed means nothing passes, as no key
/// is known). In Development, as under Core Tools, keys are checked only when some are listed.
/// Anonymous functions are always open. The key is the <c>x-functions-key</c> header when the request
/// has one (even empty), else the <c>code</c> query parameter (azure-functions-host
/// src/WebJobs.Script.WebHost/Security/Authentication/Keys/AuthenticationLevelHandler.cs,
/// <c>GetAuthorizationKeyInfoAsync</c>: "header takes precedence").
/// </summary>
public sealed class FunctionKeys(AppSettings settings)
{
    public const string Setting = "FunctionsHost__FunctionKeys";

    private readonly byte[][] keys = (settings[Setting] ?? "")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(Hash)
        .ToArray();

    public bool Enforced { get; } = !settings.IsDevelopment || !string.IsNullOrEmpty(settings[Setting]);

    public bool Allows(HttpContext context, FunctionDescriptor? function)
    {
        if (!Enforced || function?.AuthLevel == "anonymous")
        {
            return true;
        }
        var given = Presented(context.Request);
        if (string.IsNullOrEmpty(given))
        {
            return false;
        }
        // Compare fixed-length hashes so the time taken says nothing about the key's length or content.
        var hash = Hash(given);
        var allowed = false;
        foreach (var key in keys)
        {
            allowed |= CryptographicOperations.FixedTimeEquals(hash, key);
        }
        return allowed;
    }

    /// <summary>The key a request presents: the header when it is there at all, else <c>?code=</c>.</summary>
    public static string? Presented(HttpRequest request) =>
        request.Headers.TryGetValue("x-functions-key", out var header) ? header.FirstOrDefault() : request.Query["code"].FirstOrDefault();

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
