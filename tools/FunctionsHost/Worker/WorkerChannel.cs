using System.Collections.Concurrent;
using System.Threading.Channels;
using FunctionsHost.Rpc;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Worker;

/// <summary>
/// One connected worker: sends messages in order on its stream, pairs responses with requests
/// (by request id) and invocation results with invocations (by invocation id), and forwards the
/// worker's logs. When the stream ends every pending call fails with <see cref="WorkerGoneException"/>.
/// </summary>
public sealed class WorkerChannel(string workerId, ILoggerFactory loggerFactory)
{
    private readonly Channel<StreamingMessage> outbound = Channel.CreateUnbounded<StreamingMessage>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> requests = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> invocations = new();
    private readonly TaskCompletionSource closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger logger = loggerFactory.CreateLogger("Host.Worker");

    public string WorkerId { get; } = workerId;

    /// <summary>Completes when the worker's stream has ended.</summary>
    public Task Closed => closed.Task;

    internal async Task RunAsync(IAsyncStreamReader<StreamingMessage> reader, IServerStreamWriter<StreamingMessage> writer, CancellationToken cancellationToken)
    {
        var writing = WriteAllAsync(writer, cancellationToken);
        try
        {
            while (await reader.MoveNext(cancellationToken))
            {
                Dispatch(reader.Current);
            }
        }
        catch (Exception e) when (e is IOException or Grpc.Core.RpcException or OperationCanceledException)
        {
            WorkerLog.StreamBroken(logger, WorkerId, e.Message);
        }
        finally
        {
            outbound.Writer.TryComplete();
            var gone = new WorkerGoneException(WorkerId);
            foreach (var pending in requests.Values) pending.TrySetException(gone);
            foreach (var pending in invocations.Values) pending.TrySetException(gone);
            closed.TrySetResult();
        }
        try
        {
            await writing;
        }
        catch (Exception e) when (e is IOException or Grpc.Core.RpcException or OperationCanceledException or InvalidOperationException)
        {
            // The stream is gone; nothing more can be sent.
        }
    }

    private async Task WriteAllAsync(IServerStreamWriter<StreamingMessage> writer, CancellationToken cancellationToken)
    {
        await foreach (var message in outbound.Reader.ReadAllAsync(cancellationToken))
        {
            await writer.WriteAsync(message, cancellationToken);
        }
    }

    private void Dispatch(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.RpcLog:
                WorkerLogForwarder.Forward(loggerFactory, message.RpcLog);
                break;
            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (invocations.TryRemove(message.InvocationResponse.InvocationId, out var invocation))
                {
                    invocation.TrySetResult(message.InvocationResponse);
                }
                break;
            default:
                if (requests.TryRemove(message.RequestId, out var request))
                {
                    request.TrySetResult(message);
                }
                break;
        }
    }

    /// <summary>Sends a request and waits for the worker's reply to it.</summary>
    public async Task<StreamingMessage> RequestAsync(StreamingMessage message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        message.RequestId = Guid.NewGuid().ToString();
        var reply = new TaskCompletionSource<StreamingMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        requests[message.RequestId] = reply;
        Send(message);
        try
        {
            return await reply.Task.WaitAsync(timeout, cancellationToken);
        }
        finally
        {
            requests.TryRemove(message.RequestId, out _);
        }
    }

    /// <summary>Starts an invocation; the task completes with the worker's result.</summary>
    public Task<InvocationResponse> InvokeAsync(InvocationRequest request)
    {
        var result = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        invocations[request.InvocationId] = result;
        if (Closed.IsCompleted)
        {
            result.TrySetException(new WorkerGoneException(WorkerId));
        }
        Send(new StreamingMessage { InvocationRequest = request });
        return result.Task;
    }

    /// <summary>Asks the worker to cancel an invocation (the function's CancellationToken fires).</summary>
    public void Cancel(string invocationId)
    {
        if (invocations.ContainsKey(invocationId))
        {
            Send(new StreamingMessage { InvocationCancel = new InvocationCancel { InvocationId = invocationId, GracePeriod = Duration.FromTimeSpan(TimeSpan.Zero) } });
        }
    }

    public void Terminate(TimeSpan gracePeriod) =>
        Send(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(gracePeriod) } });

    private void Send(StreamingMessage message) => outbound.Writer.TryWrite(message);
}

/// <summary>The worker's stream ended (it exited or was killed) before it answered.</summary>
public sealed class WorkerGoneException(string workerId) : Exception($"Worker {workerId} went away before it answered.");
