using System.Data;

namespace Khonsu.Data;

/// <summary>How <see cref="KhonsuConnection.RunInTransactionAsync{T}"/> retries transient failures.</summary>
public sealed record KhonsuRetryOptions
{
    /// <summary>Ten attempts, backoff from 5 ms up to 1 s, Serializable, read-write.</summary>
    public static KhonsuRetryOptions Default { get; } = new();

    /// <summary>
    /// How many attempts may fail while the transaction is the oldest of the process before the
    /// error reaches the caller. Failures while an older transaction is live do not count: the
    /// transaction keeps its age across attempts and waits its turn (with backoff), and as the
    /// oldest it wins every wait Khonsu arbitrates, so only failures then say the work cannot commit.
    /// </summary>
    public int MaxAttempts { get; init; } = 10;

    /// <summary>The backoff before the second attempt; it doubles each time, up to <see cref="MaxDelay"/>, with full jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The longest backoff between attempts.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The isolation level of each attempt's transaction (see <see cref="KhonsuConnection.BeginTransaction(IsolationLevel)"/>); Unspecified is Serializable.</summary>
    public IsolationLevel IsolationLevel { get; init; } = IsolationLevel.Unspecified;

    /// <summary>Each attempt is a read-only transaction (see <see cref="KhonsuConnection.BeginReadOnlyTransaction"/>).</summary>
    public bool ReadOnly { get; init; }
}
