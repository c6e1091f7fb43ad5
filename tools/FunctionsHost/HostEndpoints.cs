namespace FunctionsHost;

/// <summary>Where this host listens: the public HTTP address and the worker's gRPC port.</summary>
public sealed record HostEndpoints(Uri BaseAddress, int GrpcPort, string RoutePrefix);
