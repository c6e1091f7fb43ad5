using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RunLedger.Tests.Reliability;

/// <summary>What the proxy does to one storage request.</summary>
public enum Fault
{
    None,

    /// <summary>Answers 503 ServerBusy itself; the request never reaches storage.</summary>
    Busy,

    /// <summary>Resets the connection after reading the request, before it reaches storage.</summary>
    ResetBeforeRequest,

    /// <summary>Forwards the request, lets storage commit it, then resets instead of answering.</summary>
    ResetAfterWrite,

    /// <summary>Holds the request (before forwarding it, or its answer after storage handled it) for some seconds.</summary>
    Stall,
}

/// <summary>
/// Which faults the proxies inject, at what rates, and what they did: seeded, shared by the
/// table and queue proxies of one test, thread-safe. <see cref="Outage"/> refuses everything.
/// </summary>
public sealed class FaultPlan(int seed)
{
    private readonly Random _random = new(seed);
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private volatile bool _enabled;
    private volatile bool _outage;

    public double BusyRate { get; init; }
    public double ResetBeforeRate { get; init; }
    public double ResetAfterRate { get; init; }
    public double StallRate { get; init; }
    public TimeSpan StallMin { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan StallMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Which requests the faults may hit, by method and request target (as sent, URL-encoded);
    /// null: every request. Requests it leaves out pass untouched, as when the plan is off.
    /// </summary>
    public Func<string, string, bool>? Targets { get; init; }

    /// <summary>Multiplies every rate (1 = as set), to run a phase harder.</summary>
    public double Intensity
    {
        get { lock (_random) return _intensity; }
        set { lock (_random) _intensity = value; }
    }

    private double _intensity = 1;

    /// <summary>Injects the faults at their rates; off, requests pass untouched (the outage still applies).</summary>
    public bool Enabled { get => _enabled; set => _enabled = value; }

    /// <summary>Total outage: new connections and requests are reset at once.</summary>
    public bool Outage { get => _outage; set => _outage = value; }

    /// <summary>Raised when an outage starts, so the proxies drop the connections they hold.</summary>
    internal event Action? OutageStarted;

    public void BeginOutage()
    {
        Outage = true;
        OutageStarted?.Invoke();
    }

    public void EndOutage() => Outage = false;

    /// <summary>Requests seen and faults injected, by name (requests, targeted, busy503, resetBefore, resetAfterWrite, stall, outageResets).</summary>
    public IReadOnlyDictionary<string, long> Counts => new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);

    public long Count(string name) => _counts.TryGetValue(name, out var n) ? n : 0;

    internal void Add(string name) => _counts.AddOrUpdate(name, 1, (_, n) => n + 1);

    internal (Fault Fault, TimeSpan Stall, bool StallAfterWrite) Next(string method, string target)
    {
        Add("requests");
        if (!_enabled) return (Fault.None, TimeSpan.Zero, false);
        if (Targets is { } targets)
        {
            if (!targets(method, target)) return (Fault.None, TimeSpan.Zero, false);
            Add("targeted");
        }
        double roll;
        TimeSpan stall;
        bool after;
        lock (_random)
        {
            roll = _random.NextDouble() / _intensity;
            stall = StallMin + (StallMax - StallMin) * _random.NextDouble();
            after = _random.Next(2) == 0;
        }
        if ((roll -= BusyRate) < 0) return Counted(Fault.Busy, "busy503");
        if ((roll -= ResetBeforeRate) < 0) return Counted(Fault.ResetBeforeRequest, "resetBefore");
        if ((roll -= ResetAfterRate) < 0) return Counted(Fault.ResetAfterWrite, "resetAfterWrite");
        if ((roll -= StallRate) < 0)
        {
            Add("stall");
            return (Fault.Stall, stall, after);
        }
        return (Fault.None, TimeSpan.Zero, false);

        (Fault, TimeSpan, bool) Counted(Fault fault, string name)
        {
            Add(name);
            return (fault, TimeSpan.Zero, false);
        }
    }
}

