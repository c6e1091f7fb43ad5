using System.Text.RegularExpressions;
using RunLedger.Ledger;
using RunLedger.Progress;

namespace RunLedger.Tests.Packaging;

/// <summary>
/// The storage names the code uses by default are the ones infra/ creates and writes into the
/// app settings, and the queue trigger listens on the queue the app reports progress on.
/// </summary>
public sealed partial class InfraNamesTests
{
    private static readonly LedgerOptions Defaults = new();

    /// <summary>What the code uses: the table, the queues, and the -poison queue the host moves failed progress to.</summary>
    public static TheoryData<string> StorageNames => new()
    {
        Defaults.TableName,
        Defaults.JobsQueue,
        Defaults.ProgressQueue,
        Defaults.ProgressQueue + "-poison",
        Defaults.CallbacksQueue,
    };

    [Theory]
    [MemberData(nameof(StorageNames))]
    public void InfraCreatesEveryStorageNameTheCodeUses(string name)
    {
        Assert.Contains($"'{name}'", RepoFiles.Read(Path.Combine("infra", "main.bicep")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RunLedger__TableName", nameof(LedgerOptions.TableName))]
    [InlineData("RunLedger__JobsQueue", nameof(LedgerOptions.JobsQueue))]
    [InlineData("RunLedger__ProgressQueue", nameof(LedgerOptions.ProgressQueue))]
    [InlineData("RunLedger__CallbacksQueue", nameof(LedgerOptions.CallbacksQueue))]
    public void InfraSetsEachNameSettingToTheCodesDefault(string setting, string property)
    {
        var bicep = RepoFiles.Read(Path.Combine("infra", "main.bicep"));
        var variables = BicepVariable().Matches(bicep).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value);
        var assignment = Assert.Single(BicepSetting().Matches(bicep), m => m.Groups["setting"].Value == setting);
        var value = assignment.Groups["literal"].Success ? assignment.Groups["literal"].Value : variables[assignment.Groups["variable"].Value];
        Assert.Equal(typeof(LedgerOptions).GetProperty(property)!.GetValue(Defaults), value);
    }

    [Fact]
    public void TheAgentProgressTriggerListensOnTheProgressQueueSettingInfraWrites()
    {
        // functions.metadata as the Worker SDK generated it for the build the tests run.
        var metadata = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Support.LedgerHost.AppDirectory, "functions.metadata")))!.AsArray();
        var agentProgress = Assert.Single(metadata, f => (string)f!["name"]! == QueueProcessor.FunctionName)!;
        var trigger = agentProgress["bindings"]!.AsArray().Single(b => (string)b!["type"]! == "queueTrigger")!;
        Assert.Equal("%RunLedger__ProgressQueue%", (string)trigger["queueName"]!);
        Assert.Equal("AzureWebJobsStorage", (string)trigger["connection"]!);
        // The agent's queue role (rbac.bicep) is scoped to the same queue.
        Assert.Matches(@"agentQueueName:\s*progressQueueName", RepoFiles.Read(Path.Combine("infra", "main.bicep")));
    }

    [GeneratedRegex(@"^\s*var\s+(?<name>\w+)\s*=\s*'(?<value>[^']*)'", RegexOptions.Multiline)]
    private static partial Regex BicepVariable();

    [GeneratedRegex(@"^\s*(?<setting>RunLedger__\w+)\s*:\s*(?:'(?<literal>[^']*)'|(?<variable>\w+))", RegexOptions.Multiline)]
    private static partial Regex BicepSetting();
}
