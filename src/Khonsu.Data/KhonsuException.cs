using System.Data.Common;
using Khonsu.Engine;

namespace Khonsu.Data;

/// <summary>
/// An error raised by Khonsu itself (configuration, routing, a serialization conflict found at
/// commit). Errors raised by a database reach the application as that database's own exception.
/// </summary>
public sealed class KhonsuException : DbException
{
    private readonly string? _sqlState;
    private readonly bool _isTransient;

    /// <summary>An error of Khonsu's own with no SqlState, not transient.</summary>
    public KhonsuException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    internal KhonsuException(string message, string sqlState, bool isTransient, TransactionId? transactionId, Exception? innerException = null)
        : base(message, innerException)
    {
        _sqlState = sqlState;
        _isTransient = isTransient;
        TransactionId = transactionId?.ToString();
    }

    /// <summary>"40001" for a serialization failure, as PostgreSQL reports it.</summary>
    public override string? SqlState => _sqlState;

    /// <summary>True when retrying the whole transaction may succeed.</summary>
    public override bool IsTransient => _isTransient;

    /// <summary>The Khonsu transaction the error belongs to, if any.</summary>
    public string? TransactionId { get; }

    /// <summary>A serialization failure (SqlState 40001, transient), as backends report a conflict.</summary>
    public static KhonsuException SerializationFailure(string message, TransactionId transactionId, Exception? innerException = null)
        => new(message, "40001", isTransient: true, transactionId, innerException);

    /// <summary>A read-only transaction tried to write (SqlState 25006, as PostgreSQL reports it; not transient).</summary>
    internal static KhonsuException ReadOnlyViolation(string message, TransactionId transactionId, Exception? innerException = null)
        => new(message, "25006", false, transactionId, innerException);

    /// <summary>The commit log could not be reached (SqlState 08006, transient): retrying may succeed once it is back.</summary>
    internal static KhonsuException LogUnavailable(string message, TransactionId transactionId, Exception? innerException)
        => new(message, "08006", isTransient: true, transactionId, innerException);

    /// <summary>
    /// A deferrable read-only transaction found no safe snapshot in time (SqlState 57014, as
    /// PostgreSQL reports a statement timeout; transient: concurrent writers end eventually).
    /// </summary>
    internal static KhonsuException SafeSnapshotTimeout(string message, TransactionId transactionId, Exception? innerException)
        => new(message, "57014", isTransient: true, transactionId, innerException);

    internal static KhonsuException OutcomeUnknown(string message, TransactionId transactionId, Exception? innerException)
        => new(message, "08007", isTransient: false, transactionId, innerException);
}
