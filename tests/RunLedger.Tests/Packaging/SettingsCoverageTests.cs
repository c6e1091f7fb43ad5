using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// Every setting the code reads (see <see cref="AppSettings"/> for how they are found) must be
/// <list type="bullet">
/// <item>in local.settings.sample.json, with a value that works locally — except the identity-based
///   storage settings (<c>AzureWebJobsStorage__*</c>), the Azure alternative to the connection string;</item>
/// <item>documented in README.md or docs/*.md, by its full app-setting name;</item>
/// <item>written by infra/ — except the settings in <see cref="NotInInfra"/>, each with its reason.</item>
/// </list>
/// A new option therefore fails these tests until it is given a local value, documented, and
/// either set by the templates or listed below with the reason Azure does without it.
/// </summary>
public sealed class SettingsCoverageTests(ITestOutputHelper output)
{
    /// <summary>Settings Azure deployments leave unset, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> NotInInfra = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AzureWebJobsStorage"] = "the connection-string form; Azure uses the identity-based AzureWebJobsStorage__* settings",
        ["RunLedger__StreamMaxDuration"] = "the code default suits Azure; set it only to tune",
        ["RunLedger__StreamHeartbeat"] = "the code default suits Azure; set it only to tune",
        ["RunLedger__PricingFile"] = "the shipped Costs/pricing.json applies; set it only to override prices",
        ["AZURE_FUNCTIONS_ENVIRONMENT"] = "set by the platform (Production in Azure); Development opens the API when no admin key is set, and lets callbacks use http to loopback",
        ["RunLedger__LinkLifetime"] = "the code default (7 days) suits Azure; set it only to tune",
        ["RunLedger__MaxLinkLifetime"] = "the code default (90 days) suits Azure; set it only to tune",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "an alternative destination to Application Insights, for self-hosted collectors",
    };

    private static bool IsIdentityAlternative(string setting) => setting.StartsWith("AzureWebJobsStorage__", StringComparison.Ordinal);

    private IReadOnlyDictionary<string, string> Settings()
    {
        var settings = AppSettings.Discover();
        output.WriteLine("Settings the code reads:");
        foreach (var (setting, origin) in settings) output.WriteLine($"  {setting}  ({origin})");
        return settings;
    }

    private void AssertNoneMissing(string what, IEnumerable<string> missing)
    {
        var list = missing.ToList();
        foreach (var setting in list) output.WriteLine($"MISSING from {what}: {setting}");
        Assert.True(list.Count == 0, $"Missing from {what}: {string.Join(", ", list)}");
    }

    [Fact]
    public void DiscoveryFindsTheKnownSettings()
    {
        var settings = Settings();
        Assert.Contains("RunLedger__TableName", settings.Keys);
        Assert.Contains("RunLedger__CreateStorageOnStart", settings.Keys);
        Assert.Contains("AzureWebJobsStorage", settings.Keys);
        Assert.Contains("AzureWebJobsStorage__queueServiceUri", settings.Keys);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", settings.Keys);
        // Every exemption names a setting the code still reads, so the list cannot go stale.
        Assert.All(NotInInfra.Keys, setting => Assert.Contains(setting, settings.Keys));
    }

    [Fact]
    public void EverySettingHasALocalValueInTheSample()
    {
        var values = RepoFiles.Json("local.settings.sample.json")["Values"]!.AsObject();
        Assert.Equal("dotnet-isolated", (string)values["FUNCTIONS_WORKER_RUNTIME"]!);
        Assert.Equal("UseDevelopmentStorage=true", (string)values["AzureWebJobsStorage"]!);
        var missing = Settings().Keys
            .Where(setting => !IsIdentityAlternative(setting))
            .Where(setting => !values.Any(v => v.Key == setting || v.Key.StartsWith(setting + "__", StringComparison.Ordinal)));
        AssertNoneMissing("local.settings.sample.json", missing);
    }

    [Fact]
    public void EverySettingIsDocumented()
    {
        var docs = string.Concat(Directory.EnumerateFiles(RepoFiles.FullPath("docs"), "*.md")
            .Prepend(RepoFiles.FullPath("README.md"))
            .Select(File.ReadAllText));
        var missing = Settings().Keys.Where(setting => !Mentions(docs, setting));
        AssertNoneMissing("README.md and docs/*.md", missing);
    }

    [Fact]
    public void EverySettingAzureNeedsIsWrittenByInfra()
    {
        var infra = RepoFiles.InfraText();
        var missing = Settings().Keys.Where(setting => !NotInInfra.ContainsKey(setting) && !Mentions(infra, setting));
        AssertNoneMissing("infra/", missing);
    }

    /// <summary>The name as a whole word (so <c>RunLedger__Table</c> is not found in <c>RunLedger__TableName</c>).</summary>
    private static bool Mentions(string text, string setting) =>
        Regex.IsMatch(text, $@"(?<![\w]){Regex.Escape(setting)}(?![\w])");
}
