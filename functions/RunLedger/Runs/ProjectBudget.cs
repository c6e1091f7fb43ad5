namespace RunLedger.Runs;

/// <summary>
/// Whether a project has a budget, for a start that finds the project's counts row without its
/// <see cref="RunCounts.Budgeted"/> flag (the project's first run, or a row stored before the flag
/// was kept). Declared here, implemented by the budgets feature (<c>Budgets/BudgetView</c>), so
/// that runs depend on no feature above them.
/// </summary>
public interface IProjectBudget
{
    Task<bool> IsSetAsync(string projectId, CancellationToken cancellationToken);
}
