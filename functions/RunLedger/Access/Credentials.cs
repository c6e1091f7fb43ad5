using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RunLedger.Ledger;

namespace RunLedger.Access;

/// <summary>
/// The app's credentials, checked by the app itself so the same rules hold under every host:
/// <list type="bullet">
/// <item>admin keys (<c>RunLedger__AdminKeys</c>): everything;</item>
/// <item>project keys <c>rlk_…</c>: read and write one project; derived as HMAC-SHA256 over the project id
/// with a signing secret (<c>RunLedger__SigningSecrets</c>), so there is no key table;</item>
/// <item>read tokens <c>rlt_{payload}.{mac}</c>: read one project or one run until they expire; the payload
/// (scope and expiry) is signed with the same secrets.</item>
/// </list>
/// The first signing secret mints; every listed one verifies, so a secret is rotated by putting the new
/// one first and removing the old one once its keys and links are replaced.
/// With no admin keys and the environment <c>Development</c> (Core Tools and the local host), access is open.
/// </summary>
public sealed partial class Credentials
{
    public const string ProjectKeyPrefix = "rlk_";
    public const string ReadTokenPrefix = "rlt_";

    private const string ProjectKeyPurpose = "runledger project-key v1\n";
    private const string ReadTokenPurpose = "runledger read-token v1\n";

    private readonly byte[][] _adminKeys;
    private readonly byte[][] _secrets;
    private readonly TimeProvider _clock;

    public Credentials(IOptions<LedgerOptions> options, IConfiguration configuration, TimeProvider clock, ILogger<Credentials> logger)
    {
        _clock = clock;
        _adminKeys = [.. Split(options.Value.AdminKeys).Select(Hash)];
        var secrets = Split(options.Value.SigningSecrets).Select(s => Encoding.UTF8.GetBytes(s)).ToList();
        var development = string.Equals(configuration["AZURE_FUNCTIONS_ENVIRONMENT"], "Development", StringComparison.OrdinalIgnoreCase);
        Open = development && _adminKeys.Length == 0;
        if (secrets.Count == 0 && development)
        {
            // Local runs work without setup; what is minted dies with the process.
            secrets.Add(RandomNumberGenerator.GetBytes(32));
            Log.EphemeralSecret(logger);
        }
        _secrets = [.. secrets];
    }

    /// <summary>No admin key is set and this is a Development environment: every caller is an admin.</summary>
    public bool Open { get; }

    public bool CanMint => _secrets.Length > 0;

    /// <summary>Who presents <paramref name="credential"/> (null or empty: nobody).</summary>
    public Caller Identify(string? credential)
    {
        if (Open) return Caller.Admin;
        if (string.IsNullOrEmpty(credential)) return Caller.Nobody;
        if (credential.StartsWith(ProjectKeyPrefix, StringComparison.Ordinal))
        {
            return new Caller(CallerKind.ProjectKey, credential, null, null, null);
        }
        if (credential.StartsWith(ReadTokenPrefix, StringComparison.Ordinal))
        {
            return ReadToken(credential);
        }
        var hash = Hash(credential);
        var admin = false;
        foreach (var key in _adminKeys)
        {
            admin |= CryptographicOperations.FixedTimeEquals(hash, key);
        }
        return admin ? Caller.Admin : Caller.Invalid("The key is not valid for this app.");
    }

    /// <summary>The project key of <paramref name="projectId"/>, from the current signing secret.</summary>
    public string ProjectKey(string projectId) =>
        ProjectKeyPrefix + Base64Url(Mac(_secrets[0], ProjectKeyPurpose + projectId));

    /// <summary>Whether <paramref name="key"/> is <paramref name="projectId"/>'s key under any signing secret.</summary>
    public bool IsProjectKey(string key, string projectId)
    {
        var given = Encoding.UTF8.GetBytes(key);
        var match = false;
        foreach (var secret in _secrets)
        {
            var expected = Encoding.UTF8.GetBytes(ProjectKeyPrefix + Base64Url(Mac(secret, ProjectKeyPurpose + projectId)));
            match |= given.Length == expected.Length && CryptographicOperations.FixedTimeEquals(given, expected);
        }
        return match;
    }

    /// <summary>A read-only token for one project (<paramref name="runId"/> null) or one run, valid until <paramref name="expiresAt"/>.</summary>
    public string MintReadToken(string projectId, string? runId, DateTimeOffset expiresAt)
    {
        var payload = new JsonObject
        {
            ["p"] = projectId,
            ["r"] = runId,
            ["exp"] = expiresAt.ToUnixTimeSeconds(),
        };
        if (runId is null) payload.Remove("r");
        var body = Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        return ReadTokenPrefix + body + "." + Base64Url(Mac(_secrets[0], ReadTokenPurpose + body));
    }

    private Caller ReadToken(string token)
    {
        var dot = token.IndexOf('.', ReadTokenPrefix.Length);
        if (dot < 0 || token.Length > 1024) return Caller.Invalid("The token is malformed.");
        var body = token[ReadTokenPrefix.Length..dot];
        byte[] given;
        try
        {
            given = Base64UrlDecode(token[(dot + 1)..]);
        }
        catch (FormatException)
        {
            return Caller.Invalid("The token is malformed.");
        }
        var signed = false;
        foreach (var secret in _secrets)
        {
            var expected = Mac(secret, ReadTokenPurpose + body);
            signed |= given.Length == expected.Length && CryptographicOperations.FixedTimeEquals(given, expected);
        }
        if (!signed) return Caller.Invalid("The token's signature does not match: it was changed, or its signing secret was retired.");

        // Signed by us, so the payload is ours; read it defensively all the same.
        try
        {
            var payload = JsonNode.Parse(Base64UrlDecode(body))!.AsObject();
            var projectId = (string)payload["p"]!;
            var runId = (string?)payload["r"];
            var expiresAt = DateTimeOffset.FromUnixTimeSeconds((long)payload["exp"]!);
            if (expiresAt <= _clock.GetUtcNow())
            {
                return Caller.Invalid($"The token expired at {Runs.RunRules.Timestamp(expiresAt)}; ask for a new link.");
            }
            return new Caller(CallerKind.ReadToken, null, projectId, runId, expiresAt);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException or ArgumentOutOfRangeException)
        {
            return Caller.Invalid("The token is malformed.");
        }
    }

    private static string[] Split(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static byte[] Mac(byte[] secret, string message) => HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(message));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static readonly System.Buffers.SearchValues<char> Base64UrlAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private static byte[] Base64UrlDecode(string text)
    {
        if (text.Length == 0 || text.AsSpan().IndexOfAnyExcept(Base64UrlAlphabet) >= 0)
        {
            throw new FormatException("Not base64url.");
        }
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Warning,
            Message = "No signing secret is set (RunLedger__SigningSecrets); using one for this process only, so project keys and links minted now stop working when it ends")]
        public static partial void EphemeralSecret(ILogger logger);
    }
}
