using FunctionsHost.Configuration;

namespace FunctionsHost.Tests.Configuration;

public sealed class AppSettingsTests
{
    [Fact]
    public void TheEnvironmentWinsOverLocalSettingsAndExplicitSettingsWinOverBoth()
    {
        var name = "FH_TEST_" + Guid.NewGuid().ToString("N");
        var path = Path.Combine(Path.GetTempPath(), $"local-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""{ "IsEncrypted": false, "Values": { "{{name}}_A": "local", "{{name}}_B": "local", "{{name}}_C": "local" } }""");
        Environment.SetEnvironmentVariable(name + "_B", "environment");
        Environment.SetEnvironmentVariable(name + "_C", "environment");
        try
        {
            var settings = new AppSettings(path, [new(name + "_C", "explicit")]);

            Assert.Equal("local", settings[name + "_A"]);
            Assert.Equal("environment", settings[name + "_B"]);
            Assert.Equal("explicit", settings[name + "_C"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name + "_B", null);
            Environment.SetEnvironmentVariable(name + "_C", null);
        }
    }

    [Fact]
    public void PercentExpressionsInBindingValuesResolveFromAppSettings()
    {
        var settings = new AppSettings(null, [new("Queue", "orders"), new("Env", "dev")]);

        Assert.Equal("orders-dev", settings.Resolve("%Queue%-%Env%"));
        Assert.Equal("plain", settings.Resolve("plain"));
    }

    [Fact]
    public void AnExpressionNamingAMissingSettingFailsWithItsName()
    {
        var settings = new AppSettings(null, []);

        var error = Assert.Throws<InvalidOperationException>(() => settings.Resolve("%NoSuchSetting_4711%"));
        Assert.Contains("%NoSuchSetting_4711%", error.Message, StringComparison.Ordinal);
    }
}
