using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RunLedger.Telemetry;

namespace RunLedger.Tests.Telemetry;

/// <summary>Logs written while a request for a run is handled carry its ids in a scope.</summary>
public sealed class RequestScopeTests
{
    /// <summary>Records each log entry with the scopes open when it was written.</summary>
    private sealed class ScopeRecordingLogger<T> : ILogger<T>
    {
        private readonly AsyncLocal<ScopeFrame?> _scopes = new();

        public List<(string Message, List<object> Scopes)> Entries { get; } = [];

        public IDisposable BeginScope<TState>(TState state) where TState : notnull
        {
            var previous = _scopes.Value;
            _scopes.Value = new ScopeFrame(state, previous);
            return new Pop(() => _scopes.Value = previous);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<object>();
            for (var s = _scopes.Value; s is not null; s = s.Next) scopes.Add(s.State);
            Entries.Add((formatter(state, exception), scopes));
        }

        private sealed record ScopeFrame(object State, ScopeFrame? Next);

        private sealed class Pop(Action pop) : IDisposable
        {
            public void Dispose() => pop();
        }
    }

    private static async Task<List<object>> ScopesSeenByTheHandlerAsync(params (string Name, string Value)[] routeValues)
    {
        var logger = new ScopeRecordingLogger<RequestScopeMiddleware>();
        var middleware = new RequestScopeMiddleware(_ =>
        {
            logger.LogInformation("inside the request");
            return Task.CompletedTask;
        }, logger);
        var context = new DefaultHttpContext();
        foreach (var (name, value) in routeValues) context.Request.RouteValues[name] = value;

        await middleware.InvokeAsync(context);

        logger.LogInformation("after the request");
        Assert.Empty(logger.Entries[1].Scopes); // closed when the request ends
        return logger.Entries[0].Scopes;
    }

    [Fact]
    public async Task LogsWrittenDuringARunRequestCarryItsProjectAndRunIds()
    {
        var scope = Assert.Single(await ScopesSeenByTheHandlerAsync(("projectId", "p1"), ("runId", "r-42"), ("other", "x")));
        var values = Assert.IsAssignableFrom<IEnumerable<KeyValuePair<string, object?>>>(scope).ToDictionary();
        Assert.Equal(new Dictionary<string, object?> { ["projectId"] = "p1", ["runId"] = "r-42" }, values);
        Assert.Equal("projectId:p1 runId:r-42", scope.ToString()); // as the console shows it
    }

    [Fact]
    public async Task RequestsWithoutRunRouteValuesOpenNoScope()
    {
        Assert.Empty(await ScopesSeenByTheHandlerAsync(("other", "x")));
    }
}
