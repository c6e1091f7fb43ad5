using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RunLedger.Callbacks;

namespace RunLedger.Tests.Support;

/// <summary>
/// A webhook receiver as a user would write one, on loopback: it verifies each delivery's
/// signature with the secret of its path and records it; each path answers as its test says
/// (by attempt number: a status, optionally after a delay).
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    public sealed record Delivery(string Path, string DeliveryId, string Event, string Body, bool SignatureValid, int Attempt);

    private sealed record Route(string Secret, Func<int, (int Status, TimeSpan Delay)> Respond)
    {
        public int Count;
    }

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Route> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Delivery> _deliveries = new();

    private CallbackReceiver(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<CallbackReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new CallbackReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');
        return receiver;
    }

    /// <summary>Registers a path (answering 200 unless told otherwise) and returns its URL.</summary>
    public string Url(string path, string secret, Func<int, (int Status, TimeSpan Delay)>? respond = null)
    {
        _routes[path] = new Route(secret, respond ?? (_ => (200, TimeSpan.Zero)));
        return BaseUrl + path;
    }

    public IReadOnlyList<Delivery> For(string path) => [.. _deliveries.Where(d => d.Path == path)];

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        if (!_routes.TryGetValue(path, out var route))
        {
            context.Response.StatusCode = 404;
            return;
        }
        var attempt = Interlocked.Increment(ref route.Count);
        var signature = context.Request.Headers[CallbackSender.SignatureHeader].ToString();
        _deliveries.Enqueue(new Delivery(path,
            context.Request.Headers[CallbackSender.DeliveryHeader].ToString(),
            context.Request.Headers[CallbackSender.EventHeader].ToString(),
            body,
            CallbackSignature.Verify(route.Secret, signature, body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)),
            attempt));
        var (status, delay) = route.Respond(attempt);
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        context.Response.StatusCode = status;
        await context.Response.WriteAsync($"receiver answered {status} to attempt {attempt}", context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// A ledger host for callback tests: a receiver beside it, callbacks retried within a second, at
/// most three attempts, a one-second timeout, and queues polled often.
/// </summary>
public sealed class CallbackHost : LedgerHost
{
    public CallbackReceiver Receiver { get; private set; } = null!;

    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings =>
    [
        new("RunLedger__CallbackRetryDelay", "00:00:00.300"),
        new("RunLedger__CallbackMaxRetryDelay", "00:00:00.600"),
        new("RunLedger__CallbackMaxAttempts", "3"),
        new("RunLedger__CallbackTimeout", "00:00:01"),
    ];

    protected override IEnumerable<KeyValuePair<string, string>> QueueSettings =>
        [new("maxPollingInterval", "00:00:00.200"), new("visibilityTimeout", "00:00:00.200")];

    public override async Task InitializeAsync()
    {
        Receiver = await CallbackReceiver.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}
