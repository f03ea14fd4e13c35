using Apache.Arrow;

namespace Khonsu.Mirror.Changes;

/// <summary>
/// Whole committed transactions, consecutive in commit-log order, and their row changes: one Arrow
/// batch per table they touched, rows in log order (see <see cref="ChangeColumns"/> for the
/// columns). <see cref="ThroughPosition"/> is where the next read starts after it.
/// </summary>
public sealed class ChangeGroup
{
    internal ChangeGroup(IReadOnlyList<CommittedChange> transactions, IReadOnlyList<RecordBatch> batches, long throughPosition)
    {
        Transactions = transactions;
        Batches = batches;
        ThroughPosition = throughPosition;
    }

    /// <summary>The committed transactions, in commit order.</summary>
    public IReadOnlyList<CommittedChange> Transactions { get; }

    /// <summary>One batch per table (backend and table in its schema's metadata), rows in commit order.</summary>
    public IReadOnlyList<RecordBatch> Batches { get; }

    /// <summary>
    /// The last log position this group accounts for (its last commit, or a later record that was
    /// no commit): a reader continues after it.
    /// </summary>
    public long ThroughPosition { get; }

    /// <summary>The last commit's position, or null when the group holds no commit (only records that were no commit).</summary>
    public long? LastCommitPosition => Transactions.Count == 0 ? null : Transactions[^1].Position;

    /// <summary>The backend a batch of <see cref="Batches"/> comes from.</summary>
    public static string BackendOf(RecordBatch batch) => batch.Schema.Metadata[ChangeColumns.BackendMetadata];

    /// <summary>The table a batch of <see cref="Batches"/> comes from.</summary>
    public static string TableOf(RecordBatch batch) => batch.Schema.Metadata[ChangeColumns.TableMetadata];

    /// <summary>The key columns of a batch's table, in key order.</summary>
    public static IReadOnlyList<string> KeyColumnsOf(RecordBatch batch) => batch.Schema.Metadata[ChangeColumns.KeyColumnsMetadata].Split(',');
}
