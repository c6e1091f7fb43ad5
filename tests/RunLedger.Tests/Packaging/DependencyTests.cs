using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// The app's folders depend on each other in one direction: plumbing never on a feature, a feature
/// never on a feature above it, nothing on the composition root. A feature's <c>*Functions</c>
/// classes are its surface (triggers and routes): they may use any feature, and no code but the
/// composition root uses them. The app's sources are compiled
/// here (Roslyn) and every name in them resolved, so a dependency is what the compiler binds, not
/// what a text search guesses. A folder is an area; its namespace is <c>RunLedger.{Area}</c>.
/// </summary>
public sealed class DependencyTests
{
    /// <summary>
    /// Lowest first. An area may use areas of its own layer's earlier entries and of lower layers.
    /// </summary>
    private static readonly string[][] Layers =
    [
        // Plumbing: storage and queue clients, keys, JSON columns; HTTP problems and input; meters and log scopes.
        ["Ledger", "Http", "Telemetry"],
        // Features, each using only those before it.
        ["Runs", "Access", "Costs", "Callbacks", "Lifecycle", "Budgets", "Dashboard", "Progress", "Projects", "Billing", "Pipelines"],
        // The composition root: registrations, the OpenAPI document, the worker's entry point.
        ["Hosting", ""],
    ];

    /// <summary>
    /// Dependencies allowed to point back up, each with the reason; none today. A new one fails the
    /// test, and so does one listed here that is gone.
    /// </summary>
    private static readonly HashSet<string> Known = [];

    [Fact]
    public void NoAreaUsesAnAreaAboveIt()
    {
        var edges = Edges();
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var report = new List<string>();
        foreach (var ((from, to), example) in edges.OrderBy(e => e.Key.From).ThenBy(e => e.Key.To))
        {
            if (Allowed(from, to)) continue;
            var name = $"{Show(from)} -> {Show(to)}";
            found.Add(name);
            if (!Known.Contains(name)) report.Add($"{name}: {example}");
        }
        var gone = Known.Except(found).ToList();
        Assert.True(report.Count == 0 && gone.Count == 0,
            (report.Count > 0 ? "Dependencies that point back up (move the shared part down):\n  " + string.Join("\n  ", report) + "\n" : "")
            + (gone.Count > 0 ? "Listed as known but gone (take them off the list): " + string.Join(", ", gone) : ""));
    }

    [Fact]
    public void EveryAreaHasAPlaceInTheLayers()
    {
        var areas = Edges().Keys.SelectMany(e => new[] { e.From, e.To }).Distinct().Where(a => a != Surface);
        Assert.DoesNotContain(areas, a => Rank(a) is null);
    }

    [Fact]
    public void ACheckOfThisKindFindsADependencyThatPointsUp()
    {
        // The ranks themselves: plumbing below features, features below the root.
        Assert.False(Allowed("Ledger", "Runs"));
        Assert.False(Allowed("Http", "Hosting"));
        Assert.False(Allowed("Runs", "Pipelines"));
        Assert.True(Allowed("Pipelines", "Runs"));
        Assert.True(Allowed("Runs", "Ledger"));
        Assert.True(Allowed("Hosting", "Progress"));
        Assert.True(Allowed(Surface, "Pipelines"));
        Assert.False(Allowed("Runs", Surface));
        Assert.False(Allowed(Surface, "Hosting"));
    }

    private static string Show(string area) => area.Length == 0 ? "(root)" : area;

    private static (int Layer, int Index)? Rank(string area)
    {
        for (var layer = 0; layer < Layers.Length; layer++)
        {
            var index = Array.IndexOf(Layers[layer], area);
            if (index >= 0) return (layer, index);
        }
        return null;
    }

    /// <summary>The area of the <c>*Functions</c> classes, every feature's: above the features, below the root.</summary>
    private const string Surface = "(functions)";

    private static bool Allowed(string from, string to)
    {
        if (from == to) return true;
        if (to == Surface) return from is "Hosting" or "";
        if (from == Surface) return to != "Hosting";
        if (Rank(from) is not { } a || Rank(to) is not { } b) return false;
        // Within plumbing and within the root, any order; features stack.
        return b.Layer < a.Layer || (b.Layer == a.Layer && (a.Layer != 1 || b.Index < a.Index));
    }

    private static Dictionary<(string From, string To), string> Edges()
    {
        var root = Path.Combine(RepoFiles.Root, "functions", "RunLedger");
        var sources = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        var trees = sources.Select(path => CSharpSyntaxTree.ParseText(File.ReadAllText(path), path: path)).ToList();
        trees.Add(CSharpSyntaxTree.ParseText(string.Join("\n", GlobalUsings.Select(u => $"global using {u};"))));
        var compilation = CSharpCompilation.Create("RunLedger.Dependencies", trees, References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));

        var edges = new Dictionary<(string, string), string>();
        foreach (var tree in trees.Where(t => t.FilePath.Length > 0))
        {
            var from = AreaOfFile(root, tree.FilePath);
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var info = model.GetSymbolInfo(node);
                var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
                if (symbol is null || AreaOf(symbol) is not { } to || to == from) continue;
                var line = tree.GetLineSpan(node.Span).StartLinePosition.Line + 1;
                edges.TryAdd((from, to), $"{Path.GetRelativePath(root, tree.FilePath)}:{line} uses {symbol.ToDisplayString()}");
            }
        }
        return edges;
    }

    /// <summary>The app's implicit usings (its project file's <c>Using</c> items and the SDK's).</summary>
    private static readonly string[] GlobalUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks",
        "Microsoft.AspNetCore.Http", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    private static IEnumerable<MetadataReference> References()
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var local = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll")
            .Where(path => !Path.GetFileName(path).StartsWith("RunLedger", StringComparison.Ordinal));
        return platform.Concat(local)
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase).Select(g => g.First())
            .Select(path => MetadataReference.CreateFromFile(path));
    }

    private static string AreaOfFile(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path).Split(Path.DirectorySeparatorChar);
        // The root's own functions (health, the OpenAPI document) are the root's.
        if (path.EndsWith("Functions.cs", StringComparison.Ordinal) && relative[0] != "Hosting") return Surface;
        return relative.Length == 1 ? "" : relative[0];
    }

    private static string? AreaOf(ISymbol symbol)
    {
        var type = symbol as INamedTypeSymbol ?? symbol.ContainingType;
        var ns = (type?.ContainingNamespace ?? symbol.ContainingNamespace)?.ToDisplayString();
        if (ns is null || !(ns == "RunLedger" || ns.StartsWith("RunLedger.", StringComparison.Ordinal))) return null;
        if (symbol is INamespaceSymbol) return null;
        if (!symbol.Locations.Any(l => l.IsInSource)) return null;
        if ((symbol as INamedTypeSymbol ?? symbol.ContainingType)?.Locations.Any(l => l.SourceTree?.FilePath is { } file
                && file.EndsWith("Functions.cs", StringComparison.Ordinal) && !file.Contains($"{Path.DirectorySeparatorChar}Hosting{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) == true)
        {
            return Surface;
        }
        var parts = ns.Split('.');
        return parts.Length == 1 ? "" : parts[1];
    }
}
