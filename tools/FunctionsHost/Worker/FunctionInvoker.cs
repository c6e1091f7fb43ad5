using FunctionsHost.Functions;
using FunctionsHost.Rpc;

namespace FunctionsHost.Worker;

/// <summary>Invokes a function on the current worker, waiting through a restart if there is one.</summary>
public sealed class FunctionInvoker(WorkerSupervisor supervisor)
{
    public async Task<InvocationResponse> InvokeAsync(
        FunctionDescriptor function, TypedData trigger, IDictionary<string, TypedData> triggerMetadata, CancellationToken cancellationToken)
    {
        var worker = await supervisor.WaitReadyAsync(cancellationToken);
        var request = NewRequest(function, trigger, triggerMetadata);
        using var cancel = cancellationToken.Register(() => worker.Channel.Cancel(request.InvocationId));
        return await worker.Channel.InvokeAsync(request);
    }

    public static InvocationRequest NewRequest(FunctionDescriptor function, TypedData trigger, IDictionary<string, TypedData> triggerMetadata)
    {
        var request = new InvocationRequest
        {
            InvocationId = Guid.NewGuid().ToString(),
            FunctionId = function.FunctionId,
            TraceContext = new RpcTraceContext { TraceParent = System.Diagnostics.Activity.Current?.Id ?? "" },
        };
        request.InputData.Add(new ParameterBinding { Name = function.TriggerParameter, Data = trigger });
        request.TriggerMetadata.Add(triggerMetadata);
        return request;
    }
}

public static class InvocationResponseExtensions
{
    public static bool Succeeded(this InvocationResponse response) =>
        response.Result?.Status == StatusResult.Types.Status.Success;
}
