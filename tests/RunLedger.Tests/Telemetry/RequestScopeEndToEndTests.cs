using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Telemetry;

/// <summary>Through the real pipeline: a handler's log line carries the run it was about.</summary>
public sealed class RequestScopeEndToEndTests : LedgerTest
{
    private readonly List<Entry> _entries = [];

    public RequestScopeEndToEndTests() =>
        App.ConfigureServicesHook = services => services.AddSingleton<ILoggerProvider>(new CapturingProvider(_entries));

    private List<Entry> Entries
    {
        get { lock (_entries) return [.. _entries]; }
    }

    [Fact]
    public async Task AHandlersLogLineCarriesTheProjectAndRunIdsOfTheRequest()
    {
        var runId = (string)(await StartAsync("""{"projectId":"p1"}"""))["runId"]!;
        (await Client.PostJsonAsync($"/api/projects/p1/runs/{runId}/progress", """{"agent":"voice","message":"hi"}""")).EnsureSuccessStatusCode();

        var applied = Assert.Single(Entries, e => e.Category.EndsWith("ProgressHandler", StringComparison.Ordinal) && e.EventId == 3001);
        Assert.Equal("p1", applied.Scope.GetValueOrDefault("projectId"));
        Assert.Equal(runId, applied.Scope.GetValueOrDefault("runId"));
    }

    public sealed record Entry(string Category, int EventId, Dictionary<string, object?> Scope);

    private sealed class CapturingProvider(List<Entry> entries) : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public List<Entry> Sink => entries;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new Dictionary<string, object?>();
                provider._scopes.ForEachScope((value, values) =>
                {
                    if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        foreach (var (key, item) in pairs) values[key] = item;
                    }
                }, scope);
                lock (provider.Sink) provider.Sink.Add(new Entry(category, eventId.Id, scope));
            }
        }
    }
}
