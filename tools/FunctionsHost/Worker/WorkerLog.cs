using FunctionsHost.Rpc;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Worker;

internal static partial class WorkerLog
{
    [LoggerMessage(100, LogLevel.Information, "Starting worker {WorkerId}: dotnet {Assembly} in {Directory}")]
    public static partial void Starting(ILogger logger, string workerId, string assembly, string directory);

    [LoggerMessage(101, LogLevel.Information, "Worker {WorkerId} ready: {Count} functions loaded in {ElapsedMs} ms")]
    public static partial void Ready(ILogger logger, string workerId, int count, long elapsedMs);

    [LoggerMessage(102, LogLevel.Warning, "Worker exited with code {ExitCode}; restarting in {DelayMs} ms")]
    public static partial void Restarting(ILogger logger, int? exitCode, long delayMs);

    [LoggerMessage(103, LogLevel.Error, "Worker {WorkerId} failed to start")]
    public static partial void StartFailed(ILogger logger, Exception exception, string workerId);

    [LoggerMessage(104, LogLevel.Debug, "Worker {WorkerId} stream ended: {Reason}")]
    public static partial void StreamBroken(ILogger logger, string workerId, string reason);

    [LoggerMessage(105, LogLevel.Information, "Stopping worker {WorkerId} (WorkerTerminate)")]
    public static partial void Terminating(ILogger logger, string workerId);

    [LoggerMessage(107, LogLevel.Information, "Worker {WorkerId} stopped with exit code {ExitCode}")]
    public static partial void Stopped(ILogger logger, string workerId, int exitCode);

    [LoggerMessage(106, LogLevel.Information, "{Line}")]
    public static partial void Console(ILogger logger, string line);
}

/// <summary>Writes a worker's <c>RpcLog</c> to the host's console with its own level and category.</summary>
internal static class WorkerLogForwarder
{
    public static void Forward(ILoggerFactory loggerFactory, RpcLog log)
    {
        var level = log.Level switch
        {
            RpcLog.Types.Level.Trace => LogLevel.Trace,
            RpcLog.Types.Level.Debug => LogLevel.Debug,
            RpcLog.Types.Level.Information => LogLevel.Information,
            RpcLog.Types.Level.Warning => LogLevel.Warning,
            RpcLog.Types.Level.Error => LogLevel.Error,
            RpcLog.Types.Level.Critical => LogLevel.Critical,
            _ => LogLevel.None,
        };
        var logger = loggerFactory.CreateLogger(string.IsNullOrEmpty(log.Category) ? "Function" : log.Category);
        if (!logger.IsEnabled(level))
        {
            return;
        }
        var text = log.Exception is { } e ? $"{log.Message}{Environment.NewLine}{e.Type}: {e.Message}{Environment.NewLine}{e.StackTrace}" : log.Message;
        using (logger.BeginScope(new Dictionary<string, object> { ["InvocationId"] = log.InvocationId }))
        {
            logger.Log(level, "{Message}", text);
        }
    }
}
