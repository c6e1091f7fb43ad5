using FunctionsHost.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Worker;

/// <summary>
/// The host side of <c>FunctionRpc.EventStream</c>: the worker connects, says <c>StartStream</c>
/// with its id, and the stream then carries every request and response for that worker.
/// </summary>
public sealed class FunctionRpcService(WorkerConnections connections, ILoggerFactory loggerFactory) : FunctionRpc.FunctionRpcBase
{
    public override async Task EventStream(
        IAsyncStreamReader<StreamingMessage> requestStream,
        IServerStreamWriter<StreamingMessage> responseStream,
        ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.StartStream is not { } start)
        {
            return;
        }
        var channel = new WorkerChannel(start.WorkerId, loggerFactory);
        if (!connections.TryAccept(start.WorkerId, channel))
        {
            return;
        }
        await channel.RunAsync(requestStream, responseStream, context.CancellationToken);
    }
}
