using System.Globalization;
using System.Text;
using RunLedger.Tests.Support;
using Xunit.Abstractions;

namespace RunLedger.Tests.Reliability;

/// <summary>
/// The figures a reliability test reports: printed to the test output as they come, and written
/// to <c>TestResults/reliability-{name}.txt</c> at the repository root (where <c>./test.sh</c>
/// keeps its log) so a run's numbers can be read afterwards, even when the test passed.
/// </summary>
public sealed class Figures(string name, ITestOutputHelper output)
{
    private readonly StringBuilder _text = new();

    public string Path { get; } = System.IO.Path.Combine(Azurite.RepoRoot(), "TestResults", $"reliability-{name}.txt");

    public void Line(string line)
    {
        var stamped = $"{DateTime.UtcNow:HH:mm:ss} {line}";
        lock (_text) _text.AppendLine(stamped);
        try
        {
            output.WriteLine(stamped);
        }
        catch (InvalidOperationException)
        {
            // No test is running any more (a background task logged late); the file still gets it.
        }
    }

    public void Counts(string title, IEnumerable<KeyValuePair<string, long>> counts) =>
        Line($"{title}: " + string.Join(", ", counts.Select(c => $"{c.Key} {c.Value.ToString(CultureInfo.InvariantCulture)}")));

    public void Counts(string title, IEnumerable<KeyValuePair<string, int>> counts) =>
        Counts(title, counts.Select(c => new KeyValuePair<string, long>(c.Key, c.Value)));

    /// <summary>Writes what was reported so far (call in a finally, so a failing run leaves its figures too).</summary>
    public void Save()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        lock (_text) File.WriteAllText(Path, _text.ToString());
    }
}
