using System.Collections;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FunctionsHost.Configuration;

/// <summary>
/// App settings as Core Tools see them: local.settings.json <c>Values</c>, then the environment
/// (which wins), then explicit overrides. The worker gets them all as environment variables.
/// </summary>
public sealed partial class AppSettings
{
    private readonly Dictionary<string, string> values = new(StringComparer.OrdinalIgnoreCase);

    public AppSettings(string? localSettingsPath, IEnumerable<KeyValuePair<string, string?>> overrides)
    {
        if (localSettingsPath is not null)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(localSettingsPath));
            if (document.RootElement.TryGetProperty("Values", out var local))
            {
                foreach (var property in local.EnumerateObject())
                {
                    values[property.Name] = property.Value.ValueKind == JsonValueKind.String
                        ? property.Value.GetString()!
                        : property.Value.GetRawText();
                }
            }
        }
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            values[(string)entry.Key] = (string?)entry.Value ?? "";
        }
        foreach (var (key, value) in overrides)
        {
            if (value is null) values.Remove(key);
            else values[key] = value;
        }
    }

    /// <summary>Every setting, for the worker's environment.</summary>
    public IReadOnlyDictionary<string, string> All => values;

    public string? this[string key] => values.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    /// <summary>
    /// <c>AZURE_FUNCTIONS_ENVIRONMENT</c>: Azure's host runs as <c>Production</c> unless it is set (Core Tools
    /// set <c>Development</c>; local.settings.sample.json does too), and so does this host.
    /// </summary>
    public string EnvironmentName => this["AZURE_FUNCTIONS_ENVIRONMENT"] ?? "Production";

    public bool IsDevelopment => string.Equals(EnvironmentName, "Development", StringComparison.OrdinalIgnoreCase);

    /// <summary>The largest request body: <c>FUNCTIONS_REQUEST_BODY_SIZE_LIMIT</c> bytes, else Azure's 100 MB (104,857,600).</summary>
    public long MaxRequestBodySize =>
        long.TryParse(this["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) && limit > 0
            ? limit
            : 104_857_600;

    /// <summary>Replaces each <c>%Name%</c> with the setting's value, as the host does for binding values.</summary>
    public string Resolve(string text) =>
        SettingExpression().Replace(text, match =>
            this[match.Groups[1].Value]
            ?? throw new InvalidOperationException($"Binding expression '{match.Value}' names an app setting that is not set."));

    [GeneratedRegex("%([^%]+)%")]
    private static partial Regex SettingExpression();
}
