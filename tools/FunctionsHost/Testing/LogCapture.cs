using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Testing;

/// <summary>One log line from the host or (forwarded) from the worker's functions.</summary>
public sealed record CapturedLog(DateTimeOffset Time, LogLevel Level, string Category, string Message);

/// <summary>Keeps every log line in memory so tests can wait for what a function logged.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();

    public IReadOnlyList<CapturedLog> Snapshot() => entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                capture.entries.Enqueue(new CapturedLog(DateTimeOffset.UtcNow, logLevel, category, formatter(state, exception)));
            }
        }
    }
}
