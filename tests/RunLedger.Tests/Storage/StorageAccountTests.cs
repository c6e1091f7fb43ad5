using Microsoft.Extensions.Configuration;
using RunLedger.Storage;

namespace RunLedger.Tests.Storage;

public sealed class StorageAccountTests
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    [Fact]
    public void UseDevelopmentStorageMeansAzuriteDefaults()
    {
        var account = StorageAccount.Parse("UseDevelopmentStorage=true");

        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), account.TableEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), account.QueueEndpoint);
        Assert.Equal("devstoreaccount1", account.AccountName);
        Assert.False(account.UsesTokenCredential);
    }

    [Fact]
    public void ExplicitEndpointsWin()
    {
        var account = StorageAccount.Parse(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};" +
            "TableEndpoint=http://127.0.0.1:5555/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:5556/devstoreaccount1;");

        Assert.Equal(new Uri("http://127.0.0.1:5555/devstoreaccount1"), account.TableEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:5556/devstoreaccount1"), account.QueueEndpoint);
    }

    [Fact]
    public void EndpointSuffixAndProtocolBuildTheServiceHosts()
    {
        var account = StorageAccount.Parse($"DefaultEndpointsProtocol=https;AccountName=ledger;AccountKey={Key};EndpointSuffix=core.chinacloudapi.cn");

        Assert.Equal(new Uri("https://ledger.table.core.chinacloudapi.cn"), account.TableEndpoint);
        Assert.Equal(new Uri("https://ledger.queue.core.chinacloudapi.cn"), account.QueueEndpoint);
        Assert.Equal("ledger", account.AccountName);
    }

    [Fact]
    public void TheDefaultSuffixIsCoreWindowsNet()
    {
        var account = StorageAccount.Parse($"AccountName=ledger;AccountKey={Key}");

        Assert.Equal(new Uri("https://ledger.table.core.windows.net"), account.TableEndpoint);
    }

    [Theory]
    [InlineData("AccountName=ledger")]
    [InlineData("AccountName=ledger;AccountKey=not base64!!")]
    [InlineData("garbage")]
    [InlineData("AccountName=ledger;SharedAccessSignature=sv=2020&sig=abc")]
    public void UnusableConnectionStringsFailWithoutEchoingThem(string connectionString)
    {
        var ex = Assert.Throws<FormatException>(() => StorageAccount.Parse(connectionString));

        Assert.DoesNotContain("not base64!!", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=abc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigurationReadsTheConnectionString()
    {
        var account = StorageAccount.FromConfiguration(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true")));

        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), account.TableEndpoint);
    }

    [Fact]
    public void IdentityBasedSettingsWithAnAccountNameUseTheAzureHostsAndATokenCredential()
    {
        var account = StorageAccount.FromConfiguration(Config(
            ("AzureWebJobsStorage:accountName", "ledger"),
            ("AzureWebJobsStorage:credential", "managedidentity"),
            ("AzureWebJobsStorage:clientId", "00000000-0000-0000-0000-000000000001")));

        Assert.Equal(new Uri("https://ledger.table.core.windows.net"), account.TableEndpoint);
        Assert.Equal(new Uri("https://ledger.queue.core.windows.net"), account.QueueEndpoint);
        Assert.Equal("ledger", account.AccountName);
        Assert.True(account.UsesTokenCredential);
        Assert.NotNull(account.CreateTableServiceClient().GetTableClient("runs"));
        Assert.NotNull(account.CreateQueueServiceClient().GetQueueClient("jobs"));
    }

    [Fact]
    public void IdentityBasedServiceUrisOverrideTheDefaults()
    {
        var account = StorageAccount.FromConfiguration(Config(
            ("Storage:tableServiceUri", "https://tables.example.net/"),
            ("Storage:queueServiceUri", "https://queues.example.net")), "Storage");

        Assert.Equal(new Uri("https://tables.example.net"), account.TableEndpoint);
        Assert.Equal(new Uri("https://queues.example.net"), account.QueueEndpoint);
        Assert.Null(account.AccountName);
        Assert.True(account.UsesTokenCredential);
    }

    [Fact]
    public void EnvironmentStyleDoubleUnderscoreSettingsAreRead()
    {
        Environment.SetEnvironmentVariable("RLTEST_ABC__accountName", "fromenv");
        try
        {
            var config = new ConfigurationBuilder().AddEnvironmentVariables("RLTEST_").Build();

            var account = StorageAccount.FromConfiguration(config, "ABC");

            Assert.Equal(new Uri("https://fromenv.table.core.windows.net"), account.TableEndpoint);
        }
        finally
        {
            Environment.SetEnvironmentVariable("RLTEST_ABC__accountName", null);
        }
    }

    [Fact]
    public void NothingConfiguredFailsWithAClearMessage()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => StorageAccount.FromConfiguration(Config()));

        Assert.Contains("AzureWebJobsStorage", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadConnectionStringInConfigurationFailsWithoutLeakingTheKey()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => StorageAccount.FromConfiguration(
            Config(("AzureWebJobsStorage", "AccountName=ledger;AccountKey=secret-but-not-base64"))));

        Assert.DoesNotContain("secret-but-not-base64", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("1abc")]
    [InlineData("has-dash")]
    [InlineData("tables")]
    public void InvalidTableNamesAreRejected(string name)
    {
        var service = StorageAccount.Parse("UseDevelopmentStorage=true").CreateTableServiceClient();

        Assert.Throws<ArgumentException>(() => service.GetTableClient(name));
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("Upper")]
    [InlineData("double--dash")]
    [InlineData("-leading")]
    [InlineData("trailing-")]
    public void InvalidQueueNamesAreRejected(string name)
    {
        var service = StorageAccount.Parse("UseDevelopmentStorage=true").CreateQueueServiceClient();

        Assert.Throws<ArgumentException>(() => service.GetQueueClient(name));
    }
}
