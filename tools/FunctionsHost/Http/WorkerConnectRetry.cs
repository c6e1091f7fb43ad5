using System.Net.Sockets;

namespace FunctionsHost.Http;

/// <summary>
/// The worker reports its HttpUri slightly before its web server accepts connections (and again
/// after a restart), so, like the host, requests whose connection is refused are retried briefly.
/// Nothing was sent on a refused connection, so a retry cannot run a function twice.
/// </summary>
internal sealed class WorkerConnectRetry(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);
    private const int Attempts = 100;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e) when (attempt < Attempts && e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                await Task.Delay(Interval, cancellationToken);
            }
        }
    }
}
