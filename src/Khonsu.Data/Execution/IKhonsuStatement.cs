using System.Data;
using System.Data.Common;
using Khonsu.Data.Routing;

namespace Khonsu.Data.Execution;

/// <summary>
/// One statement as the pipeline needs to know it, whichever API sent it: a
/// <see cref="KhonsuCommand"/> (or a command of a <see cref="KhonsuBatch"/>) or a command EF Core
/// built on a backend's inner connection. <see cref="StatementExecution"/> runs every one of them
/// the same way.
/// </summary>
internal interface IKhonsuStatement
{
    string CommandText { get; }

    CommandType CommandType { get; }

    int CommandTimeout { get; }

    KhonsuConnection Connection { get; }

    /// <summary>The transaction the caller gave the statement; null: the connection's, if any.</summary>
    KhonsuTransaction? Transaction { get; }

    /// <summary>
    /// The inner provider's command the caller built itself (EF Core builds its commands on the
    /// backend's inner connection), or null: the pipeline creates one on the route's backend.
    /// </summary>
    DbCommand? GivenCommand { get; }

    /// <summary>
    /// Whether the statement may begin a transaction of its own when none is in progress (see
    /// <see cref="RouteDecision.RunsAsImplicitTransaction"/>): only where the pipeline sees it end,
    /// to commit that transaction then.
    /// </summary>
    bool MayBeginImplicit { get; }

    /// <summary>
    /// Whether what the statement filtered on counts as read. False only for EF Core's
    /// SaveChanges, whose statements change rows it tracks by key and read back its own writes.
    /// </summary>
    bool RecordsWriteReads { get; }

    /// <summary>The backend that runs the statement and what it may read (see <see cref="StatementRouter"/>).</summary>
    RouteDecision Route();

    /// <summary>Copies the statement's parameters onto an inner command the pipeline created.</summary>
    void CopyParametersTo(DbCommand inner);

    /// <summary>Output parameters back from the inner command that ran.</summary>
    void CopyParametersFrom(DbCommand inner);
}
