using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RunLedger.Http;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Storage;

/// <summary>
/// What a storage failure becomes for an HTTP caller: busy or unreachable is a 503 to retry,
/// anything else a 500 without internals. The failure is real (the SDK's pipeline, its retries);
/// the mapping is the one <see cref="ProblemMiddleware"/> applies to every HTTP function.
/// </summary>
public sealed class StorageErrorTests : ComponentTest
{
    private readonly FailRequests _faults = new();

    public StorageErrorTests()
    {
        App.ConfigureServices = services => services.AddAzureClients(clients => clients.ConfigureDefaults(options =>
        {
            // Keep the SDK's retries but make them quick, so an outage test takes milliseconds.
            options.Retry.Delay = TimeSpan.FromMilliseconds(1);
            options.Retry.MaxDelay = TimeSpan.FromMilliseconds(5);
            options.AddPolicy(_faults, HttpPipelinePosition.PerRetry);
        }));
    }

    public override Task DisposeAsync()
    {
        _faults.Fail = null; // storage is reachable again for the clean-up
        return base.DisposeAsync();
    }

    private async Task<(Microsoft.AspNetCore.Mvc.ProblemDetails Problem, HttpResponse Response)> GetRunFailsAsync()
    {
        var request = LedgerComponents.Request();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => App.Functions<RunsFunctions>().GetRun(request, "p1", "RUN_1", default));
        _faults.Fail = null;
        return (ProblemMiddleware.ToProblem(e, request.HttpContext.Response, NullLogger.Instance), request.HttpContext.Response);
    }

    [Theory]
    [InlineData(429, "TooManyRequests")]
    [InlineData(503, "ServerBusy")]
    public async Task ThrottledOrBusyStorageIs503WithRetryAfter(int status, string code)
    {
        _ = App.Storage; // storage created before the faults start
        _faults.Fail = () => throw new RequestFailedException(status, "busy", code, null);

        var (problem, response) = await GetRunFailsAsync();

        Assert.Equal(503, problem.Status);
        Assert.Contains("retry", problem.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("5", response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task UnreachableStorageAfterTheSdksRetriesIs503WithRetryAfter()
    {
        _ = App.Storage;
        // What the SDK's HTTP transport throws when a connection is refused.
        _faults.Fail = () => throw new RequestFailedException("Connection refused (injected).", new HttpRequestException("Connection refused"));

        var (problem, response) = await GetRunFailsAsync();

        Assert.Equal(503, problem.Status);
        Assert.Equal("5", response.Headers.RetryAfter.ToString());
        Assert.True(_faults.Calls > 1, "the SDK retried before giving up");
    }

    [Fact]
    public async Task AConnectionResetThatTheSdkDoesNotRetryIs503WithRetryAfter()
    {
        _ = App.Storage;
        // Seen through a proxy that resets connections: the first try fails as a transport error (retried),
        // the next connection is reset before HttpClient reads its remote end point, and HttpClient lets the
        // bare SocketException out, which the SDK does not retry.
        _faults.Fail = () => throw (_faults.Calls == 1
            ? new RequestFailedException("Connection reset by peer (injected).", new HttpRequestException("reset", new IOException("reset")))
            : new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.NotConnected));

        var (problem, response) = await GetRunFailsAsync();

        Assert.Equal(503, problem.Status);
        Assert.Equal("5", response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task ASocketFailureOnTheFirstTryIs503WithRetryAfter()
    {
        _ = App.Storage;
        _faults.Fail = () => throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset);

        var (problem, response) = await GetRunFailsAsync();

        Assert.Equal(503, problem.Status);
        Assert.Equal("5", response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task AQueueReportThatMeetsASocketFailureIsLeftForARetryWithItsReason()
    {
        _ = App.Storage;
        _faults.Fail = () => throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset);

        var retryBecause = await App.Get<RunLedger.Progress.QueueProcessor>().ProcessAsync(
            """{"projectId":"p1","runId":"RUN_1","agent":"voice"}""", "m1", DateTimeOffset.UtcNow, 1, default);
        _faults.Fail = null;

        Assert.StartsWith("Storage failed", retryBecause, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnexpectedStorageRefusalIs500WithoutItsInternals()
    {
        _ = App.Storage;
        _faults.Fail = () => throw new RequestFailedException(403, "Server failed to authenticate the request.", "AuthorizationFailure", null);

        var (problem, response) = await GetRunFailsAsync();

        Assert.Equal(500, problem.Status);
        Assert.DoesNotContain("AuthorizationFailure", problem.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("authenticate", problem.Detail, StringComparison.Ordinal);
        Assert.False(response.Headers.ContainsKey("Retry-After"));
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
