namespace Khonsu.Mirror.DuckDb;

/// <summary>
/// A source table changed in a way the mirror cannot follow (a column whose type changed, say): the
/// message names the table and column. Nothing of the transaction was applied.
/// </summary>
public sealed class MirrorSchemaException : InvalidOperationException
{
    internal MirrorSchemaException(string message)
        : base(message)
    {
    }
}
