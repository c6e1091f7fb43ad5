using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using RunLedger.Ledger;

namespace RunLedger.Http;

/// <summary>
/// Standalone stand-in for the Functions host's key check: when keys are configured, every
/// route but the anonymous ones (<c>/</c>, <c>/api/health</c>) needs one in <c>x-functions-key</c> or <c>?code=</c>
/// (that includes the queue-invocation path, which only the host calls).
/// Under the host the keys are enforced before a request reaches the app, so none are configured.
/// </summary>
public sealed class FunctionKeyMiddleware(RequestDelegate next, IOptions<LedgerOptions> options)
{
    private readonly byte[][] _keys = options.Value.FunctionKeys
        .Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(Encoding.UTF8.GetBytes)
        .ToArray();

    public Task InvokeAsync(HttpContext context)
    {
        // Anonymous endpoints (health, the host's readiness probe) are marked with AllowAnonymous,
        // the same marker the function.json generator turns into authLevel "anonymous".
        if (_keys.Length == 0 || context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return next(context);
        }

        string? presented = context.Request.Headers["x-functions-key"];
        presented ??= context.Request.Query["code"];
        if (presented is not null && Matches(Encoding.UTF8.GetBytes(presented)))
        {
            return next(context);
        }

        throw new LedgerException(StatusCodes.Status401Unauthorized, "Unauthorized",
            "A valid function key is required in the 'x-functions-key' header or the 'code' query parameter.");
    }

    private bool Matches(byte[] presented)
    {
        var match = false;
        foreach (var key in _keys)
        {
            // Compare against every key, in constant time, so timing reveals neither key nor which one matched.
            match |= CryptographicOperations.FixedTimeEquals(presented, key);
        }
        return match;
    }
}
