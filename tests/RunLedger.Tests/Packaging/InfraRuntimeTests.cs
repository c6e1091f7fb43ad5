using System.Text.RegularExpressions;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// The function app the templates declare runs the isolated worker on the .NET the app targets,
/// in the form each plan wants: Flex through <c>functionAppConfig.runtime</c> only, Elastic
/// Premium through the classic settings and <c>linuxFxVersion</c>.
/// </summary>
public sealed partial class InfraRuntimeTests
{
    private static readonly string FunctionApp = RepoFiles.Read(Path.Combine("infra", "app", "function-app.bicep"));

    /// <summary>The body of <c>var name = { ... }</c>, nested braces included.</summary>
    private static string ObjectVariable(string bicep, string name)
    {
        var start = Regex.Match(bicep, $@"^var {name}\b[^=]*=\s*\{{", RegexOptions.Multiline);
        Assert.True(start.Success, $"var {name} = {{...}} not found");
        var depth = 1;
        var end = start.Index + start.Length;
        for (; depth > 0; end++) depth += bicep[end] switch { '{' => 1, '}' => -1, _ => 0 };
        return bicep[(start.Index + start.Length)..(end - 1)];
    }

    [Fact]
    public void TheDotnetVersionIsTheAppsTargetFrameworkWrittenAsMajorDotMinor()
    {
        var target = TargetFramework().Match(RepoFiles.Read("Directory.Build.props")).Groups["version"].Value;
        Assert.Equal("10.0", target);
        // Flex accepts '10' at deployment and then fails to start the app: the value must be '10.0'.
        Assert.Equal(target, DotnetVersion().Match(FunctionApp).Groups["version"].Value);
    }

    [Fact]
    public void FlexDeclaresTheDotnetIsolatedRuntimeInFunctionAppConfigAndNotAsAppSettings()
    {
        Assert.Matches(@"runtime:\s*\{\s*name:\s*'dotnet-isolated'\s*version:\s*dotnetVersion\s*\}", ObjectVariable(FunctionApp, "flexSiteProperties"));
        // Flex rejects these two settings; only the Elastic Premium settings may hold them.
        var flexSettings = ObjectVariable(FunctionApp, "commonSettings") + RepoFiles.Read(Path.Combine("infra", "main.bicep"));
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", flexSettings, StringComparison.Ordinal);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", flexSettings, StringComparison.Ordinal);
        Assert.Matches(@"appSettings\s*=\s*union\(commonSettings,\s*runLedgerSettings,\s*accessSettings,\s*isFlex \? \{\} : premiumSettings\)", FunctionApp);
    }

    [Fact]
    public void ElasticPremiumRunsTheDotnetIsolatedWorkerOnFunctionsV4()
    {
        var settings = ObjectVariable(FunctionApp, "premiumSettings");
        Assert.Matches(@"FUNCTIONS_WORKER_RUNTIME:\s*'dotnet-isolated'", settings);
        Assert.Matches(@"FUNCTIONS_EXTENSION_VERSION:\s*'~4'", settings);
        Assert.Contains("linuxFxVersion: 'DOTNET-ISOLATED|${dotnetVersion}'", ObjectVariable(FunctionApp, "premiumSiteProperties"), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"<TargetFramework>net(?<version>\d+\.\d+)</TargetFramework>")]
    private static partial Regex TargetFramework();

    [GeneratedRegex(@"^var dotnetVersion = '(?<version>[^']*)'", RegexOptions.Multiline)]
    private static partial Regex DotnetVersion();
}
