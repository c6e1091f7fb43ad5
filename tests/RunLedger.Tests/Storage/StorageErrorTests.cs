using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>Storage failures reach HTTP callers as problem+json: busy or unreachable is a 503 to retry, anything else a 500 without internals.</summary>
public sealed class StorageErrorTests : LedgerTest
{
    private readonly FailRequests _faults = new();

    public StorageErrorTests()
    {
        App.With("RunLedger:ListenToQueue", "false");
        App.ConfigureServicesHook = services => services.AddAzureClients(clients => clients.ConfigureDefaults(options =>
        {
            // Keep the SDK's retries but make them quick, so an outage test takes milliseconds.
            options.Retry.Delay = TimeSpan.FromMilliseconds(1);
            options.Retry.MaxDelay = TimeSpan.FromMilliseconds(5);
            options.AddPolicy(_faults, HttpPipelinePosition.PerRetry);
        }));
    }

    [Theory]
    [InlineData(429, "TooManyRequests")]
    [InlineData(503, "ServerBusy")]
    public async Task ThrottledOrBusyStorageIs503WithRetryAfter(int status, string code)
    {
        await Client.GetAsync("/api/health");
        _faults.Fail = () => throw new RequestFailedException(status, "busy", code, null);

        var response = await Client.GetAsync("/api/projects/p1/runs/RUN_1");

        var detail = await response.AssertProblemAsync(503);
        Assert.Contains("retry", detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task UnreachableStorageAfterTheSdksRetriesIs503WithRetryAfter()
    {
        await Client.GetAsync("/api/health");
        // What the SDK's HTTP transport throws when a connection is refused.
        _faults.Fail = () => throw new RequestFailedException("Connection refused (injected).", new HttpRequestException("Connection refused"));

        var response = await Client.GetAsync("/api/projects/p1/runs?limit=5");

        await response.AssertProblemAsync(503);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.True(_faults.Calls > 1, "the SDK retried before giving up");
    }

    [Fact]
    public async Task AnUnexpectedStorageRefusalIs500WithoutItsInternals()
    {
        await Client.GetAsync("/api/health");
        _faults.Fail = () => throw new RequestFailedException(403, "Server failed to authenticate the request.", "AuthorizationFailure", null);

        var response = await Client.GetAsync("/api/projects/p1/runs/RUN_1");

        var detail = await response.AssertProblemAsync(500);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("AuthorizationFailure", body, StringComparison.Ordinal);
        Assert.DoesNotContain("authenticate", body, StringComparison.Ordinal);
        Assert.NotEmpty(detail);
        Assert.Null(response.Headers.RetryAfter);
    }

    private sealed class FailRequests : HttpPipelineSynchronousPolicy
    {
        private int _calls;

        public Action? Fail { get; set; }

        public int Calls => Volatile.Read(ref _calls);

        public override void OnSendingRequest(HttpMessage message)
        {
            if (Fail is { } fail)
            {
                Interlocked.Increment(ref _calls);
                fail();
            }
        }
    }
}
