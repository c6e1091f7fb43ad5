using FunctionsHost.Http;
using System.Net.Http.Json;
using System.Text;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Testing;

/// <summary>
/// Runs a Functions app under this host for tests, on a free port: an <see cref="HttpClient"/>
/// for its HTTP functions, queue helpers, the admin API and the captured logs. Start it once per
/// test collection; <see cref="StopAsync"/> ends only the worker this harness started.
/// No test framework dependency, so any test project can wrap it in its own fixture.
/// </summary>
public sealed class FunctionsHostHarness : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly LogCapture logs;

    private FunctionsHostHarness(FunctionsHostApp host, LogCapture logs)
    {
        Host = host;
        this.logs = logs;
        Client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(100) };
    }

    public FunctionsHostApp Host { get; }

    /// <summary>A client whose base address is the host (e.g. <c>GetAsync("api/ping")</c>).</summary>
    public HttpClient Client { get; }

    public Uri BaseAddress => Host.BaseAddress;

    /// <summary>Every log line so far, the worker's function logs included.</summary>
    public IReadOnlyList<CapturedLog> Logs => logs.Snapshot();

    /// <summary>
    /// Starts host and worker on a free port (<see cref="FunctionsHostOptions.Port"/> is ignored)
    /// and returns once every function is loaded and the queue listeners run.
    /// </summary>
    public static async Task<FunctionsHostHarness> StartAsync(
        FunctionsHostOptions options, bool writeLogsToConsole = false, CancellationToken cancellationToken = default)
    {
        var logs = new LogCapture();
        var host = FunctionsHostApp.Create(options with
        {
            Port = 0,
            ConfigureLogging = logging =>
            {
                if (!writeLogsToConsole) logging.ClearProviders();
                logging.AddProvider(logs);
                options.ConfigureLogging?.Invoke(logging);
            },
        });
        try
        {
            await host.StartAsync(cancellationToken);
            await host.WaitForWorkerAsync(cancellationToken).WaitAsync(options.WorkerStartTimeout, cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return new FunctionsHostHarness(host, logs);
    }

    /// <summary>A queue on the storage named by an app setting (connection string or identity-based).</summary>
    public QueueClient Queue(string queueName, string connection = "AzureWebJobsStorage") => Host.Queues.GetQueue(connection, queueName);

    /// <summary>Sends a message as producers do: base64 unless host.json says <c>messageEncoding: none</c>.</summary>
    public Task<SendReceipt> SendQueueMessageAsync(string queueName, string text, string connection = "AzureWebJobsStorage") =>
        SendRawQueueMessageAsync(queueName, Host.HostJson.Queues.Base64 ? Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) : text, connection);

    /// <summary>Sends the text exactly as given (e.g. a message that is not valid base64).</summary>
    public async Task<SendReceipt> SendRawQueueMessageAsync(string queueName, string raw, string connection = "AzureWebJobsStorage")
    {
        var queue = Queue(queueName, connection);
        await queue.CreateIfNotExistsAsync();
        return (await queue.SendMessageAsync(raw)).Value;
    }

    /// <summary>Waits until the queue holds no message (visible or hidden) and none is being handled.</summary>
    public async Task WaitForQueueDrainedAsync(string queueName, TimeSpan? timeout = null, string connection = "AzureWebJobsStorage")
    {
        var queue = Queue(queueName, connection);
        var listeners = await Host.Triggers.QueueListeners;
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var waiting = (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            var handling = listeners.Where(l => l.QueueName == queueName).Sum(l => l.InFlight);
            if (waiting == 0 && handling == 0)
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Queue {queueName} still holds {waiting} messages ({handling} being handled).");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Runs a non-HTTP function once through the admin API (<c>POST /admin/functions/{name}</c>, 202).</summary>
    public async Task RunFunctionAsync(string name, string input = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"admin/functions/{Uri.EscapeDataString(name)}") { Content = JsonContent.Create(new { input }) };
        // The admin API needs the host's key wherever keys are enforced (always, outside Development).
        if (Host.Settings[FunctionKeys.Setting]?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() is { } key)
        {
            request.Headers.Add("x-functions-key", key);
        }
        using var response = await Client.SendAsync(request);
        if (response.StatusCode != System.Net.HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"Running {name} was answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Waits for the first log line (already written or to come) that matches.</summary>
    public async Task<CapturedLog> WaitForLogAsync(Func<CapturedLog, bool> match, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            if (Logs.FirstOrDefault(match) is { } found)
            {
                return found;
            }
            try
            {
                await Task.Delay(20, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("No matching log line within the timeout.");
            }
        }
    }

    /// <summary>Waits for a log line containing the text.</summary>
    public Task<CapturedLog> WaitForLogAsync(string contains, TimeSpan? timeout = null) =>
        WaitForLogAsync(l => l.Message.Contains(contains, StringComparison.Ordinal), timeout);

    /// <summary>Kills the worker process (not the host): the host restarts it.</summary>
    public void KillWorker() => Host.Supervisor.Process?.Kill(entireProcessTree: true);

    /// <summary>Waits until a (re)started worker has loaded its functions.</summary>
    public Task WaitForWorkerAsync(TimeSpan? timeout = null) =>
        Host.Supervisor.WaitReadyAsync(CancellationToken.None).WaitAsync(timeout ?? DefaultTimeout);

    /// <summary>Stops the listeners and this harness's worker.</summary>
    public Task StopAsync() => Host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}
