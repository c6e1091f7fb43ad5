using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;
using RunLedger.Ledger;

namespace RunLedger.Callbacks;

/// <summary>Resolves a host name to addresses; the callback sender checks every one before it connects.</summary>
public interface IHostResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

public sealed class DnsResolver : IHostResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken);
}

/// <summary>The target may never be called: it resolves to an address callbacks must not reach.</summary>
public sealed class CallbackRefusedException(string reason) : Exception(reason);

/// <summary>How one attempt went.</summary>
public sealed record SendResult(bool Delivered, bool Refused, int? Status, string Outcome, string? Excerpt, long Milliseconds);

/// <summary>
/// POSTs a signed callback. Guards against SSRF: the host name is checked, then resolved here and
/// every address checked by <see cref="AddressPolicy"/>; the connection goes to the checked address
/// (<see cref="SocketsHttpHandler.ConnectCallback"/>), so a second DNS answer cannot switch it
/// (rebinding). No proxy, no redirects followed, no cookies; a short timeout for the whole attempt;
/// at most <see cref="MaxExcerpt"/> characters of the response are kept.
/// </summary>
public sealed class CallbackSender : IDisposable
{
    public const int MaxExcerpt = 512;
    public const string DeliveryHeader = "X-RunLedger-Delivery";
    public const string EventHeader = "X-RunLedger-Event";
    public const string SignatureHeader = "X-RunLedger-Signature";

    private readonly HttpClient _client;
    private readonly IHostResolver _resolver;
    private readonly bool _allowLoopback;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _clock;

    public CallbackSender(IHostResolver resolver, CallbackEnvironment environment, IOptions<LedgerOptions> options, TimeProvider clock)
    {
        _resolver = resolver;
        _allowLoopback = environment.IsDevelopment;
        _timeout = options.Value.CallbackTimeout;
        _clock = clock;
        _client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = _timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = ConnectAsync,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Tests only: opens the connection to a checked address instead of a socket (so a broken guard can never reach out).</summary>
    internal Func<IPEndPoint, CancellationToken, ValueTask<Stream>>? ConnectOverride { get; set; }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        // The name first (a config stored before a rule was added meets it here), then every address it resolves to.
        if (AddressPolicy.HostRefusal(host, _allowLoopback) is { } named)
        {
            throw new CallbackRefusedException($"'{host}' is {named}, which callbacks may never reach.");
        }
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await _resolver.ResolveAsync(host, cancellationToken);
        foreach (var address in addresses)
        {
            if (AddressPolicy.Refusal(address, _allowLoopback) is { } refusal)
            {
                throw new CallbackRefusedException($"'{host}' resolves to {address}, {refusal}, which callbacks may never reach.");
            }
        }
        if (ConnectOverride is { } connect) return await connect(new IPEndPoint(addresses[0], context.DnsEndPoint.Port), cancellationToken);
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    public async Task<SendResult> SendAsync(string url, string eventName, string deliveryId, string secret, string body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("User-Agent", "RunLedger-Callbacks/1.0");
        request.Headers.TryAddWithoutValidation(DeliveryHeader, deliveryId);
        request.Headers.TryAddWithoutValidation(EventHeader, eventName);
        request.Headers.TryAddWithoutValidation(SignatureHeader, CallbackSignature.Header(secret, _clock.GetUtcNow(), body));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var excerpt = await ExcerptAsync(response, timeout.Token);
            var status = (int)response.StatusCode;
            var delivered = status is >= 200 and < 300;
            return new SendResult(delivered, false, status,
                delivered ? $"HTTP {status}" : status is >= 300 and < 400 ? $"HTTP {status} (redirects are not followed)" : $"HTTP {status}",
                excerpt, watch.ElapsedMilliseconds);
        }
        catch (Exception e) when (Refusal(e) is { } refused)
        {
            return new SendResult(false, true, null, "refused: " + refused.Message, null, watch.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendResult(false, false, null, $"timed out after {_timeout.TotalSeconds:0.###} s", null, watch.ElapsedMilliseconds);
        }
        catch (HttpRequestException e)
        {
            return new SendResult(false, false, null, $"connection failed ({e.HttpRequestError})", null, watch.ElapsedMilliseconds);
        }
    }

    private static CallbackRefusedException? Refusal(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is CallbackRefusedException refused) return refused;
        }
        return null;
    }

    private static async Task<string?> ExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxExcerpt * 4];
            var filled = 0;
            int read;
            while (filled < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0) filled += read;
            if (filled == 0) return null;
            var text = Encoding.UTF8.GetString(buffer, 0, filled);
            return text.Length > MaxExcerpt ? text[..MaxExcerpt] : text;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose() => _client.Dispose();
}
