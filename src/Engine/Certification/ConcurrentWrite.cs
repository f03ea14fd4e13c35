namespace Khonsu.Engine.Certification;

/// <summary>
/// One item of a candidate's read or write set (the <see cref="Index"/>-th, in the set's order) that
/// a transaction committed after the candidate's snapshot wrote. Sorted by commit position, then by
/// index, these come in the order a scan of every concurrent transaction would meet them, which
/// decides which conflict a refusal names.
/// </summary>
internal readonly record struct ConcurrentWrite(CommittedTransaction Writer, int Index, ItemId Item) : IComparable<ConcurrentWrite>
{
    public int CompareTo(ConcurrentWrite other)
    {
        var byPosition = Writer.Position.CompareTo(other.Writer.Position);
        return byPosition != 0 ? byPosition : Index.CompareTo(other.Index);
    }
}
