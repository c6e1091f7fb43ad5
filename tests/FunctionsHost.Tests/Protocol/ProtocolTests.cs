using System.Reflection;
using FunctionsHost.Rpc;
using FunctionsHost.Tests.Support;
using Google.Protobuf.Reflection;

namespace FunctionsHost.Tests.Protocol;

/// <summary>
/// Our FunctionRpc.proto is a hand-written subset of the protocol. This pins every message,
/// field and enum value in it to the descriptor the worker itself was built with, so a worker
/// upgrade that changes the protocol fails here rather than at run time.
/// </summary>
public sealed class ProtocolTests
{
    [Fact]
    public void EveryMessageFieldAndEnumValueWeDeclareMatchesTheWorkersOwnDescriptor()
    {
        var worker = WorkerDescriptor();
        var mismatches = new List<string>();
        var compared = 0;

        foreach (var ours in FunctionRpcReflection.Descriptor.MessageTypes)
        {
            compared += CompareMessage(ours, worker.MessageTypes.FirstOrDefault(m => m.FullName == ours.FullName), mismatches);
        }
        foreach (var ours in FunctionRpcReflection.Descriptor.EnumTypes)
        {
            CompareEnum(ours, worker.EnumTypes.FirstOrDefault(e => e.FullName == ours.FullName), mismatches);
        }
        var stream = worker.Services.Single(s => s.Name == "FunctionRpc").FindMethodByName("EventStream");

        Assert.Empty(mismatches);
        Assert.True(compared > 60, $"Only {compared} fields compared; the subset should hold more.");
        Assert.True(stream.IsClientStreaming && stream.IsServerStreaming);
        Assert.Equal("StreamingMessage", stream.InputType.Name);
    }

    private static int CompareMessage(MessageDescriptor ours, MessageDescriptor? theirs, List<string> mismatches)
    {
        if (theirs is null)
        {
            mismatches.Add($"message {ours.FullName} is not in the worker's protocol");
            return 0;
        }
        var compared = 0;
        foreach (var field in ours.Fields.InDeclarationOrder())
        {
            compared++;
            var other = theirs.FindFieldByNumber(field.FieldNumber);
            var where = $"{ours.FullName}.{field.Name} = {field.FieldNumber}";
            if (other is null)
            {
                mismatches.Add($"{where}: no such field number in the worker's protocol");
                continue;
            }
            Check(where, "name", field.Name, other.Name, mismatches);
            Check(where, "type", field.FieldType, other.FieldType, mismatches);
            Check(where, "label", (field.IsRepeated, field.IsMap), (other.IsRepeated, other.IsMap), mismatches);
            Check(where, "oneof", field.RealContainingOneof?.Name, other.RealContainingOneof?.Name, mismatches);
            if (field.FieldType == FieldType.Message)
            {
                Check(where, "message type", field.MessageType.FullName, other.MessageType.FullName, mismatches);
                if (field.IsMap)
                {
                    compared += CompareMessage(field.MessageType, other.MessageType, mismatches);
                }
            }
            if (field.FieldType == FieldType.Enum)
            {
                Check(where, "enum type", field.EnumType.FullName, other.EnumType.FullName, mismatches);
            }
        }
        foreach (var nested in ours.EnumTypes)
        {
            CompareEnum(nested, theirs.EnumTypes.FirstOrDefault(e => e.Name == nested.Name), mismatches);
        }
        return compared;
    }

    private static void CompareEnum(EnumDescriptor ours, EnumDescriptor? theirs, List<string> mismatches)
    {
        foreach (var value in ours.Values)
        {
            var other = theirs?.FindValueByNumber(value.Number);
            if (other?.Name != value.Name)
            {
                mismatches.Add($"enum {ours.FullName}: {value.Name} = {value.Number} is {other?.Name ?? "missing"} in the worker's protocol");
            }
        }
    }

    private static void Check<T>(string where, string what, T ours, T theirs, List<string> mismatches)
    {
        if (!EqualityComparer<T>.Default.Equals(ours, theirs))
        {
            mismatches.Add($"{where}: {what} is {ours} here but {theirs} in the worker's protocol");
        }
    }

    /// <summary>The descriptor compiled into the fixture worker's Microsoft.Azure.Functions.Worker.Grpc.dll (an internal type).</summary>
    private static FileDescriptor WorkerDescriptor()
    {
        var assembly = Assembly.LoadFrom(Path.Combine(HostFixture.AppDirectory, "Microsoft.Azure.Functions.Worker.Grpc.dll"));
        var reflection = assembly.GetType("Microsoft.Azure.Functions.Worker.Grpc.Messages.FunctionRpcReflection", throwOnError: true)!;
        var property = reflection.GetProperty("Descriptor", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)!;
        return (FileDescriptor)property.GetValue(null)!;
    }
}
