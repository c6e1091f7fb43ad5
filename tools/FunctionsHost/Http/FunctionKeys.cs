using System.Security.Cryptography;
using System.Text;
using FunctionsHost.Configuration;
using FunctionsHost.Functions;
using Microsoft.AspNetCore.Http;

namespace FunctionsHost.Http;

/// <summary>
/// Keys, like Core Tools: not enforced unless the <c>FunctionsHost__FunctionKeys</c> setting lists
/// some (comma-separated). Then functions with authLevel function or admin, and the admin API,
/// need one in <c>x-functions-key</c> or <c>?code=</c>. Anonymous functions are always open.
/// </summary>
public sealed class FunctionKeys(AppSettings settings)
{
    public const string Setting = "FunctionsHost__FunctionKeys";

    private readonly byte[][] keys = (settings[Setting] ?? "")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(Hash)
        .ToArray();

    public bool Enforced => keys.Length > 0;

    public bool Allows(HttpContext context, FunctionDescriptor? function)
    {
        if (keys.Length == 0 || function?.AuthLevel == "anonymous")
        {
            return true;
        }
        var given = context.Request.Headers["x-functions-key"].FirstOrDefault() ?? context.Request.Query["code"].FirstOrDefault();
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

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
