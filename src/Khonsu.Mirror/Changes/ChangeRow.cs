using Khonsu.Engine.Commit;

namespace Khonsu.Mirror.Changes;

/// <summary>One row change as the log holds it, with its transaction's place in the log and the backend it was made on.</summary>
internal sealed record ChangeRow(long Position, string TransactionId, RowWrite Write)
{
    public required string Backend { get; init; }
}
