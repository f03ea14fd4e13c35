using System.Data;

namespace Khonsu.Data;

/// <summary>
/// Maps the requested isolation level to one Khonsu provides. Weaker levels run at Snapshot
/// (stronger than asked, as PostgreSQL runs READ UNCOMMITTED as READ COMMITTED).
/// </summary>
internal static class IsolationLevels
{
    public static IsolationLevel Resolve(IsolationLevel requested) => requested switch
    {
        IsolationLevel.Unspecified or IsolationLevel.Serializable => IsolationLevel.Serializable,
        IsolationLevel.Snapshot or IsolationLevel.RepeatableRead or IsolationLevel.ReadCommitted or IsolationLevel.ReadUncommitted => IsolationLevel.Snapshot,
        _ => throw new KhonsuException($"Isolation level {requested} is not supported: Khonsu transactions are Serializable (the default) or Snapshot."),
    };
}
