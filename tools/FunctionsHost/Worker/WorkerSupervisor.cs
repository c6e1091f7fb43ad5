using System.Diagnostics;
using FunctionsHost.Configuration;
using FunctionsHost.Functions;
using FunctionsHost.Rpc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Worker;

/// <summary>
/// Keeps one worker running: starts it, completes the handshake, loads every function, and
/// restarts it with back-off when it dies. On shutdown it sends <c>WorkerTerminate</c> and waits.
/// </summary>
public sealed class WorkerSupervisor(
    FunctionsHostOptions options,
    AppSettings settings,
    HostEndpoints endpoints,
    WorkerConnections connections,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly ILogger logger = loggerFactory.CreateLogger("Host.Worker");
    private readonly ILogger consoleLogger = loggerFactory.CreateLogger("Worker.Console");
    private readonly TaskCompletionSource<IReadOnlyList<FunctionDescriptor>> functions = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<ReadyWorker> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? process;

    /// <summary>The functions, once the first worker reported them.</summary>
    public Task<IReadOnlyList<FunctionDescriptor>> Functions => functions.Task;

    /// <summary>The current worker once it is ready (waits through restarts).</summary>
    public Task<ReadyWorker> WaitReadyAsync(CancellationToken cancellationToken) => ready.Task.WaitAsync(cancellationToken);

    /// <summary>The running worker process, for tests that kill it.</summary>
    public Process? Process => process;

    /// <summary>When the current worker process was started.</summary>
    public long LaunchTimestamp { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // ApplicationStopping fires before the server stops, so WorkerTerminate can still reach
        // the worker over its stream (the server then waits for that stream to end).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        await RunAsync(stopping.Token);
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        // The worker connects to our gRPC endpoint, so the server must be listening first.
        await WhenStartedAsync(stoppingToken);
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            var exitCode = await RunOneWorkerAsync(stoppingToken);
            if (stoppingToken.IsCancellationRequested) break;
            // A worker that ran a while earns a quick restart; one that keeps dying waits longer each time.
            backoff = Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(1) ? TimeSpan.FromSeconds(1) : backoff;
            WorkerLog.Restarting(logger, exitCode, (long)backoff.TotalMilliseconds);
            try
            {
                await Task.Delay(backoff, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private async Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
    }

    private async Task<int?> RunOneWorkerAsync(CancellationToken stoppingToken)
    {
        var workerId = Guid.NewGuid().ToString();
        var connecting = connections.ExpectAsync(workerId);
        Process? worker = null;
        try
        {
            WorkerLog.Starting(logger, workerId, WorkerProcess.WorkerAssembly(options.AppDirectory), options.AppDirectory);
            LaunchTimestamp = Stopwatch.GetTimestamp();
            worker = WorkerProcess.Start(options.AppDirectory, endpoints.GrpcPort, workerId, settings, consoleLogger);
            process = worker;
            var exited = worker.WaitForExitAsync(stoppingToken);
            // A worker that dies before it connects (a bad build, a missing setting) is noticed at once.
            var first = await Task.WhenAny(connecting, exited).WaitAsync(options.WorkerStartTimeout, stoppingToken);
            stoppingToken.ThrowIfCancellationRequested();
            if (first != connecting)
            {
                throw new InvalidOperationException($"The worker exited with code {worker.ExitCode} before it connected.");
            }
            var channel = await connecting;
            var loaded = await InitializeAsync(channel, stoppingToken);
            WorkerLog.Ready(logger, workerId, loaded.Functions.Count, (long)Stopwatch.GetElapsedTime(LaunchTimestamp).TotalMilliseconds);
            ready.TrySetResult(loaded);
            await Task.WhenAny(exited, channel.Closed);
            if (stoppingToken.IsCancellationRequested)
            {
                await StopWorkerAsync(channel, worker);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            WorkerLog.StartFailed(logger, e, workerId);
        }
        finally
        {
            connections.Forget(workerId);
            if (ready.Task.IsCompleted)
            {
                ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            if (worker is not null && !worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync(CancellationToken.None);
            }
        }
        return worker is { HasExited: true } ? worker.ExitCode : null;
    }

    private async Task<ReadyWorker> InitializeAsync(WorkerChannel channel, CancellationToken cancellationToken)
    {
        var timeout = options.WorkerStartTimeout;
        var init = await channel.RequestAsync(new StreamingMessage
        {
            WorkerInitRequest = new WorkerInitRequest
            {
                HostVersion = "4.0.0-functionshost",
                WorkerDirectory = options.AppDirectory,
                FunctionAppDirectory = options.AppDirectory,
            },
        }, timeout, cancellationToken);
        EnsureSuccess(init.WorkerInitResponse.Result, "WorkerInitRequest");
        var httpUri = init.WorkerInitResponse.Capabilities.TryGetValue("HttpUri", out var uri) ? new Uri(uri) : null;

        var metadata = await channel.RequestAsync(new StreamingMessage
        {
            FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = options.AppDirectory },
        }, timeout, cancellationToken);
        EnsureSuccess(metadata.FunctionMetadataResponse.Result, "FunctionsMetadataRequest");
        var descriptors = functions.Task.IsCompleted
            ? functions.Task.Result
            : FunctionCatalog.Build(metadata.FunctionMetadataResponse.FunctionMetadataResults, settings);

        // The .NET worker loads functions one request at a time (no FunctionLoadRequestCollection).
        var loads = descriptors.Select(f => channel.RequestAsync(new StreamingMessage
        {
            FunctionLoadRequest = new FunctionLoadRequest { FunctionId = f.FunctionId, Metadata = f.Metadata },
        }, timeout, cancellationToken));
        foreach (var load in await Task.WhenAll(loads))
        {
            EnsureSuccess(load.FunctionLoadResponse.Result, $"FunctionLoadRequest {load.FunctionLoadResponse.FunctionId}");
        }
        functions.TrySetResult(descriptors);
        return new ReadyWorker(channel, httpUri, descriptors);
    }

    private static void EnsureSuccess(StatusResult? result, string step)
    {
        if (result is null || result.Status != StatusResult.Types.Status.Success)
        {
            throw new InvalidOperationException($"{step} failed: {result?.Exception?.Message ?? result?.Result ?? "no result"}");
        }
    }

    private async Task StopWorkerAsync(WorkerChannel channel, Process worker)
    {
        WorkerLog.Terminating(logger, channel.WorkerId);
        channel.Terminate(TimeSpan.FromSeconds(5));
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await worker.WaitForExitAsync(grace.Token);
            WorkerLog.Stopped(logger, channel.WorkerId, worker.ExitCode);
        }
        catch (OperationCanceledException)
        {
            // It did not exit in its grace period; the finally block kills it.
        }
    }
}

/// <summary>A worker that finished its handshake and loaded its functions.</summary>
public sealed record ReadyWorker(WorkerChannel Channel, Uri? HttpUri, IReadOnlyList<FunctionDescriptor> Functions);
