using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Coordination;

namespace Khonsu.Data;

/// <summary>
/// A transaction across every backend it touches. Each backend's local transaction begins when a
/// statement first reaches that backend; commit is atomic across all of them.
/// </summary>
public sealed class KhonsuTransaction : DbTransaction
{
    private readonly KhonsuConnection _connection;
    private readonly List<BackendTransaction> _participants = [];
    private readonly OperationSummary _operation = new();
    private bool _completed;

    internal KhonsuTransaction(KhonsuConnection connection, IsolationLevel isolationLevel)
    {
        _connection = connection;
        IsolationLevel = isolationLevel;
        Id = Engine.TransactionId.New();
        StartedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>The transaction's id, as transaction_log shows it.</summary>
    public string TransactionId => Id.ToString();

    public override IsolationLevel IsolationLevel { get; }

    internal Engine.TransactionId Id { get; }

    internal DateTimeOffset StartedAt { get; }

    internal bool IsCompleted => _completed;

    internal bool SpansSeveralBackends => _participants.Count > 1;

    protected override DbConnection DbConnection => _connection;

    public override void Commit() => CommitAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        var runtime = _connection.Runtime;
        try
        {
            await runtime.Coordinator.CommitAsync(new TransactionInfo(Id, StartedAt, _operation.ToString()), _participants, cancellationToken).ConfigureAwait(false);
        }
        catch (SerializationConflictException conflict)
        {
            throw KhonsuException.SerializationFailure(
                $"Transaction {Id} was rolled back on every backend: {conflict.Message}", Id, conflict);
        }
        catch (TransactionAbortedException aborted)
        {
            throw KhonsuException.SerializationFailure(aborted.Message, Id, aborted);
        }
        catch (CommitOutcomeUnknownException unknown)
        {
            throw KhonsuException.OutcomeUnknown(unknown.Message, Id, unknown);
        }
        finally
        {
            Complete();
        }
    }

    public override void Rollback() => RollbackAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        try
        {
            await _connection.Runtime.Coordinator.RollbackAsync(_participants, Id, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Complete();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_completed)
        {
            await RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_completed)
        {
            Rollback();
        }

        base.Dispose(disposing);
    }

    /// <summary>The local transaction on a backend, begun on first use.</summary>
    internal async ValueTask<BackendTransaction> EnlistAsync(KhonsuBackend backend, DbConnection inner, CancellationToken cancellationToken)
    {
        EnsureActive();
        foreach (var participant in _participants)
        {
            if (participant.Backend == backend)
            {
                return participant;
            }
        }

        var local = await backend.BeginTransactionAsync(inner, Id, IsolationLevel, cancellationToken).ConfigureAwait(false);
        _participants.Add(local);
        return local;
    }

    internal void Record(string backend, string sql) => _operation.Add(backend, sql);

    private void EnsureActive()
    {
        if (_completed)
        {
            throw new InvalidOperationException("This transaction has completed; it is no longer usable.");
        }
    }

    private void Complete()
    {
        _completed = true;
        if (_connection.CurrentTransaction == this)
        {
            _connection.CurrentTransaction = null;
        }
    }
}
