namespace Khonsu.Checker.History;

/// <summary>How a transaction's completion was reported to its client (Elle's ok / fail / info).</summary>
public enum Outcome
{
    /// <summary>Commit acknowledged: the transaction must be in the databases.</summary>
    Ok,

    /// <summary>Definitely not committed (rolled back, or failed before commit).</summary>
    Fail,

    /// <summary>Indeterminate: the client crashed or the commit's outcome is unknown. Possibly committed.</summary>
    Unknown,
}
