namespace Khonsu.Engine.Recovery;

/// <summary>A transaction a backend holds prepared, and since when (for the abort lease).</summary>
/// <param name="OfThisLog">
/// The backend marked it as prepared under this recovery's own log (PostgreSQL: the log's tag in
/// its gid). False for a mark that names no log (prepared by a build from before logs were told
/// apart), which could belong to any log: such a transaction is only ever aborted after the lease.
/// </param>
public sealed record PreparedTransaction(TransactionId TransactionId, DateTimeOffset PreparedAt, bool OfThisLog = false);
