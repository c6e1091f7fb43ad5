using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using RunLedger.Ledger;

namespace RunLedger.Tests.Storage;

/// <summary>Both forms of the <c>AzureWebJobsStorage</c> settings, read as the Functions host reads them.</summary>
public sealed class StorageConnectionTests
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    private static (TableServiceClient Tables, QueueServiceClient Queues) Clients(StorageConnection connection) =>
        (connection.CreateTableServiceClient(new TableClientOptions()), connection.CreateQueueServiceClient(new QueueClientOptions()));

    [Fact]
    public void UseDevelopmentStorageMeansAzuriteDefaults()
    {
        var (tables, queues) = Clients(StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"))));

        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), tables.Uri);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), queues.Uri);
        Assert.Equal("devstoreaccount1", tables.AccountName);
    }

    [Fact]
    public void AConnectionStringWithExplicitEndpointsUsesThem()
    {
        var connection = StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage",
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};" +
            "TableEndpoint=http://127.0.0.1:5555/devstoreaccount1;QueueEndpoint=http://127.0.0.1:5556/devstoreaccount1;")));
        var (tables, queues) = Clients(connection);

        Assert.Null(connection.Credential);
        Assert.Equal(5555, tables.Uri.Port);
        Assert.Equal(5556, queues.Uri.Port);
    }

    [Fact]
    public void AnAccountKeyConnectionStringBuildsTheServiceHostsFromTheSuffix()
    {
        var (tables, queues) = Clients(StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage",
            $"DefaultEndpointsProtocol=https;AccountName=ledger;AccountKey={Key};EndpointSuffix=core.chinacloudapi.cn"))));

        Assert.Equal("ledger.table.core.chinacloudapi.cn", tables.Uri.Host);
        Assert.Equal("ledger.queue.core.chinacloudapi.cn", queues.Uri.Host);
    }

    [Fact]
    public void IdentityBasedSettingsWithAnAccountNameUseTheAzureHostsAndAManagedIdentity()
    {
        var connection = StorageConnection.FromConfiguration(Config(
            ("AzureWebJobsStorage:accountName", "ledger"),
            ("AzureWebJobsStorage:credential", "managedidentity"),
            ("AzureWebJobsStorage:clientId", "00000000-0000-0000-0000-000000000001")));
        var (tables, queues) = Clients(connection);

        Assert.Null(connection.ConnectionString);
        Assert.IsType<ManagedIdentityCredential>(connection.Credential);
        Assert.Equal(new Uri("https://ledger.table.core.windows.net"), tables.Uri);
        Assert.Equal(new Uri("https://ledger.queue.core.windows.net"), queues.Uri);
    }

    [Fact]
    public void IdentityBasedServiceUrisOverrideTheAccountNameAndWithoutCredentialUseTheDefaultChain()
    {
        var connection = StorageConnection.FromConfiguration(Config(
            ("Storage:accountName", "ignored"),
            ("Storage:tableServiceUri", "https://tables.example.net/"),
            ("Storage:queueServiceUri", "https://queues.example.net")), "Storage");

        Assert.Equal(new Uri("https://tables.example.net"), connection.TableServiceUri);
        Assert.Equal(new Uri("https://queues.example.net"), connection.QueueServiceUri);
        Assert.IsType<DefaultAzureCredential>(connection.Credential);
    }

    [Fact]
    public void EnvironmentStyleDoubleUnderscoreSettingsAreRead()
    {
        Environment.SetEnvironmentVariable("RLTEST_ABC__tableServiceUri", "https://t.example.net");
        Environment.SetEnvironmentVariable("RLTEST_ABC__queueServiceUri", "https://q.example.net");
        try
        {
            var config = new ConfigurationBuilder().AddEnvironmentVariables("RLTEST_").Build();

            var connection = StorageConnection.FromConfiguration(config, "ABC");

            Assert.Equal(new Uri("https://t.example.net"), connection.TableServiceUri);
            Assert.Equal(new Uri("https://q.example.net"), connection.QueueServiceUri);
        }
        finally
        {
            Environment.SetEnvironmentVariable("RLTEST_ABC__tableServiceUri", null);
            Environment.SetEnvironmentVariable("RLTEST_ABC__queueServiceUri", null);
        }
    }

    [Fact]
    public void OnlyOneServiceUriIsNotEnough()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage:tableServiceUri", "https://t.example.net"))));

        Assert.Contains("AzureWebJobsStorage__queueServiceUri", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARelativeServiceUriIsRefusedNamingTheSetting()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => StorageConnection.FromConfiguration(Config(
            ("AzureWebJobsStorage:tableServiceUri", "tables.example.net"),
            ("AzureWebJobsStorage:queueServiceUri", "https://q.example.net"))));

        Assert.Contains("AzureWebJobsStorage__tableServiceUri", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NothingConfiguredFailsWithAClearMessage()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => StorageConnection.FromConfiguration(Config()));

        Assert.Contains("AzureWebJobsStorage", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AccountName=ledger;AccountKey=secret-but-not-base64")]
    [InlineData("AccountName=ledger")]
    [InlineData("garbage-with-secret-but-not-base64")]
    public void AnUnusableConnectionStringFailsWithoutEchoingIt(string connectionString)
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            StorageConnection.FromConfiguration(Config(("AzureWebJobsStorage", connectionString))));

        Assert.Contains("AzureWebJobsStorage", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.InnerException);
    }

    [Theory]
    [InlineData("ab", "q-jobs", "q-progress")]
    [InlineData("1abc", "q-jobs", "q-progress")]
    [InlineData("has-dash", "q-jobs", "q-progress")]
    [InlineData("tables", "q-jobs", "q-progress")]
    [InlineData("runs", "Upper", "q-progress")]
    [InlineData("runs", "q-jobs", "double--dash")]
    [InlineData("runs", "-leading", "q-progress")]
    [InlineData("runs", "q-jobs", "trailing-")]
    [InlineData("runs\n", "q-jobs", "q-progress")]
    public void InvalidTableOrQueueNamesAreRefusedAtStartUp(string table, string jobs, string progress)
    {
        var problem = LedgerOptions.Problem(new LedgerOptions { TableName = table, JobsQueue = jobs, ProgressQueue = progress });

        Assert.NotNull(problem);
        Assert.Contains("is not a valid", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDefaultNamesAreValid() => Assert.Null(LedgerOptions.Problem(new LedgerOptions()));
}
