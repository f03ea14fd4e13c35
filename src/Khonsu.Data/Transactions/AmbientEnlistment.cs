using System.Transactions;

namespace Khonsu.Data.Transactions;

/// <summary>
/// The Khonsu transaction an ambient <see cref="Transaction"/> (a <c>TransactionScope</c>) holds.
/// Khonsu takes part in it once, as its single resource: it coordinates every backend itself
/// (prepare, a durable decision in the log, recovery), so the scope sees one resource that
/// commits in one phase and never needs promotion to a distributed transaction, which .NET does
/// not have on Linux. The transaction runs on a connection of its own (the carrier) from the same
/// data source, which outlives the application's connections: they are usually closed before the
/// scope completes, and every Khonsu connection opened in the scope joins the same transaction.
/// </summary>
internal sealed class AmbientEnlistment : IPromotableSinglePhaseNotification
{
    private static readonly Dictionary<Transaction, AmbientEnlistment> Live = [];

    private readonly Transaction _ambient;
    private readonly KhonsuDataSource _dataSource;
    private readonly KhonsuTransaction _transaction;
    private volatile TransactionStatus _outcome = TransactionStatus.Active;

    private AmbientEnlistment(Transaction ambient, KhonsuDataSource dataSource, KhonsuConnection carrier, KhonsuTransaction transaction)
    {
        _ambient = ambient;
        _dataSource = dataSource;
        Carrier = carrier;
        _transaction = transaction;
    }

    /// <summary>The connection the transaction runs on: every statement of an enlisted connection runs on it.</summary>
    public KhonsuConnection Carrier { get; }

    /// <summary>The ambient transaction this enlistment belongs to.</summary>
    public Transaction Ambient => _ambient;

    /// <summary>Whether the scope has ended it (committed, rolled back, or in doubt).</summary>
    public bool HasEnded => _outcome != TransactionStatus.Active;

    /// <summary>How it ended, for an error that names it.</summary>
    public TransactionStatus Outcome => _outcome;

    /// <summary>
    /// The enlistment of <paramref name="ambient"/> on <paramref name="dataSource"/>: the one a
    /// connection opened earlier in the scope made, or a new one, which begins a Khonsu
    /// transaction at the scope's isolation level.
    /// </summary>
    public static async Task<AmbientEnlistment> JoinAsync(Transaction ambient, KhonsuDataSource dataSource, CancellationToken cancellationToken)
    {
        if (Find(ambient, dataSource) is { } existing)
        {
            return existing;
        }

        if (ambient.TransactionInformation.Status != TransactionStatus.Active)
        {
            throw new InvalidOperationException($"The ambient transaction is {ambient.TransactionInformation.Status.ToString().ToLowerInvariant()}: a connection cannot enlist in it.");
        }

        var carrier = new KhonsuConnection(dataSource, enlistsInAmbientTransaction: false);
        await carrier.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await carrier.BeginTransactionAsync(IsolationOf(ambient), cancellationToken).ConfigureAwait(false);
            var enlistment = new AmbientEnlistment(ambient, dataSource, carrier, transaction);
            lock (Live)
            {
                if (Find(ambient, dataSource) is { } raced)
                {
                    enlistment = raced; // another connection of the scope enlisted meanwhile; ours is closed below
                }
                else if (ambient.EnlistPromotableSinglePhase(enlistment))
                {
                    Live[ambient] = enlistment;
                    return enlistment;
                }
                else
                {
                    throw new InvalidOperationException(
                        "The ambient transaction already has a resource that commits in one phase (another provider's connection that enlisted, or another Khonsu data source). " +
                        "Khonsu takes part in a TransactionScope as its only such resource, so that it commits every database atomically without promotion: " +
                        "name every database in one Khonsu connection string, and open only Khonsu connections of that string inside the scope.");
                }
            }

            await carrier.DisposeAsync().ConfigureAwait(false);
            return enlistment;
        }
        catch
        {
            await carrier.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static AmbientEnlistment? Find(Transaction ambient, KhonsuDataSource dataSource)
    {
        lock (Live)
        {
            if (!Live.TryGetValue(ambient, out var existing))
            {
                return null;
            }

            return existing._dataSource == dataSource
                ? existing
                : throw new InvalidOperationException(
                    "The ambient transaction already holds a Khonsu connection of another connection string or data source. " +
                    "A TransactionScope commits atomically through one Khonsu data source: name every database in one connection string.");
        }
    }

    // System.Transactions' default is Serializable, which is Khonsu's too; the names match System.Data's.
    private static System.Data.IsolationLevel IsolationOf(Transaction ambient) =>
        Enum.Parse<System.Data.IsolationLevel>(ambient.IsolationLevel.ToString());

    void IPromotableSinglePhaseNotification.Initialize()
    {
        // The Khonsu transaction began in JoinAsync, before the enlistment: nothing to do.
    }

    /// <summary>The scope completed: commit across every backend (prepare, the log's decision, commit), as KhonsuTransaction.Commit does.</summary>
    void IPromotableSinglePhaseNotification.SinglePhaseCommit(SinglePhaseEnlistment singlePhaseEnlistment)
    {
        try
        {
            _transaction.Commit();
            _outcome = TransactionStatus.Committed;
            singlePhaseEnlistment.Committed();
        }
        catch (KhonsuException e) when (e.SqlState == "08007")
        {
            // The decision may be in the log: recovery finishes it one way, and the scope says it does not know which.
            _outcome = TransactionStatus.InDoubt;
            singlePhaseEnlistment.InDoubt(e);
        }
        catch (Exception e)
        {
            _outcome = TransactionStatus.Aborted;
            singlePhaseEnlistment.Aborted(e);
        }
        finally
        {
            End();
        }
    }

    /// <summary>The scope ended without Complete(), by an exception, or by its timeout: roll back every backend.</summary>
    void IPromotableSinglePhaseNotification.Rollback(SinglePhaseEnlistment singlePhaseEnlistment)
    {
        _outcome = TransactionStatus.Aborted;
        try
        {
            _transaction.Rollback();
            singlePhaseEnlistment.Aborted();
        }
        catch (Exception e)
        {
            // Nothing was decided, so recovery rolls back whatever a backend still holds (presumed abort).
            singlePhaseEnlistment.Aborted(e);
        }
        finally
        {
            End();
        }
    }

    byte[] ITransactionPromoter.Promote() =>
        throw new TransactionPromotionException(
            "A Khonsu connection's transaction cannot be promoted to a distributed transaction: Khonsu commits every database it names atomically itself, as the scope's only resource. " +
            "Open only Khonsu connections (of one connection string) inside the scope.");

    private void End()
    {
        lock (Live)
        {
            Live.Remove(_ambient);
        }

        Carrier.Dispose();
    }
}
