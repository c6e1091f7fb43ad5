using Azure.Data.Tables;

namespace RunLedger.Runs;

/// <summary>A row a run's save writes in its own transaction, and hands on once the save commits.</summary>
public interface IOutboxRecord
{
    TableEntity ToEntity();
}

/// <summary>
/// What a run's save raises for features above runs (the callbacks' outbox, <c>Callbacks/CallbackOutbox</c>):
/// the records a change calls for, their schedule entries (written before the save, in another
/// partition) and their delivery messages (sent after it commits). Declared here, implemented
/// there, so that runs depend on no feature above them.
/// </summary>
public interface IRunOutbox
{
    Task<IReadOnlyList<IOutboxRecord>> ForRunChangeAsync(RunRecord run, RunChange change, CancellationToken cancellationToken);

    Task ScheduleAsync(IReadOnlyList<IOutboxRecord> records, CancellationToken cancellationToken);

    Task EnqueueAsync(IReadOnlyList<IOutboxRecord> records, CancellationToken cancellationToken);
}
