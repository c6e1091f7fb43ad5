using System.Net;
using System.Net.Sockets;
using FunctionsHost.Admin;
using FunctionsHost.Configuration;
using FunctionsHost.Functions;
using FunctionsHost.Http;
using FunctionsHost.Queues;
using FunctionsHost.Triggers;
using FunctionsHost.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace FunctionsHost;

/// <summary>
/// The host: one Kestrel server with the public HTTP port (HTTP triggers, admin API) and a
/// loopback HTTP/2 port for the worker's gRPC stream, plus the worker supervisor and the
/// queue and timer listeners.
/// </summary>
public sealed class FunctionsHostApp : IAsyncDisposable
{
    private readonly WebApplication app;

    private FunctionsHostApp(WebApplication app, HostEndpoints endpoints)
    {
        this.app = app;
        Endpoints = endpoints;
    }

    public HostEndpoints Endpoints { get; }

    public Uri BaseAddress => Endpoints.BaseAddress;

    public AppSettings Settings => app.Services.GetRequiredService<AppSettings>();

    public WorkerSupervisor Supervisor => app.Services.GetRequiredService<WorkerSupervisor>();

    public TriggerListeners Triggers => app.Services.GetRequiredService<TriggerListeners>();

    public QueueServiceFactory Queues => app.Services.GetRequiredService<QueueServiceFactory>();

    public HostJson HostJson => app.Services.GetRequiredService<HostJson>();

    public static FunctionsHostApp Create(FunctionsHostOptions options)
    {
        var appDirectory = Path.GetFullPath(options.AppDirectory);
        options = options with
        {
            AppDirectory = appDirectory,
            HostJsonPath = options.HostJsonPath ?? Path.Combine(appDirectory, "host.json"),
            Port = options.Port == 0 ? FreePort() : options.Port,
        };
        var hostJson = HostJson.Load(options.HostJsonPath);
        var settings = new AppSettings(options.SettingsPath, options.Settings);
        var endpoints = new HostEndpoints(new Uri($"http://localhost:{options.Port}/"), FreePort(), hostJson.RoutePrefix);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = appDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.Logging.AddFilter("Azure", LogLevel.Warning);
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenLocalhost(options.Port);
            kestrel.Listen(IPAddress.Loopback, endpoints.GrpcPort, o => o.Protocols = HttpProtocols.Http2);
            // Azure's host: 100 MB unless FUNCTIONS_REQUEST_BODY_SIZE_LIMIT says otherwise
            // (azure-functions-host src/WebJobs.Script.WebHost/Program.cs, Middleware/HttpRequestBodySizeMiddleware.cs).
            kestrel.Limits.MaxRequestBodySize = settings.MaxRequestBodySize;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.Services.AddRouting();
        builder.Services.AddProblemDetails();
        builder.Services.AddHttpForwarder();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null;
            o.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(hostJson);
        builder.Services.AddSingleton(endpoints);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<WorkerConnections>();
        builder.Services.AddSingleton<FunctionKeys>();
        builder.Services.AddSingleton<FunctionInvoker>();
        builder.Services.AddSingleton<QueueServiceFactory>();
        builder.Services.AddSingleton<WorkerSupervisor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerSupervisor>());
        builder.Services.AddSingleton<TriggerListeners>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TriggerListeners>());

        var app = builder.Build();
        var grpcHost = $"*:{endpoints.GrpcPort}";
        var publicHost = $"*:{options.Port}";
        if (hostJson.CustomHeaders.Count > 0)
        {
            app.Use((context, next) =>
            {
                if (context.Connection.LocalPort == options.Port)
                {
                    context.Response.OnStarting(() =>
                    {
                        foreach (var (name, value) in hostJson.CustomHeaders) context.Response.Headers.TryAdd(name, value);
                        return Task.CompletedTask;
                    });
                }
                return next(context);
            });
        }
        app.MapGrpcService<FunctionRpcService>().RequireHost(grpcHost);
        app.MapAdmin(publicHost);
        // The router needs the functions the worker reports, so it is built on first use.
        var handler = new Lazy<Task<HttpTriggerHandler>>(() => CreateHandlerAsync(app.Services, hostJson));
        // Everything else on the public port is an HTTP trigger (or a 404): the host's own router decides.
        app.MapFallback("{**path}", async context =>
        {
            await (await handler.Value.WaitAsync(context.RequestAborted)).HandleAsync(context);
        }).RequireHost(publicHost);
        // Built as soon as the worker reports its functions, so overlapping routes are named at start-up.
        app.Lifetime.ApplicationStarted.Register(() => _ = handler.Value);
        return new FunctionsHostApp(app, endpoints);
    }

    private static async Task<HttpTriggerHandler> CreateHandlerAsync(IServiceProvider services, HostJson hostJson)
    {
        var functions = await services.GetRequiredService<WorkerSupervisor>().Functions;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Host.Http");
        var router = new HttpRouter(functions, hostJson.RoutePrefix, services.GetRequiredService<IInlineConstraintResolver>(), logger);
        return new HttpTriggerHandler(
            router,
            services.GetRequiredService<WorkerSupervisor>(),
            services.GetRequiredService<FunctionKeys>(),
            services.GetRequiredService<IHttpForwarder>(),
            logger);
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => app.StartAsync(cancellationToken);

    /// <summary>Completes once the worker is connected and every function is loaded.</summary>
    public async Task<IReadOnlyList<FunctionDescriptor>> WaitForWorkerAsync(CancellationToken cancellationToken = default)
    {
        var worker = await Supervisor.WaitReadyAsync(cancellationToken);
        await Triggers.QueueListeners.WaitAsync(cancellationToken);
        return worker.Functions;
    }

    /// <summary>Stops the listeners and the worker (WorkerTerminate, then a kill after the grace period).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => app.StopAsync(cancellationToken);

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
