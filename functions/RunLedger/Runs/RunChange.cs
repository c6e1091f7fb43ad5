namespace RunLedger.Runs;

/// <summary>
/// What a save does to a run's lifecycle: its status and stale flag before and after. Every save
/// goes through <see cref="RunStore"/>, which looks at this to keep the rows that follow the
/// lifecycle in the same transaction (the project's counts, the active-runs index), and is the
/// one place to attach further actions to "became final" or "became stale".
/// </summary>
/// <param name="PreviousStatus">The stored status; null when the save creates the run.</param>
public sealed record RunChange(string? PreviousStatus, bool PreviousStale, string Status, bool Stale)
{
    public bool Created => PreviousStatus is null;

    public bool StatusChanged => PreviousStatus != Status;

    public bool StaleChanged => PreviousStale != Stale;

    /// <summary>The run was active (or new) and is now completed, failed or cancelled.</summary>
    public bool BecameFinal => !RunStatus.IsTerminal(PreviousStatus) && RunStatus.IsTerminal(Status);

    /// <summary>The stale sweep has just marked the run.</summary>
    public bool BecameStale => !PreviousStale && Stale;

    /// <summary>Whether the project's counts row changes with this save.</summary>
    public bool ChangesCounts => StatusChanged || StaleChanged;

    /// <summary>Queued or running after the save, so it belongs in the active-runs index.</summary>
    public bool IsActive => !RunStatus.IsTerminal(Status);

    public bool WasActive => PreviousStatus is not null && !RunStatus.IsTerminal(PreviousStatus);
}
