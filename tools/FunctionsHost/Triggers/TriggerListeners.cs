using FunctionsHost.Configuration;
using FunctionsHost.Functions;
using FunctionsHost.Queues;
using FunctionsHost.Timers;
using FunctionsHost.Worker;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FunctionsHost.Triggers;

/// <summary>Starts a queue listener or timer for every such function once the worker reported them.</summary>
public sealed class TriggerListeners(
    WorkerSupervisor supervisor,
    FunctionInvoker invoker,
    QueueServiceFactory queues,
    HostJson hostJson,
    FunctionsHostOptions options,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly TaskCompletionSource<IReadOnlyList<QueueListener>> queueListeners = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<IReadOnlyList<QueueListener>> QueueListeners => queueListeners.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var functions = await supervisor.Functions.WaitAsync(stoppingToken);
        var queueLogger = loggerFactory.CreateLogger("Host.Queues");
        var timerLogger = loggerFactory.CreateLogger("Host.Timers");
        var listeners = functions
            .Where(f => f.Trigger == TriggerKind.Queue)
            .Select(f => new QueueListener(
                f,
                queues.GetQueue(f.Connection, f.QueueName!),
                QueueListener.PoisonQueueName(f.QueueName!) is { } poison ? queues.GetQueue(f.Connection, poison) : null,
                hostJson.Queues,
                options.QueueMessageLease,
                invoker,
                queueLogger))
            .ToList();
        queueListeners.TrySetResult(listeners);
        var timers = functions.Where(f => f.Trigger == TriggerKind.Timer).Select(f => CreateTimer(f, timerLogger)).OfType<TimerListener>().ToList();
        await Task.WhenAll(listeners.Select(l => l.RunAsync(stoppingToken)).Concat(timers.Select(t => t.RunAsync(stoppingToken))));
    }

    /// <summary>A timer with a bad schedule is reported and left out, as the host disables such a function; the rest run.</summary>
    private TimerListener? CreateTimer(FunctionDescriptor function, ILogger logger)
    {
        try
        {
            return new TimerListener(function, invoker, logger);
        }
        catch (FormatException e)
        {
            TimerLog.BadSchedule(logger, function.Name, e.Message);
            return null;
        }
    }
}
