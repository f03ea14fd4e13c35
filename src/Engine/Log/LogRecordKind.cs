namespace Khonsu.Engine.Log;

/// <summary>The kinds of record in the commit log.</summary>
internal enum LogRecordKind : byte
{
    /// <summary>The decision to commit: every participant prepared. Its log position is the commit order.</summary>
    Commit = 1,

    /// <summary>The decision to abort. Optional under presumed abort, written so DBAs see why.</summary>
    Abort = 2,

    /// <summary>Every participant finished the decided outcome; recovery has nothing left to do.</summary>
    End = 3,

    /// <summary>
    /// Not a decision: a participant of a decided transaction that could not be finished yet
    /// (IN_DOUBT), with the reason, written to a shared log so that the transaction_log
    /// materialised from it shows what the embedded log's shows. Replay ignores it otherwise.
    /// </summary>
    InDoubtNote = 4,
}
