using Khonsu.Data;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;

namespace Khonsu.EntityFrameworkCore;

/// <summary>An EF command enlisted in a Khonsu transaction: the transaction, the backend's local transaction, and what the statement may read.</summary>
internal sealed record Enlistment(KhonsuTransaction Transaction, BackendTransaction Local, RouteDecision Route)
{
    /// <summary>The transaction was begun for this command alone (no transaction was in progress): it commits when the command ends.</summary>
    public bool Implicit { get; init; }
}
