using System.Text.RegularExpressions;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// The documentation's cross-references work: every relative link in the repository's Markdown
/// (README.md, docs/, tools/FunctionsHost/README.md, ...) reaches a file or folder that exists,
/// and its <c>#anchor</c> a heading of that file as GitHub names it.
/// </summary>
public sealed class DocsLinksTests
{
    [Fact]
    public void EveryRelativeLinkInTheDocsReachesAFileAndAHeadingThatExist()
    {
        var files = DocLinks.MarkdownFiles(RepoFiles.Root);
        Assert.Contains("README.md", files);
        Assert.Contains("docs/api.md", files);
        Assert.Contains("tools/FunctionsHost/README.md", files);

        var broken = DocLinks.Broken(RepoFiles.Root, files);

        Assert.True(broken.Count == 0, $"{broken.Count} broken link(s):\n" + string.Join("\n", broken));
    }

    [Fact]
    public void AMissingFileOrHeadingIsReportedWithWhereTheLinkIs()
    {
        var root = Directory.CreateTempSubdirectory("doclinks-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "docs"));
            File.WriteAllText(Path.Combine(root, "README.md"), "# Run Ledger\n\n## Run it (locally)\n\nSee [the API](docs/api.md#errors).\n");
            File.WriteAllText(Path.Combine(root, "docs", "api.md"), """
                # API

                ## Errors

                ## Errors

                Fine: [run](../README.md#run-it-locally), [here](#errors-1), [top](#api), [folder](../docs/),
                [with a title](api.md "API"), [web](https://example.com/missing.md), `[code](missing.md)`.
                Broken: [gone](missing.md), [no heading](../README.md#run-it), ![picture](run.png).

                ```bash
                [not a link in a code block](missing.md)
                ```
                [outside the repository](../../elsewhere.md) and [again](#errors-2)
                """);

            var broken = DocLinks.Broken(root, DocLinks.MarkdownFiles(root));

            Assert.Equal(
            [
                "docs/api.md:9: missing.md (no such file)",
                "docs/api.md:9: ../README.md#run-it (README.md has no heading with that anchor)",
                "docs/api.md:9: run.png (no such file)",
                "docs/api.md:14: ../../elsewhere.md (outside the repository)",
                "docs/api.md:14: #errors-2 (docs/api.md has no heading with that anchor)",
            ], broken);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("Run Ledger", "run-ledger")]
    [InlineData("Walk-through (curl)", "walk-through-curl")]
    [InlineData("Queue settings (host.json)", "queue-settings-hostjson")]
    [InlineData("Development: a local Functions host (`tools/FunctionsHost`)", "development-a-local-functions-host-toolsfunctionshost")]
    [InlineData("Settings — `RunLedger__*` and the host's", "settings--runledger__-and-the-hosts")]
    [InlineData("**Keys** and [links](x.md)", "keys-and-links")]
    public void AnchorsAreNamedAsGitHubNamesThem(string heading, string anchor)
    {
        Assert.Equal(anchor, DocLinks.Slug(heading));
    }
}

/// <summary>Finds the relative links in Markdown files whose file or anchor does not exist.</summary>
public static partial class DocLinks
{
    private static readonly string[] Skipped = ["node_modules", "bin", "obj", "TestResults", "publish", ".git", ".azurite"];

    /// <summary>Every Markdown file of the repository (paths relative to <paramref name="root"/>, with '/').</summary>
    public static List<string> MarkdownFiles(string root) =>
        Directory.EnumerateFiles(root, "*.md", new EnumerationOptions { RecurseSubdirectories = true })
            .Select(path => Path.GetRelativePath(root, path).Replace('\\', '/'))
            .Where(path => !path.Split('/').Any(Skipped.Contains))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>"file:line: target (why)" for each link that leads nowhere.</summary>
    public static List<string> Broken(string root, IEnumerable<string> files)
    {
        var anchors = new Dictionary<string, HashSet<string>>();
        HashSet<string> AnchorsOf(string file) =>
            anchors.TryGetValue(file, out var known) ? known : anchors[file] = Anchors(File.ReadAllLines(Path.Combine(root, file)));

        var broken = new List<string>();
        foreach (var file in files)
        {
            foreach (var (line, target) in Links(File.ReadAllLines(Path.Combine(root, file))))
            {
                var hash = target.IndexOf('#');
                var path = Uri.UnescapeDataString(hash < 0 ? target : target[..hash]);
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var resolved = path.Length == 0 ? file
                    : path.StartsWith('/') ? path.TrimStart('/')
                    : Path.GetRelativePath(root, Path.GetFullPath(Path.Combine(root, Path.GetDirectoryName(file) ?? "", path))).Replace('\\', '/');
                string? why =
                    resolved == ".." || resolved.StartsWith("../", StringComparison.Ordinal) ? "outside the repository"
                    : !File.Exists(Path.Combine(root, resolved)) && !Directory.Exists(Path.Combine(root, resolved)) ? "no such file"
                    : anchor is null ? null
                    : resolved.EndsWith(".md", StringComparison.Ordinal) ? (AnchorsOf(resolved).Contains(anchor) ? null : $"{resolved} has no heading with that anchor")
                    : LineAnchor().IsMatch(anchor) ? null : $"{resolved} is not Markdown: only #L<line> anchors";
                if (why is not null) broken.Add($"{file}:{line}: {target} ({why})");
            }
        }
        return broken;
    }

