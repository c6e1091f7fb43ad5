using RunLedger.Http;
using System.Text;
using System.Text.Json.Nodes;
using RunLedger.Access;
using RunLedger.Tests.Support;
using Xunit.Abstractions;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// The HTTP fuzz with access enforced (admin keys set): every input carries a credential, valid or
/// not (admin, project keys, read links for a project or a run, expired, truncated, forged), in the
/// header or as <c>?code=</c>. Beside the fuzz's own rules, nothing succeeds beyond what its
/// credential grants.
/// </summary>
[Collection(ReliabilitySuite.Name)]
public sealed class AccessFuzzTests(AccessFuzzTests.Host host, ITestOutputHelper output) : HttpFuzzTest(host, output), IClassFixture<AccessFuzzTests.Host>
{
    private const string AdminKey = "fuzz-admin-key-0123456789";

    public sealed class Host : LedgerHost
    {
        protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
        [
            new("RunLedger__AdminKeys", AdminKey), new("RunLedger__SigningSecrets", "fuzz-signing-secret-0123456789abcdef"),
            new("RunLedger__StreamMaxDuration", "00:00:01"), new("RunLedger__StreamHeartbeat", "00:00:00.500"),
        ];
    }

    [Fact]
    public async Task HostileRequestsWithValidAndForgedCredentialsNeverSucceedBeyondWhatTheCredentialGrants()
    {
        // The fixture's client (setup, snapshots, read-backs) is the admin; the fuzzed requests use their own.
        if (!Client.DefaultRequestHeaders.Contains("x-functions-key")) Client.DefaultRequestHeaders.Add("x-functions-key", AdminKey);
        var figures = new Figures("fuzz-access", Output);
        try
        {
            await FuzzHttpAsync(figures, ReliabilitySuite.Seed(20261129), 1500, CredentialsAsync);
        }
        finally
        {
            figures.Save();
        }
    }

    private async Task<IReadOnlyList<Credential>> CredentialsAsync()
    {
        var projectKey = await MintAsync($"/api/projects/{P}/keys", "key", "");
        var otherKey = await MintAsync("/api/projects/pfz-other/keys", "key", "");
        var projectLink = await MintAsync($"/api/projects/{P}/links", "token", "{}");
        var runLink = await MintAsync($"/api/projects/{P}/links", "token", """{"runId":"RUN_FZ1"}""");
        var expired = await MintAsync($"/api/projects/{P}/links", "token", """{"expiresIn":"PT1S"}""");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var payload = projectLink[Credentials.ReadTokenPrefix.Length..projectLink.IndexOf('.', StringComparison.Ordinal)];
        string[] forged =
        [
            "garbage", "rlk_", "rlk_" + new string('A', 43), projectKey + "x", projectKey[..^1], Flip(projectKey), projectKey.ToUpperInvariant(),
            "rlt_", "rlt_.", "rlt_x.y", "rlt_" + Base64Url("{}") + ".AAAA", Flip(projectLink), projectLink + ".x", projectLink.Replace('.', '_'),
            "rlt_" + new string('A', 10_000) + ".B", "rlt_" + payload + "." + Base64Url("not the mac"), Flip(AdminKey), AdminKey[..^1], "rlt_%00.%00",
        ];
        return
        [
            new("admin key", AdminKey, Need.Admin),
            new("project key", projectKey, Need.Write, P),
            new("other project's key", otherKey, Need.Write, "pfz-other"),
            new("project read link", projectLink, Need.Read, P),
            new("run read link", runLink, Need.Read, P, "RUN_FZ1"),
            new("expired read link", expired, Need.Anyone),
            new("none", "", Need.Anyone),
            .. forged.Select(f => new Credential("forged or malformed", f, Need.Anyone)),
        ];
    }

    private async Task<string> MintAsync(string url, string field, string body)
    {
        using var response = await Client.PostAsync(url, body.Length == 0 ? null : new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {url} answered {(int)response.StatusCode}: {text}");
        return (string)JsonNode.Parse(text)![field]!;
    }

    /// <summary>The credential with one character changed (same length, same alphabet).</summary>
    private static string Flip(string credential)
    {
        var chars = credential.ToCharArray();
        var at = chars.Length / 2;
        chars[at] = chars[at] == 'A' ? 'B' : 'A';
        return new string(chars);
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
