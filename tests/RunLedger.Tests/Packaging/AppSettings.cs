using System.Reflection;
using System.Text.RegularExpressions;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// Every setting the app reads, in app-setting form (<c>RunLedger__TableName</c>), found two ways:
/// <list type="number">
/// <item>options classes: every type in the app with a <c>const string Section</c> contributes
/// <c>{Section}__{Property}</c> for each settable property (nested classes recurse);</item>
/// <item>a scan of functions/RunLedger/**/*.cs for literal keys passed to <c>Configuration[...]</c>,
/// <c>GetValue(...)</c>, <c>GetSection(...)</c>, <c>GetConnectionString(...)</c> and
/// <c>Environment.GetEnvironmentVariable(...)</c>, with <c>{SomeOptions.Section}</c> resolved;</item>
/// <item>identity-based storage settings: StorageConnection reads <c>{name}__{key}</c> for every
/// <c>section["key"]</c> it uses, <c>name</c> being its default connection name.</item>
/// </list>
/// </summary>
public static partial class AppSettings
{
    /// <summary>Set by the Functions host or ASP.NET Core, never by us.</summary>
    public static readonly IReadOnlySet<string> ProvidedByThePlatform = new HashSet<string>(StringComparer.Ordinal);

    public static readonly Assembly App = typeof(RunLedger.Ledger.LedgerOptions).Assembly;

    public static string SourceRoot => RepoFiles.FullPath(Path.Combine("functions", "RunLedger"));

    public static IReadOnlyDictionary<string, string> Discover()
    {
        // setting -> where it was found
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (setting, origin) in FromOptionsClasses().Concat(FromSource()))
        {
            if (!ProvidedByThePlatform.Contains(setting)) found.TryAdd(setting, origin);
        }
        return found;
    }

    public static string ToAppSetting(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    private static IEnumerable<(string, string)> FromOptionsClasses()
    {
        foreach (var type in App.GetTypes())
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field
                && field.GetRawConstantValue() is string section)
            {
                foreach (var setting in Properties(type, ToAppSetting(section), depth: 0))
                {
                    yield return (setting, $"{type.Name} (options)");
                }
            }
        }
    }

    private static IEnumerable<string> Properties(Type type, string prefix, int depth)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = $"{prefix}__{property.Name}";
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var isLeaf = propertyType.IsPrimitive || propertyType.IsEnum || propertyType == typeof(string)
                || propertyType == typeof(decimal) || propertyType == typeof(TimeSpan) || propertyType == typeof(Uri)
                || propertyType == typeof(DateTimeOffset) || propertyType == typeof(DateTime)
                || typeof(System.Collections.IEnumerable).IsAssignableFrom(propertyType);
            if (isLeaf || depth > 4)
            {
                yield return name;
            }
            else
            {
                foreach (var nested in Properties(propertyType, name, depth + 1)) yield return nested;
            }
        }
    }

    private static IEnumerable<(string, string)> FromSource()
    {
        var sections = App.GetTypes()
            .Select(t => (t.Name, Field: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
            .Where(t => t.Field is { IsLiteral: true })
            .ToDictionary(t => t.Name, t => (string)t.Field!.GetRawConstantValue()!);

        foreach (var file in SourceFiles())
        {
            var text = File.ReadAllText(file);
            var origin = Path.GetRelativePath(RepoFiles.Root, file);
            foreach (Match match in SettingRead().Matches(text))
            {
                var key = SectionReference().Replace(match.Groups["key"].Value, m =>
                    sections.TryGetValue(m.Groups["type"].Value, out var section) ? section : m.Value);
                if (match.Groups["kind"].Value == "GetConnectionString") key = "ConnectionStrings:" + key;
                yield return (ToAppSetting(key), origin);
            }

            // Identity-based connections: FromConfiguration(config, string name = "X") reads X and X:key.
            if (ConnectionName().Match(text) is { Success: true } connection)
            {
                var name = connection.Groups["name"].Value;
                yield return (name, origin);
                foreach (Match key in SectionKey().Matches(text))
                {
                    yield return ($"{name}__{key.Groups["key"].Value}", origin);
                }
            }
        }
    }

    public static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(SourceRoot, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    [GeneratedRegex("""(?:\b(?<kind>GetEnvironmentVariable|GetValue|GetSection|GetConnectionString)(?:<[^>()]*>)?\(\s*\$?"(?<key>[^"]+)"|[Cc]onfiguration\s*\[\s*\$?"(?<key>[^"]+)"\s*\])""")]
    private static partial Regex SettingRead();

    [GeneratedRegex(@"\{(?<type>\w+)\.Section\}")]
    private static partial Regex SectionReference();

    [GeneratedRegex("""FromConfiguration\([^)]*string\s+name\s*=\s*"(?<name>\w+)"\)""")]
    private static partial Regex ConnectionName();

    [GeneratedRegex("""section\["(?<key>\w+)"\]""")]
    private static partial Regex SectionKey();
}
