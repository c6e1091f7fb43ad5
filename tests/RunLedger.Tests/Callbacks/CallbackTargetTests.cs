using RunLedger.Progress;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RunLedger.Callbacks;
using RunLedger.Runs;
using RunLedger.Tests.Support;

namespace RunLedger.Tests.Callbacks;

/// <summary>
/// Where callbacks may go, after DNS (in process, with a resolver the test controls): names that
/// resolve to private, metadata or (outside Development) loopback addresses are refused before any
/// connection, recorded on the delivery and dead-lettered; and a delivery whose queue message was
/// lost is found by the sweep once overdue.
/// </summary>
public sealed class CallbackTargetTests : ComponentTest
{
    private const string Secret = "s3cr3t-0123456789-abcdef";
    private readonly StubResolver _resolver = new();
    private readonly FixedClock _clock = new(DateTimeOffset.UtcNow);
    private CallbackReceiver? _receiver;

    private sealed class StubResolver : IHostResolver
    {
        public Dictionary<string, IPAddress[]> Names { get; } = new(StringComparer.OrdinalIgnoreCase);
        public List<string> Asked { get; } = [];

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            lock (Asked) Asked.Add(host);
            return Task.FromResult(Names.TryGetValue(host, out var addresses) ? addresses : []);
        }
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _receiver = await CallbackReceiver.StartAsync();
        App.Clock = _clock;
        App.ConfigureServices = services => services.AddSingleton<IHostResolver>(_resolver);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_receiver is not null) await _receiver.DisposeAsync();
    }

    /// <summary>Connections go only to loopback, whatever the sender decides: a broken guard fails the test instead of reaching out.</summary>
    private readonly List<IPEndPoint> _connected = [];

    private async Task<string> CompletedRunAsync(string url)
    {
        App.Get<CallbackSender>().ConnectOverride = async (endpoint, cancellationToken) =>
        {
            lock (_connected) _connected.Add(endpoint);
            Assert.True(IPAddress.IsLoopback(endpoint.Address), $"the sender connected to {endpoint}");
            var socket = new System.Net.Sockets.Socket(endpoint.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(endpoint, cancellationToken);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        };
        var body = new JsonObject
        {
            ["projectId"] = "p1",
            ["config"] = new JsonObject
            {
                ["callbacks"] = new JsonArray(new JsonObject { ["url"] = url, ["events"] = new JsonArray("completed"), ["secret"] = Secret }),
            },
        };
        var runId = (string)(await StartAsync(body.ToJsonString()))["runId"]!;
        await App.Get<RunPatcher>().PatchAsync("p1", runId, RunRules.ValidatePatch(new JsonObject { ["status"] = "completed" }), null, default);
        return runId;
    }

    /// <summary>Runs the delivery function on every message on the callbacks queue; returns how many there were.</summary>
    private async Task<int> DeliverQueuedAsync()
    {
        var handled = 0;
        foreach (var message in (await App.Storage.Callbacks.ReceiveMessagesAsync(32)).Value)
        {
            await App.Get<CallbackDelivery>().HandleAsync(message.Body.ToString(), message.MessageId, message.InsertedOn ?? _clock.Now, message.DequeueCount, default);
            await App.Storage.Callbacks.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            handled++;
        }
        return handled;
    }

    private async Task<JsonObject> DeliveryAsync(string runId) =>
        Assert.Single((await LedgerComponents.BodyAsync(App.Functions<CallbacksFunctions>().ListRunCallbacks(LedgerComponents.Request(), "p1", runId, default)))["items"]!.AsArray())!.AsObject();

    [Theory]
    [InlineData("internal.test", "10.1.2.3", "a private address")]
    [InlineData("metadata.test", "169.254.169.254", "the cloud metadata address")]
    [InlineData("v6metadata.test", "fd00:ec2::254", "the cloud metadata address")]
    [InlineData("mapped.test", "::ffff:10.9.9.9", "a private address")]
    [InlineData("receiver.test", "127.0.0.1", "a loopback address")]
    [InlineData("wire.test", "168.63.129.16", "the Azure platform address")]
    [InlineData("wire17.test", "168.63.129.17", "an Azure platform address")]
    [InlineData("wiremapped.test", "::ffff:168.63.129.16", "the Azure platform address")]
    [InlineData("translated.test", "::ffff:0:a9fe:a9fe", "an IPv4-translated address embedding 169.254.169.254, the cloud metadata address")]
    [InlineData("alibaba.test", "100.100.100.200", "the Alibaba Cloud metadata address")]
    [InlineData("nat64.test", "64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254")]
    [InlineData("sixtofour.test", "2002:a9fe:a9fe::1", "a 6to4 address embedding 169.254.169.254")]
    public async Task ANameThatResolvesToANonPublicAddressIsRefusedRecordedAndDeadLettered(string name, string address, string kind)
    {
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Production");
        _resolver.Names[name] = [IPAddress.Parse(address)];
        var runId = await CompletedRunAsync(_receiver!.Url($"/{name}", Secret).Replace("http://127.0.0.1", $"https://{name}", StringComparison.Ordinal));

        Assert.Equal(1, await DeliverQueuedAsync());

        Assert.Contains(name, _resolver.Asked);
        Assert.Empty(_connected);
        Assert.Empty(_receiver.For($"/{name}"));
        var delivery = await DeliveryAsync(runId);
        Assert.Equal("deadLettered", (string)delivery["state"]!);
        Assert.Equal(1, (int)delivery["attempts"]!);
        Assert.Contains($"resolves to {IPAddress.Parse(address)}, {kind}", (string)delivery["lastOutcome"]!, StringComparison.Ordinal);
        var (letters, _) = await App.Get<RunLedger.Runs.DeadLetters>().ListAsync(10, null, default);
        var letter = Assert.Single(letters);
        Assert.Equal("run-callbacks", (string)letter["source"]!);
        Assert.Contains(kind, (string)letter["reason"]!, StringComparison.Ordinal);
        Assert.Equal(0, await DeliverQueuedAsync());
    }

    [Theory]
    [InlineData("https://localhost./hook", "loopback")]
    [InlineData("https://127.0.0.1./hook", "loopback")]
    [InlineData("https://127.1./hook", "loopback")]
    [InlineData("https://api.localhost/hook", "loopback")]
    [InlineData("https://metadata./computeMetadata/v1/", "single-label name")]
    [InlineData("https://instance-data/latest/meta-data", "single-label name")]
    [InlineData("https://printer.local/hook", "a name under '.local'")]
    public async Task OutsideDevelopmentLoopbackAndPrivateNamesAre400AtStartWithATrailingDotOrNot(string url, string kind)
    {
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Production");
        var body = new JsonObject
        {
            ["projectId"] = "p1",
            ["config"] = new JsonObject { ["callbacks"] = new JsonArray(new JsonObject { ["url"] = url, ["events"] = new JsonArray("completed"), ["secret"] = Secret }) },
        };

        var refused = await Assert.ThrowsAsync<RunLedger.Http.LedgerException>(() => StartAsync(body.ToJsonString()));

        Assert.Equal(400, refused.Status);
        Assert.Contains(kind, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>A URL stored before a rule existed (here: written straight into the run's snapshot) meets the rule at delivery, before DNS.</summary>
    [Theory]
    [InlineData("metadata", "single-label name")]
    [InlineData("metadata.google.internal", "a name under '.internal'")]
    [InlineData("localhost.", "a loopback name")]
    [InlineData("127.0.0.1.", "a loopback address")]
    public async Task ANameOnlyAPrivateNetworkResolvesIsRefusedAtDeliveryWithoutAskingDns(string host, string kind)
    {
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Production");
        _resolver.Names[host] = [IPAddress.Parse("8.8.8.8")];
        _resolver.Names[host.TrimEnd('.')] = [IPAddress.Parse("8.8.8.8")];
        App.Get<CallbackSender>().ConnectOverride = (endpoint, _) =>
        {
            lock (_connected) _connected.Add(endpoint);
            throw new InvalidOperationException($"the sender connected to {endpoint}");
        };

        var result = await App.Get<CallbackSender>().SendAsync($"https://{host}/hook", "completed", "d1", Secret, "{}", default);

        Assert.True(result.Refused);
        Assert.False(result.Delivered);
        Assert.Contains(kind, result.Outcome, StringComparison.Ordinal);
        Assert.Empty(_resolver.Asked);
        Assert.Empty(_connected);
    }

    [Fact]
    public async Task ANameThatAlsoResolvesToAPrivateAddressIsRefusedEvenInDevelopment()
    {
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Development");
        _resolver.Names["split.test"] = [IPAddress.Loopback, IPAddress.Parse("10.0.0.1")];
        var url = _receiver!.Url("/split", Secret).Replace("127.0.0.1", "split.test", StringComparison.Ordinal);
        var runId = await CompletedRunAsync(url.Replace("http://", "https://", StringComparison.Ordinal));

        await DeliverQueuedAsync();

        Assert.Empty(_connected);
        Assert.Empty(_receiver.For("/split"));
        Assert.Contains("10.0.0.1, a private address", (string)(await DeliveryAsync(runId))["lastOutcome"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoopbackIsCalledInDevelopment()
    {
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Development");
        var runId = await CompletedRunAsync(_receiver!.Url("/dev", Secret));

        Assert.Equal(1, await DeliverQueuedAsync());

        Assert.Equal("delivered", (string)(await DeliveryAsync(runId))["state"]!);
        Assert.True(Assert.Single(_receiver.For("/dev")).SignatureValid);
        Assert.NotEmpty(_connected);
    }

    [Fact]
    public async Task ADeliveryWhoseMessageWasLostIsSentByTheSweepOnceOverdue()
    {
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Development");
        var runId = await CompletedRunAsync(_receiver!.Url("/lost", Secret));
        await App.Storage.Callbacks.ClearMessagesAsync();
        var delivery = App.Get<CallbackDelivery>();

        Assert.Equal(0, await delivery.SweepAsync(default));
        _clock.Now += CallbackDelivery.SweepAge + TimeSpan.FromSeconds(1);
        Assert.Equal(1, await delivery.SweepAsync(default));
        Assert.Equal(0, await delivery.SweepAsync(default));
        Assert.Equal(1, await DeliverQueuedAsync());

        Assert.Equal("delivered", (string)(await DeliveryAsync(runId))["state"]!);
        Assert.Single(_receiver.For("/lost"));
        // Nothing is left to sweep: the delivered record's schedule entry is gone.
        _clock.Now += TimeSpan.FromHours(1);
        Assert.Equal(0, await delivery.SweepAsync(default));
        var entries = App.Storage.Table.QueryAsync<Azure.Data.Tables.TableEntity>(e => e.PartitionKey == RunLedger.Ledger.Keys.CallbackSchedulePartition);
        Assert.Equal(0, await entries.CountAsync());
    }

    [Fact]
    public async Task TwoMessagesForOneAttemptSendItOnce()
    {
        App.With("AZURE_FUNCTIONS_ENVIRONMENT", "Development");
        var runId = await CompletedRunAsync(_receiver!.Url("/twice", Secret));
        var key = (string)(await App.Storage.Callbacks.PeekMessageAsync()).Value.Body.ToObjectFromJson<JsonObject>()!["key"]!;
        await App.Storage.Callbacks.SendMessageAsync(CallbackOutbox.Message("p1", key, 1));

        Assert.Equal(2, await DeliverQueuedAsync());

        Assert.Single(_receiver.For("/twice"));
        Assert.Equal(1, (int)(await DeliveryAsync(runId))["attempts"]!);
    }
}
