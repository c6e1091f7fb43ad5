using System.Reflection;
using System.Text.RegularExpressions;

namespace RunLedger.Tests.Packaging;

/// <summary>The house rules a reader relies on: where keys are built, how log events are numbered, where a type lives.</summary>
public sealed partial class HouseRulesTests
{
    private static readonly string AppRoot = Path.Combine(RepoFiles.Root, "functions", "RunLedger");

    private static IEnumerable<string> AppSources() =>
        Directory.EnumerateFiles(AppRoot, "*.cs", SearchOption.AllDirectories)
            .Where(path => Path.GetRelativePath(AppRoot, path).Split(Path.DirectorySeparatorChar) is var parts
                && parts[0] is not ("obj" or "bin"));

    /// <summary>A string that starts a row key: a lower-case word and '|', as in <c>"run|"</c> or <c>$"cost|{runId}|"</c>.</summary>
    [GeneratedRegex("""\$?"[a-z]{2,8}[|}]""")]
    private static partial Regex KeyLiteral();

    [Fact]
    public void EveryRowKeyIsBuiltInKeys()
    {
        var outside = AppSources()
            .Where(path => Path.GetRelativePath(AppRoot, path) != Path.Combine("Ledger", "Keys.cs"))
            .SelectMany(path => File.ReadLines(path).Select((line, i) => (path, line, number: i + 1)))
            .Where(l => KeyLiteral().IsMatch(l.line) && !l.line.TrimStart().StartsWith("///", StringComparison.Ordinal))
            .Select(l => $"{Path.GetRelativePath(AppRoot, l.path)}:{l.number}: {l.line.Trim()}")
            .ToList();
        Assert.True(outside.Count == 0, "Row keys built outside Ledger/Keys.cs:\n" + string.Join("\n", outside));
    }

    [Fact]
    public void TheKeyCheckRecognisesAKeyBuiltInPlace()
    {
        Assert.Matches(KeyLiteral(), """var key = $"cost|{runId}|";""");
        Assert.Matches(KeyLiteral(), """Table.FindAsync(p, "run|" + r)""");
        Assert.DoesNotMatch(KeyLiteral(), """var text = "Run ledger";""");
    }

    /// <summary>
    /// Every <c>[LoggerMessage]</c> of the app has an event id of its own, and each hundred belongs to
    /// one area (1000s HTTP, 1300s access, 2000s pipelines, 3000s–3100s progress, 6000s callbacks,
    /// 6100s–6300s lifecycle), so an id in a log names where to look.
    /// </summary>
    [Fact]
    public void LogEventIdsAreUniqueAndEachHundredBelongsToOneArea()
    {
        var events = typeof(RunLedger.Hosting.LedgerServices).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (method, attribute: method.GetCustomAttribute<Microsoft.Extensions.Logging.LoggerMessageAttribute>()))
            .Where(m => m.attribute is not null)
            .Select(m => (id: m.attribute!.EventId, name: $"{m.method.DeclaringType!.FullName}.{m.method.Name}", area: m.method.DeclaringType!.Namespace!))
            .ToList();

        Assert.True(events.Count > 10, $"Only {events.Count} log messages found: the check is not looking where they are.");
        var duplicates = events.GroupBy(e => e.id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.name))}").ToList();
        Assert.True(duplicates.Count == 0, "Event ids used twice:\n" + string.Join("\n", duplicates));
        var shared = events.GroupBy(e => e.id / 100).Where(g => g.Select(e => e.area).Distinct().Count() > 1)
            .Select(g => $"{g.Key * 100}s: {string.Join(", ", g.Select(e => $"{e.id} {e.name}"))}").ToList();
        Assert.True(shared.Count == 0, "Event id hundreds shared by areas:\n" + string.Join("\n", shared));
        Assert.DoesNotContain(events, e => e.id <= 0);
    }

    /// <summary>A type's namespace is its folder's, so the folder a reader opens is the area the compiler sees.</summary>
    [Fact]
    public void EveryFileDeclaresTheNamespaceOfItsFolder()
    {
        var wrong = new List<string>();
        foreach (var path in AppSources())
        {
            var relative = Path.GetRelativePath(AppRoot, path);
            var folder = Path.GetDirectoryName(relative)!.Replace(Path.DirectorySeparatorChar, '.');
            var expected = folder.Length == 0 ? "RunLedger" : "RunLedger." + folder;
            var declared = File.ReadLines(path).Select(l => NamespaceLine().Match(l)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
            if (declared is not null && declared != expected) wrong.Add($"{relative}: namespace {declared}, expected {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [GeneratedRegex(@"^namespace ([A-Za-z.]+)\s*[;{]?")]
    private static partial Regex NamespaceLine();
}
