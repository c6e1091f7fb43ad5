using System.Collections.Immutable;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using RunLedger.Telemetry;

namespace RunLedger.Tests.Telemetry;

/// <summary>Logs written while a function handles a run carry its ids in a scope.</summary>
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

    /// <summary>Just enough of an invocation for the middleware: its binding data (route values, trigger metadata).</summary>
    private sealed class Invocation(string function, IReadOnlyDictionary<string, object?> data) : FunctionContext
    {
        public override string InvocationId => "inv-1";
        public override string FunctionId => "fn-1";
        public override TraceContext TraceContext => null!;
        public override BindingContext BindingContext { get; } = new Bindings(data);
        public override RetryContext RetryContext => null!;
        public override IServiceProvider InstanceServices { get; set; } = null!;
        public override FunctionDefinition FunctionDefinition { get; } = new Definition(function);
        public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
        public override IInvocationFeatures Features => null!;

        private sealed class Definition(string name) : FunctionDefinition
        {
            public override ImmutableArray<FunctionParameter> Parameters => [];
            public override string PathToAssembly => "";
            public override string EntryPoint => "";
            public override string Id => name;
            public override string Name => name;
            public override IImmutableDictionary<string, BindingMetadata> InputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
            public override IImmutableDictionary<string, BindingMetadata> OutputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
        }

        private sealed class Bindings(IReadOnlyDictionary<string, object?> data) : BindingContext
        {
            public override IReadOnlyDictionary<string, object?> BindingData { get; } = data;
        }
    }

    private static async Task<List<object>> ScopesSeenByTheFunctionAsync(string function, params (string Name, string Value)[] bindingData)
    {
        var logger = new ScopeRecordingLogger<RunScopeMiddleware>();
        var middleware = new RunScopeMiddleware(logger);
        var context = new Invocation(function, bindingData.ToImmutableDictionary(b => b.Name, b => (object?)b.Value));

        await middleware.Invoke(context, _ =>
        {
            logger.LogInformation("inside the invocation");
            return Task.CompletedTask;
        });

        logger.LogInformation("after the invocation");
        Assert.Empty(logger.Entries[1].Scopes); // closed when the invocation ends
        return logger.Entries[0].Scopes;
    }

    [Fact]
    public async Task LogsWrittenDuringARunInvocationCarryItsProjectAndRunIds()
    {
        var scope = Assert.Single(await ScopesSeenByTheFunctionAsync("GetRun", ("projectId", "p1"), ("runId", "r-42"), ("other", "x")));
        var values = Assert.IsAssignableFrom<IEnumerable<KeyValuePair<string, object?>>>(scope).ToDictionary();
        Assert.Equal(new Dictionary<string, object?> { ["projectId"] = "p1", ["runId"] = "r-42" }, values);
        Assert.Equal("projectId:p1 runId:r-42", scope.ToString()); // as the console shows it
    }

    [Fact]
    public async Task InvocationsWithoutRunValuesOpenNoScope()
    {
        Assert.Empty(await ScopesSeenByTheFunctionAsync("GetRun", ("other", "x")));
    }

    [Fact]
    public async Task AQueueReportsIdsFromItsMessageAreScoped()
    {
        var scope = Assert.Single(await ScopesSeenByTheFunctionAsync("AgentProgress", ("projectId", "p1"), ("runId", "r-7")));
        Assert.Equal("projectId:p1 runId:r-7", scope.ToString());
    }

    // Binding data of an HTTP invocation also holds query parameters (Azure's host adds them): a runId
    // there is not the route's, so it stays out of the scope of a function whose route has no {runId}.
    [Fact]
    public async Task AnHttpFunctionScopesOnlyWhatItsRouteDeclares()
    {
        var scope = Assert.Single(await ScopesSeenByTheFunctionAsync("ListRuns", ("projectId", "p1"), ("runId", "from-the-query")));
        Assert.Equal("projectId:p1", scope.ToString());
    }
}
