using System.Data;
using System.Data.Common;
using Khonsu.Data;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// What <c>context.Database.BeginTransaction()</c> gives EF on a Khonsu backend: a handle on the
/// Khonsu transaction of the context's <see cref="KhonsuConnection"/>, which it began or, when one
/// was in progress (begun by another context, on the connection itself, or by a TransactionScope),
/// joined. EF's <c>RelationalTransaction</c> drives it as it drives a provider's transaction
/// (logging and interceptors included), so every way EF ends a transaction goes through Khonsu's
/// commit protocol: Commit commits the Khonsu transaction across every backend (a handle that
/// joined leaves that to the one that began it); Rollback, and Dispose without Commit, roll the
/// whole Khonsu transaction back, never one backend alone; savepoints (EF's own around SaveChanges
/// included) are Khonsu's, on every backend the transaction touched.
/// </summary>
internal sealed class ContextTransaction : DbTransaction
{
    private readonly KhonsuTransaction _transaction;
    private readonly KhonsuBackendBinding _binding;
    private readonly DbConnection _providerConnection;
    private readonly bool _owns;
    private bool _ended;

    private ContextTransaction(KhonsuTransaction transaction, KhonsuBackendBinding binding, DbConnection providerConnection, bool owns)
    {
        _transaction = transaction;
        _binding = binding;
        _providerConnection = providerConnection;
        _owns = owns;
    }

    /// <summary>
    /// Joins the Khonsu transaction in progress on the context's connection, or begins one at
    /// <paramref name="isolationLevel"/>. Joining asks for no weaker level than the transaction runs
    /// at: a level that resolves to another one than the transaction's is refused.
    /// </summary>
    public static ContextTransaction BeginOrJoin(KhonsuBackendBinding binding, DbConnection providerConnection, IsolationLevel isolationLevel)
    {
        if (binding.Transaction is { IsImplicit: false } current)
        {
            if (isolationLevel != IsolationLevel.Unspecified && current.IsolationLevel != IsolationLevels.Resolve(isolationLevel))
            {
                throw new InvalidOperationException(
                    $"BeginTransaction({isolationLevel}) would join the Khonsu transaction in progress on this context's KhonsuConnection, which runs at {current.IsolationLevel}: " +
                    "ask for no level (or the same one) to join it, or end it first.");
            }

            return new ContextTransaction(current, binding, providerConnection, owns: false);
        }

        return new ContextTransaction(binding.ExecutionConnection.BeginTransaction(isolationLevel), binding, providerConnection, owns: true);
    }

    /// <summary>The Khonsu transaction this handle began or joined.</summary>
    public KhonsuTransaction Khonsu => _transaction;

    /// <summary>
    /// What EF puts in its commands' Transaction: the provider's own transaction object of the
    /// backend's local transaction (a SqliteTransaction), or null where Khonsu runs the local
    /// transaction in SQL (PostgreSQL) or the backend has none yet. Khonsu's statement pipeline sets
    /// each command's transaction itself anyway; this only keeps the provider's cast happy.
    /// </summary>
    public DbTransaction? ProviderTransaction
        => _transaction.IsCompleted ? null : _transaction.Participants.Find(_binding.Backend)?.InnerTransaction;

    /// <inheritdoc/>
    public override IsolationLevel IsolationLevel => _transaction.IsolationLevel;

    /// <inheritdoc/>
    public override bool SupportsSavepoints => true;

    /// <summary>The context's provider connection, which EF checks the transaction belongs to.</summary>
    protected override DbConnection DbConnection => _providerConnection;

    public override void Commit() => CommitAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// The handle that began the Khonsu transaction commits it atomically across every backend; one
    /// that joined it only ends (its work commits with the transaction), unless the transaction was
    /// rolled back meanwhile, which it reports.
    /// </summary>
    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        End();
        if (_owns)
        {
            await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (_transaction is { IsCompleted: true, Completion.IsCommitted: false })
        {
            throw new InvalidOperationException(
                $"Khonsu transaction {_transaction.TransactionId}, which this context's transaction joined, was rolled back: its work is not committed.");
        }
    }

    public override void Rollback() => RollbackAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Rolls the whole Khonsu transaction back, on every backend, whoever began it.</summary>
    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        End();
        await RollBackKhonsuAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Save(string savepointName) => SaveAsync(savepointName, CancellationToken.None).GetAwaiter().GetResult();

    public override Task SaveAsync(string savepointName, CancellationToken cancellationToken = default)
        => Active().SaveAsync(savepointName, cancellationToken);

    public override void Rollback(string savepointName) => RollbackAsync(savepointName, CancellationToken.None).GetAwaiter().GetResult();

    public override Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default)
        => Active().RollbackAsync(savepointName, cancellationToken);

    public override void Release(string savepointName) => ReleaseAsync(savepointName, CancellationToken.None).GetAwaiter().GetResult();

    public override Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default)
        => Active().ReleaseAsync(savepointName, cancellationToken);

    /// <summary>EF disposes the transaction it owns: without Commit or Rollback first, that rolls the Khonsu transaction back.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (!_ended)
        {
            _ended = true;
            await RollBackKhonsuAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc cref="DisposeAsync"/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_ended)
        {
            _ended = true;
            RollBackKhonsuAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    private async Task RollBackKhonsuAsync(CancellationToken cancellationToken)
    {
        if (!_transaction.IsCompleted)
        {
            await _transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void End()
    {
        Active();
        _ended = true;
    }

    private KhonsuTransaction Active()
    {
        if (_ended)
        {
            throw new InvalidOperationException("This transaction has completed; it is no longer usable.");
        }

        return _transaction;
    }
}