/// <summary>
/// A TCP proxy in front of one Azurite service that speaks just enough HTTP/1.1 to inject faults
/// per request: 503 answers, connection resets (RST) before the request reaches storage or after
/// storage handled it (the answer is lost), stalls, and a total outage. Requests and answers pass
/// byte for byte otherwise, so shared-key signatures stay valid.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly TimeSpan UpstreamIdleLimit = TimeSpan.FromSeconds(2); // Azurite (Node) closes idle sockets after 5 s
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly FaultPlan _plan;
    private readonly bool _json;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _clients = new();
    private Task _accepting = Task.CompletedTask;

    /// <param name="json">Whether the service answers errors in JSON (Table) rather than XML (Queue).</param>
    public FaultProxy(int upstreamPort, FaultPlan plan, bool json)
    {
        _upstreamPort = upstreamPort;
        _plan = plan;
        _json = json;
        _plan.OutageStarted += ResetAll;
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Start()
    {
        _listener.Start(512);
        _accepting = AcceptAsync();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            if (_plan.Outage)
            {
                _plan.Add("outageResets");
                Reset(client);
                continue;
            }
            _ = ServeAsync(client);
        }
    }

    private void ResetAll()
    {
        foreach (var client in _clients.Keys) Reset(client);
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close() then sends RST, not FIN
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket client)
    {
        _clients[client] = 0;
        Socket? upstream = null;
        HttpReader? upstreamReader = null;
        var lastUsed = DateTime.UtcNow;
        try
        {
            client.NoDelay = true;
            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            var reader = new HttpReader(clientStream);
            while (true)
            {
                var request = await reader.ReadMessageAsync(null, _stop.Token);
                if (request is null) return;
                if (_plan.Outage)
                {
                    _plan.Add("outageResets");
                    return; // finally resets
                }
                var (fault, stall, stallAfterWrite) = _plan.Next(request.Method!, request.Target!);
                if (fault == Fault.Busy)
                {
                    await clientStream.WriteAsync(BusyAnswer(), _stop.Token);
                    continue;
                }
                if (fault == Fault.ResetBeforeRequest) return;
                if (fault == Fault.Stall && !stallAfterWrite) await Task.Delay(stall, _stop.Token);

                if (upstream is null || DateTime.UtcNow - lastUsed > UpstreamIdleLimit)
                {
                    upstream?.Dispose();
                    upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                    upstreamReader = new HttpReader(new NetworkStream(upstream, ownsSocket: false));
                }
                await upstreamReader!.Stream.WriteAsync(request.Bytes, _stop.Token);
                var answer = await upstreamReader.ReadMessageAsync(request.Method, _stop.Token);
                lastUsed = DateTime.UtcNow;
                if (answer is null) return; // storage closed the connection without answering: the client sees a reset
                if (answer.Close)
                {
                    upstream.Dispose();
                    upstream = null;
                }
                if (fault == Fault.Stall && stallAfterWrite) await Task.Delay(stall, _stop.Token);
                if (fault == Fault.ResetAfterWrite) return;
                if (_plan.Outage)
                {
                    _plan.Add("outageResets");
                    return;
                }
                await clientStream.WriteAsync(answer.Bytes, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            _clients.TryRemove(client, out _);
            Reset(client);
            upstream?.Dispose();
        }
    }

    private byte[] BusyAnswer()
    {
        var body = _json
            ? """{"odata.error":{"code":"ServerBusy","message":{"lang":"en-US","value":"The server is busy (injected by the test's fault proxy)."}}}"""
            : """<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy (injected by the test's fault proxy).</Message></Error>""";
        var contentType = _json ? "application/json;odata=minimalmetadata;streaming=true;charset=utf-8" : "application/xml";
        var bytes = Encoding.UTF8.GetBytes(body);
        var head = $"HTTP/1.1 503 Service Unavailable\r\nContent-Type: {contentType}\r\nContent-Length: {bytes.Length.ToString(CultureInfo.InvariantCulture)}\r\n" +
                   $"x-ms-error-code: ServerBusy\r\nx-ms-request-id: {Guid.NewGuid()}\r\nConnection: keep-alive\r\n\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. bytes];
    }

    public async ValueTask DisposeAsync()
    {
        _plan.OutageStarted -= ResetAll;
        await _stop.CancelAsync();
        _listener.Stop();
        ResetAll();
        await _accepting;
        _stop.Dispose();
    }
}

/// <summary>One HTTP/1.1 message as it travelled: its raw bytes (head and body, framing included); a request's method and target.</summary>
internal sealed record WireMessage(byte[] Bytes, string? Method, bool Close, string? Target = null);

/// <summary>Reads whole HTTP/1.1 messages off a stream: Content-Length, chunked, or (answers) until the connection closes.</summary>
internal sealed class HttpReader(Stream stream)
{
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public Stream Stream => stream;

    /// <param name="requestMethod">Null to read a request; else the method of the request this answers.</param>
    /// <returns>Null when the connection closed before a message began.</returns>
    public async Task<WireMessage?> ReadMessageAsync(string? requestMethod, CancellationToken cancellationToken)
    {
        var output = new MemoryStream();
        int headEnd;
        while ((headEnd = IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (!await FillAsync(cancellationToken))
            {
                if (_start == _end) return null;
                throw new IOException("The connection closed inside a message head.");
            }
        }
        var head = Encoding.Latin1.GetString(_buffer, _start, headEnd - _start);
        Take(output, headEnd + 4 - _start);
        var lines = head.Split("\r\n");
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last()[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var close = headers.TryGetValue("Connection", out var connection) && connection.Equals("close", StringComparison.OrdinalIgnoreCase);
        var method = requestMethod is null ? lines[0].Split(' ')[0] : null;
        var target = requestMethod is null ? lines[0].Split(' ').ElementAtOrDefault(1) ?? "" : null;

        if (requestMethod is not null)
        {
            var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
            if (requestMethod == "HEAD" || status is (>= 100 and < 200) or 204 or 304)
            {
                return new WireMessage(output.ToArray(), null, close);
            }
        }
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (true)
            {
                var line = await ReadLineAsync(output, cancellationToken);
                var size = Convert.ToInt32(line.Split(';')[0].Trim(), 16);
                if (size == 0)
                {
                    while ((await ReadLineAsync(output, cancellationToken)).Length > 0)
                    {
                    }
                    break;
                }
                await CopyAsync(output, size + 2, cancellationToken);
            }
        }
        else if (headers.TryGetValue("Content-Length", out var length))
        {
            await CopyAsync(output, int.Parse(length, CultureInfo.InvariantCulture), cancellationToken);
        }
        else if (requestMethod is not null)
        {
            // An answer without framing runs until the connection closes.
            while (await FillAsync(cancellationToken))
            {
            }
            Take(output, _end - _start);
            close = true;
        }
        return new WireMessage(output.ToArray(), method, close, target);
    }

    private int IndexOf(ReadOnlySpan<byte> value)
    {
        var i = _buffer.AsSpan(_start, _end - _start).IndexOf(value);
        return i < 0 ? -1 : _start + i;
    }

    private async Task<string> ReadLineAsync(MemoryStream output, CancellationToken cancellationToken)
    {
        int lineEnd;
        while ((lineEnd = IndexOf("\r\n"u8)) < 0)
        {
            if (!await FillAsync(cancellationToken)) throw new IOException("The connection closed inside a chunk.");
        }
        var line = Encoding.Latin1.GetString(_buffer, _start, lineEnd - _start);
        Take(output, lineEnd + 2 - _start);
        return line;
    }

    private async Task CopyAsync(MemoryStream output, int count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(cancellationToken)) throw new IOException("The connection closed inside a body.");
            var n = Math.Min(count, _end - _start);
            Take(output, n);
            count -= n;
        }
    }

    private void Take(MemoryStream output, int count)
    {
        output.Write(_buffer, _start, count);
        _start += count;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        var n = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _end += n;
        return n > 0;
    }
}
