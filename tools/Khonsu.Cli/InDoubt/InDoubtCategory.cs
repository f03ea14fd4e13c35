namespace Khonsu.Cli.InDoubt;

/// <summary>What an unfinished transaction means to an operator.</summary>
internal enum InDoubtCategory
{
    /// <summary>Committed in the log and not finished everywhere, or prepared with no decision: recovery must act, or a human.</summary>
    InDoubt,

    /// <summary>Aborted in the log, and a backend still holds it prepared (or cannot be asked): recovery rolls it back.</summary>
    ToRollBack,

    /// <summary>Aborted, and nothing is left prepared: only its end record is missing. Nothing to see; recovery closes it.</summary>
    Closed,
}
