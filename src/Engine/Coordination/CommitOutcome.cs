namespace Khonsu.Engine.Coordination;

/// <summary>How a commit ended, as the <c>khonsu.outcome</c> tag reports it.</summary>
internal enum CommitOutcome
{
    /// <summary>Not known here: the decision could not be logged nor settled (recovery settles it), or it never got that far.</summary>
    Unknown,

    /// <summary>Committed: the decision is durable, the one database committed, or it was read-only.</summary>
    Committed,

    /// <summary>Rolled back before any decision to commit, or the log decided abort.</summary>
    Aborted,
}
