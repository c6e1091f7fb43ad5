using System.Text.Json.Nodes;
using Azure;

namespace RunLedger.Runs;

/// <summary>A run as stored: its JSON document plus the bookkeeping kept beside it on the row.</summary>
public sealed class RunRecord
{
    public required string ProjectId { get; init; }
    public required string RunId { get; init; }

    /// <summary>The run as clients see it (camelCase fields of the original run index).</summary>
    public required JsonObject Document { get; init; }

    public required string IndexRowKey { get; init; }

    public ETag ETag { get; set; }

    /// <summary>Number of progress events applied; the next event's sequence number is this plus one.</summary>
    public long EventCount { get; set; }

    /// <summary>Whether the job message reached the jobs queue (a retried start re-sends it when not).</summary>
    public bool JobDispatched { get; set; }

    /// <summary>Content hash of the start request, to tell a retry from a different request.</summary>
    public string? RequestHash { get; init; }

    /// <summary>
    /// Per-field clocks of agent reports and PATCHes (JSON-pointer path → clock), so that fields are
    /// last-writer-wins by time whatever order the queue delivers reports in.
    /// </summary>
    public JsonObject Clocks { get; init; } = [];

    /// <summary>
    /// What the start and PATCHes alone made of the top-level fields reports have written, with the
    /// PATCHes' clocks: where the fields are rebuilt from when reports dated after the final one must
    /// be undone (<see cref="Progress.ReportEffects.Rebuild"/>). Empty until a report writes a field.
    /// </summary>
    public JsonObject Base { get; init; } = [];

    /// <summary>
    /// Not stored: the project's budget as the save that makes this run final leaves it (set by a
    /// report whose cost is in the same transaction), for the final callback's <c>money</c>.
    /// </summary>
    public JsonObject? BudgetAfterSave { get; set; }

    /// <summary>
    /// Exact cost totals and invoice lines in micro-dollars (<c>totalCostMicros</c>,
    /// <c>totalTokens</c>, <c>unpricedSteps</c>, <c>lines</c>), updated with each cost row.
    /// </summary>
    public JsonObject Costs { get; init; } = [];

    /// <summary>
    /// A fresh id on every write of the run row. When storage's answer is lost and the SDK sends a
    /// write again, the retry fails its condition; finding our own id on the row then tells
    /// "our first attempt committed" from "someone else wrote".
    /// </summary>
    public string WriteId { get; set; } = "";

    /// <summary>Incremented by every save, so projections of the run never go backwards.</summary>
    public long Version { get; set; }

    public string Status => (string?)Document["status"] ?? RunStatus.Queued;

    /// <summary>Whether the stale sweep marked the run (<c>stale: true</c>); cleared by the next change.</summary>
    public bool Stale => Document["stale"] is JsonValue v && v.TryGetValue(out bool stale) && stale;

    /// <summary>Status and stale as stored (null for a run not yet created): what a save changes them from.</summary>
    public string? StoredStatus { get; set; }

    public bool StoredStale { get; set; }

    /// <summary>
    /// When something last happened to the run (a report, a PATCH, its start): every save but the
    /// stale sweep's moves it. Null for runs stored before it was kept (their <c>updatedAt</c> stands in).
    /// </summary>
    public DateTimeOffset? LastActivity { get; set; }

    /// <summary>
    /// Retention has begun deleting the run's rows (its event-id markers among them): no report may
    /// apply to it any more, since a redelivered one would no longer be known as applied.
    /// </summary>
    public bool Purging { get; set; }

    /// <summary>
    /// Whether the run's costs go through the project's budget row (its month-to-date spend): set
    /// at start from the project's counts row (<see cref="RunCounts.Budgeted"/>), and on every
    /// active run when a budget is turned on (<see cref="RunStore.MarkActiveRunsBudgetedAsync"/>).
    /// A report with usage of a run that is not budgeted reads and writes no budget row. Null for
    /// runs stored before it was kept: those read the budget row, as every run did then.
    /// </summary>
    public bool? Budgeted { get; set; }

    /// <summary>The row of the Idempotency-Key that created the run, so retention can delete it too.</summary>
    public string? IdempotencyRow { get; set; }

    /// <summary>The change the next save makes to status and stale, compared with the stored run.</summary>
    public RunChange Change => new(StoredStatus, StoredStale, Status, Stale);
}
