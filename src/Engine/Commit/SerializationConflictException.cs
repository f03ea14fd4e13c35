namespace Khonsu.Engine.Commit;

/// <summary>
/// A transaction cannot commit because what it read or wrote changed underneath it. Retrying the
/// whole transaction may succeed.
/// </summary>
public sealed class SerializationConflictException : Exception
{
    /// <summary>A conflict found on <paramref name="participant"/> over <paramref name="table"/> (and row <paramref name="key"/>, null for the whole table).</summary>
    public SerializationConflictException(string participant, string table, string? key, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Participant = participant;
        Table = table;
        Key = key;
    }

    /// <summary>The backend where the conflict was found.</summary>
    public string Participant { get; }

    /// <summary>The table of the conflicting row.</summary>
    public string Table { get; }

    /// <summary>The conflicting row's key, or null for a table-level conflict.</summary>
    public string? Key { get; }
}
