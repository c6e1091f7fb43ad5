using System.Text.Json.Nodes;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Packaging;

/// <summary>Files of the repository that describe the deployment.</summary>
public static class RepoFiles
{
    public static string Root => Azurite.RepoRoot();

    public static string FullPath(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(FullPath(relative));

    public static JsonObject Json(string relative) => JsonNode.Parse(Read(relative))!.AsObject();

    /// <summary>Every Bicep and JSON file under infra/, concatenated, each preceded by its path.</summary>
    public static string InfraText() => string.Concat(
        Directory.EnumerateFiles(FullPath("infra"), "*", SearchOption.AllDirectories)
            .Where(path => path.EndsWith(".bicep", StringComparison.Ordinal) || path.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(path => $"\n// ---- {Path.GetRelativePath(Root, path)}\n{File.ReadAllText(path)}"));
}