    /// <summary>The anchor GitHub gives a heading: its text as rendered, lower case, without punctuation, spaces as '-'.</summary>
    public static string Slug(string heading)
    {
        var text = InlineCode().Replace(heading, m => m.Groups["code"].Value);
        text = MarkdownLink().Replace(text, m => m.Groups["text"].Value);
        text = HtmlTag().Replace(text, "").Replace("*", "", StringComparison.Ordinal);
        text = NotInAnchor().Replace(text.Trim().ToLowerInvariant(), "");
        return text.Replace(' ', '-');
    }

    /// <summary>The anchors of a Markdown file: its headings (a repeated one gets -1, -2, ...) and explicit id/name attributes.</summary>
    private static HashSet<string> Anchors(string[] lines)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, text) in Prose(lines))
        {
            var heading = Heading().Match(text);
            if (heading.Success)
            {
                var slug = Slug(heading.Groups["text"].Value);
                var unique = slug;
                for (var n = 1; !anchors.Add(unique); n++) unique = $"{slug}-{n}";
            }
            foreach (Match id in HtmlId().Matches(text)) anchors.Add(id.Groups["id"].Value);
        }
        return anchors;
    }

    /// <summary>The relative link targets of a Markdown file, with their line numbers (1-based).</summary>
    private static IEnumerable<(int Line, string Target)> Links(string[] lines)
    {
        foreach (var (line, text) in Prose(lines))
        {
            var prose = InlineCode().Replace(text, "");
            var targets = MarkdownLink().Matches(prose).Select(m => m.Groups["target"].Value)
                .Concat(ReferenceDefinition().Matches(prose).Select(m => m.Groups["target"].Value))
                .Concat(HtmlLink().Matches(prose).Select(m => m.Groups["target"].Value));
            foreach (var target in targets)
            {
                if (!UriScheme().IsMatch(target)) yield return (line, target);
            }
        }
    }

    /// <summary>The lines outside fenced code blocks, with their numbers.</summary>
    private static IEnumerable<(int Line, string Text)> Prose(string[] lines)
    {
        string? fence = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var opening = Fence().Match(lines[i]);
            if (fence is null && opening.Success) fence = opening.Groups["fence"].Value;
            else if (fence is not null && opening.Success && opening.Groups["fence"].Value.StartsWith(fence, StringComparison.Ordinal) && opening.Groups["info"].Value.Trim().Length == 0) fence = null;
            else if (fence is null) yield return (i + 1, lines[i]);
        }
    }

    [GeneratedRegex(@"^ {0,3}(?<fence>`{3,}|~{3,})(?<info>.*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^ {0,3}#{1,6}[ \t]+(?<text>.*?)(?:[ \t]+#+)?[ \t]*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"(?<ticks>`+)(?<code>.*?)\k<ticks>")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"!?\[(?<text>[^\]]*)\]\(\s*<?(?<target>[^)\s>]*)>?(?:\s+""[^""]*"")?\s*\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^ {0,3}\[[^\]]+\]:\s*<?(?<target>[^\s>]+)>?")]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"<(?:a|img)\s[^>]*\b(?:href|src)=""(?<target>[^""]*)""", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlLink();

    [GeneratedRegex(@"<[a-z][^>]*\b(?:id|name)=""(?<id>[^""]+)""", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlId();

    [GeneratedRegex(@"</?[a-zA-Z][^>]*>")]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex UriScheme();

    [GeneratedRegex(@"^L\d+(-L\d+)?$")]
    private static partial Regex LineAnchor();

    /// <summary>What GitHub's slugger removes: all but letters, marks, digits, connector punctuation, '-' and ' '.</summary>
    [GeneratedRegex(@"[^\p{L}\p{M}\p{N}\p{Pc}\- ]")]
    private static partial Regex NotInAnchor();
}
