namespace Khonsu.Checker.History;

/// <summary>
/// What the databases hold: the registers before and after the run, and (optionally) every
/// committed write found in the audit tables. With <see cref="Installed"/> the checker knows the
/// exact fate of every transaction (lost, partial, unknown resolved); without it, it infers
/// what it can from the final registers, as Elle does.
/// </summary>
public sealed record FinalState(
    IReadOnlyList<RegisterState> Initial,
    IReadOnlyList<RegisterState> Final,
    IReadOnlyList<InstalledWrite>? Installed = null);
