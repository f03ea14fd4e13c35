using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Diagnostics;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Coordination;

/// <summary>
/// Runs the two-phase commit of one Khonsu transaction: prepare every participant, log the
/// decision (the commit point), finish the participants, log the end. Presumed abort: a
/// transaction with no decision in the log never committed.
/// </summary>
internal sealed class CommitCoordinator
{
    private readonly ICommitLog _log;
    private readonly string _nodeId;
    private readonly TimeProvider _time;
    private readonly CommitCertifier? _certifier;
    private readonly ISharedCommitLog? _shared;
    private readonly ConcurrentDictionary<TransactionId, byte> _inFlight = new();

    /// <param name="certifier">Certifies transactions that carry a snapshot; null to certify nothing (plain two-phase commit).</param>
    public CommitCoordinator(ICommitLog log, string nodeId, TimeProvider? time = null, CommitCertifier? certifier = null)
    {
        _log = log;
        _nodeId = nodeId;
        _time = time ?? TimeProvider.System;
        _certifier = certifier;
        _shared = log as ISharedCommitLog;
    }

    /// <summary>Called at each step of the protocol; crash tests stop the process there.</summary>
    internal Func<CommitStep, TransactionId, ValueTask>? StepObserver { get; set; }

    /// <summary>
    /// Whether this process is committing the transaction right now, so recovery leaves it alone.
    /// </summary>
    public bool IsInFlight(TransactionId transactionId) => _inFlight.ContainsKey(transactionId);

    /// <summary>
    /// Commits the transaction on every participant or on none. Returns once the decision is
    /// logged and the participants are finished (a participant that fails to finish is left to
    /// recovery: the transaction is committed all the same).
    /// </summary>
    public async ValueTask CommitAsync(TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, CancellationToken cancellationToken)
    {
        if (participants.Count == 0)
        {
            return;
        }

        _inFlight[transaction.Id] = 0;
        using var activity = KhonsuTelemetry.ActivitySource.StartActivity("khonsu.commit", ActivityKind.Internal);
        activity?.SetTag("khonsu.transaction_id", transaction.Id.ToString());
        activity?.SetTag("khonsu.participants", participants.Count);
        var clock = new PhaseClock(activity);
        var outcome = "unknown";
        string? abortReason = null;
        var certified = false;
        var finished = false;
        var settled = false; // the certifier was told how it ended (FinishAsync, or in doubt)
        // A shared log certifies every writer in log order, so each one needs its commit record:
        // no transaction commits in one phase there.
        var onePhase = participants.Count == 1 && participants[0].CanCommitInOnePhase && !CertifiesInLog(transaction);
        try
        {
            await StepAsync(CommitStep.BeforePrepare, transaction.Id).ConfigureAwait(false);
            var votes = MarkLastWriterWins(await PrepareAllAsync(transaction, participants, onePhase, cancellationToken).ConfigureAwait(false), transaction.LastWriterWinsTables);
            clock.End("prepare");
            if (transaction.ReadOnly && votes.FirstOrDefault(vote => !vote.ReadOnly) is { } wrote)
            {
                var violation = new ReadOnlyViolationException(transaction.Id, wrote.Participant);
                await AbortAsync(transaction, participants, violation.Message).ConfigureAwait(false);
                throw violation;
            }

            certified = await CertifyAsync(transaction, participants, votes, cancellationToken).ConfigureAwait(false);
            if (certified)
            {
                clock.End("certify");
            }

            await StepAsync(CommitStep.AfterAllPrepared, transaction.Id).ConfigureAwait(false);

            if (votes.All(vote => vote.ReadOnly))
            {
                // Read-only: nothing to make atomic, so nothing goes to the log.
                await FinishAsync(transaction, participants, certified, CancellationToken.None).ConfigureAwait(false);
                (outcome, finished, settled) = ("committed", true, true);
                return;
            }

            if (onePhase)
            {
                // One database commits atomically by itself: its COMMIT is the commit point, and
                // nothing goes to the log (a crash before it leaves nothing to recover).
                try
                {
                    await participants[0].CommitAsync(transaction.Id, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    await RollbackQuietlyAsync(participants, transaction.Id).ConfigureAwait(false);
                    throw;
                }
                finally
                {
                    finished = true;
                }

                clock.End("commit");
                outcome = "committed";
                return;
            }

            // Only participants that wrote have anything for recovery to finish.
            votes = votes.Where(vote => !vote.ReadOnly).ToList();
            try
            {
                await LogCommitDecisionAsync(transaction, participants, votes, cancellationToken).ConfigureAwait(false);
            }
            catch (CommitOutcomeUnknownException) when (certified)
            {
                // It may have committed, with its local transactions dropped or left prepared: until
                // recovery settles it from the log, what it wrote is met as in doubt, not as finished.
                _certifier!.InDoubt(transaction.Id, participants.Select(p => p.Name));
                settled = true;
                throw;
            }

            clock.End("log");
            outcome = "committed";
            await StepAsync(CommitStep.AfterDecisionLogged, transaction.Id).ConfigureAwait(false);

            // The decision is durable: finishing must not be cancelled halfway.
            finished = await FinishAsync(transaction, participants, certified, CancellationToken.None).ConfigureAwait(false);
            settled = true;
            clock.End("finish");
            if (finished)
            {
                await StepAsync(CommitStep.BeforeEndRecord, transaction.Id).ConfigureAwait(false);
                await TryAppendAsync(NewRecord(LogRecordKind.End, transaction, votes)).ConfigureAwait(false);
            }
        }
        catch (Exception error) when (error is not CommitOutcomeUnknownException && outcome != "committed")
        {
            (outcome, abortReason) = ("aborted", error is SerializationConflictException or TransactionAbortedException ? "conflict" : "error");
            throw;
        }
        finally
        {
            // FinishAsync told the certifier how the commit ended on each backend (a participant left
            // to recovery is in doubt until recovery tells it otherwise); every other way out of a
            // certified transaction never committed, or committed in one phase, or is unknown and
            // settled above: it holds up nothing any longer.
            if (certified && !settled)
            {
                _certifier!.Finished(transaction.Id);
            }

            _inFlight.TryRemove(transaction.Id, out _);
            clock.Total();
            activity?.SetTag("khonsu.outcome", outcome);
            KhonsuTelemetry.Transactions.Add(1, new("khonsu.outcome", outcome), new("khonsu.abort_reason", abortReason));
        }
    }

    /// <summary>
    /// Marks the writes to tables with the Replace conflict policy, so the mark travels in the
    /// commit record and every certifier reading the log exempts them from write-write conflicts.
    /// </summary>
    private static IReadOnlyList<ParticipantVote> MarkLastWriterWins(IReadOnlyList<ParticipantVote> votes, IReadOnlyCollection<ItemId> tables)
    {
        if (tables.Count == 0)
        {
            return votes;
        }

        return votes
            .Select(vote => vote with
            {
                Writes = [.. vote.Writes.Select(write => !write.LastWriterWins && tables.Contains(ItemId.Of(vote.Participant, write.Table)) ? write with { LastWriterWins = true } : write)],
            })
            .ToList();
    }

    /// <summary>Rolls every participant back. Nothing is logged: presumed abort.</summary>
    public async ValueTask RollbackAsync(IReadOnlyList<ITransactionParticipant> participants, TransactionId transactionId, CancellationToken cancellationToken)
    {
        List<Exception>? errors = null;
        foreach (var participant in participants)
        {
            try
            {
                await participant.RollbackAsync(transactionId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                (errors ??= []).Add(error);
            }
        }

        if (errors is not null)
        {
            throw errors.Count == 1 ? errors[0] : new AggregateException(errors);
        }
    }

    private async ValueTask<IReadOnlyList<ParticipantVote>> PrepareAllAsync(
        TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, bool onePhase, CancellationToken cancellationToken)
    {
        // Prepared one after the other so that each crash point leaves a known set prepared.
        var votes = new List<ParticipantVote>(participants.Count);
        try
        {
            foreach (var participant in participants)
            {
                var vote = onePhase
                    ? await participant.PrepareOnePhaseAsync(transaction.Id, cancellationToken).ConfigureAwait(false)
                    : await participant.PrepareAsync(transaction.Id, cancellationToken).ConfigureAwait(false);
                votes.Add(vote);
                await StepAsync(CommitStep.AfterParticipantPrepared, transaction.Id).ConfigureAwait(false);
            }

            // A transaction that writes commits at its log position: what it read anywhere must
            // still be current then. One that read on several backends took a snapshot on each at
            // a different moment and may have seen half of another transaction (a fractured read):
            // its reads must all be current at one instant, now. Participants that wrote checked
            // their own reads in prepare. At Snapshot isolation only the fractured-read guard of a
            // read-only transaction remains: a snapshot must still be one snapshot.
            var writes = votes.Any(vote => !vote.ReadOnly);
            if ((writes && transaction.Serializable) || (!writes && participants.Count > 1 && !SafeWithoutCertification(transaction)))
            {
                for (var i = 0; i < participants.Count; i++)
                {
                    if (votes[i].ReadOnly)
                    {
                        await participants[i].ValidateReadsAsync(transaction.Id, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception error)
        {
            await AbortAsync(transaction, participants, Describe(error)).ConfigureAwait(false);
            ExceptionDispatchInfo.Capture(error).Throw();
        }

        return votes;
    }

    /// <summary>
    /// Certifies the prepared transaction: whether committing it now keeps every transaction
    /// certified so far serializable (or, at Snapshot, free of write-write conflicts). On a
    /// conflict it is rolled back everywhere and fails with the item and the other transaction.
    /// With a shared log, a read-only transaction is also checked against what the log holds (a
    /// writer is certified again, in log order, when its commit record is read back).
    /// </summary>
    private async ValueTask<bool> CertifyAsync(
        TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, IReadOnlyList<ParticipantVote> votes, CancellationToken cancellationToken)
    {
        var writes = CertificationRequest.WritesOf(votes);
        if (writes.Count == 0 && SafeWithoutCertification(transaction))
        {
            return false;
        }

        // Its snapshot in the shared log may have passed over a commit that is in doubt somewhere:
        // touching what that one wrote is refused here, before any record of this one is appended.
        if (CertifiesInLog(transaction) && _shared!.Certifier.TouchesOverdue(new CertificationRequest(transaction.Id, transaction.LogSnapshot!.Value, transaction.Reads, writes)) is { } overdue)
        {
            await RefuseUnlessCommitAsync(overdue, transaction, participants).ConfigureAwait(false);
        }

        if (writes.Count == 0 && CertifiesInLog(transaction))
        {
            var request = new CertificationRequest(transaction.Id, transaction.LogSnapshot!.Value, transaction.Reads, writes) { SnapshotsTakenBy = transaction.SnapshotsTakenBy };
            await RefuseUnlessCommitAsync(_shared!.Certifier.CheckReadOnly(request, transaction.Serializable), transaction, participants).ConfigureAwait(false);
            if (transaction.Serializable && transaction.Reads.Count > 0)
            {
                await CertifyReadOnlyInLogAsync(transaction, participants, cancellationToken).ConfigureAwait(false);
            }
        }

        if (_certifier is null || transaction.Snapshot is not { } snapshot)
        {
            return false;
        }

        var local = new CertificationRequest(transaction.Id, snapshot, transaction.Reads, writes)
        {
            SnapshotsTakenBy = transaction.SnapshotsTakenBy,
            VisibleUpTo = transaction.VisibleUpTo,
            BackendSnapshots = transaction.BackendSnapshots,
            LastWriterWins = CertificationRequest.LastWriterWinsOf(votes),
        };
        CertificationResult verdict;
        try
        {
            verdict = await _certifier.CertifyAsync(local, transaction.Serializable, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException cancelled)
        {
            // Cancelled while a deferrable transaction held writers back: not certified, so abort.
            await AbortAsync(transaction, participants, Describe(cancelled)).ConfigureAwait(false);
            throw;
        }

        await RefuseUnlessCommitAsync(verdict, transaction, participants).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Other processes certify their commit records from the log alone: a read-only transaction
    /// that leaves no record can be Tin of a pivot that commits later in another process (the
    /// read-only anomaly), and that process would never know. So on a shared log a serializable
    /// read-only transaction appends a commit record with no participants and its reads: certified
    /// in log order like any other, remembered by every process, never prepared or ended. Its
    /// verdict comes back with the append; a refusal aborts it (it wrote nothing, so nothing to undo).
    /// </summary>
    private async ValueTask CertifyReadOnlyInLogAsync(TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, CancellationToken cancellationToken)
    {
        AppendResult appended;
        try
        {
            appended = await _log.AppendAsync(NewRecord(LogRecordKind.Commit, transaction, []) with { Certification = LogCertificationOf(transaction) }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception error)
        {
            // Nothing was written anywhere: failing (or being cancelled) is an abort, whatever became of the record.
            await AbortAsync(transaction, participants, Describe(error)).ConfigureAwait(false);
            throw;
        }

        if (appended.Refusal is { Commit: false } refusal)
        {
            await RefuseUnlessCommitAsync(refusal, transaction, participants).ConfigureAwait(false);
        }
    }

    private static LogCertification LogCertificationOf(TransactionInfo transaction)
        => new(transaction.LogSnapshot!.Value, transaction.Serializable, transaction.SnapshotsTakenBy is not null, [.. transaction.Reads]);

    private async ValueTask RefuseUnlessCommitAsync(CertificationResult verdict, TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants)
    {
        if (verdict.Commit)
        {
            return;
        }

        var conflict = Conflict(verdict, participants);
        await AbortAsync(transaction, participants, conflict.Message).ConfigureAwait(false);
        throw conflict;
    }

    private static SerializationConflictException Conflict(CertificationResult verdict, IReadOnlyList<ITransactionParticipant> participants)
    {
        var reason = verdict.Reason ?? "serialization conflict";
        return verdict.Item is { } item
            ? new SerializationConflictException(item.Backend, item.Table, item.Key, reason)
            : new SerializationConflictException(participants[0].Name, string.Empty, null, reason);
    }

    /// <summary>
    /// A read-only transaction on a safe snapshot needs neither read validation nor certification,
    /// unless the log is shared: this process waited only for its own concurrent writers, and those
    /// of other processes can still make the snapshot unsafe or land between its backend snapshots.
    /// </summary>
    private bool SafeWithoutCertification(TransactionInfo transaction) => transaction.SafeSnapshot && _shared is null;

    private bool CertifiesInLog(TransactionInfo transaction) => _shared is not null && transaction.LogSnapshot is not null;

    private async ValueTask LogCommitDecisionAsync(
        TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, IReadOnlyList<ParticipantVote> votes, CancellationToken cancellationToken)
    {
        LogRecordKind? decision;
        CertificationResult? refusal = null;
        try
        {
            var commit = NewRecord(LogRecordKind.Commit, transaction, votes);
            if (CertifiesInLog(transaction))
            {
                commit = commit with { Certification = LogCertificationOf(transaction) };
            }

            var appended = await _log.AppendAsync(commit, cancellationToken).ConfigureAwait(false);
            (decision, refusal) = (appended.Decision, appended.Refusal);
        }
        catch (Exception appendError)
        {
            decision = await SettleUnknownDecisionAsync(transaction, participants, appendError).ConfigureAwait(false);
        }

        if (decision != LogRecordKind.Commit)
        {
            await RollbackQuietlyAsync(participants, transaction.Id).ConfigureAwait(false);
            if (refusal is { Commit: false })
            {
                throw Conflict(refusal, participants);
            }

            throw new TransactionAbortedException(transaction.Id, "another process aborted it first after its lease ran out");
        }
    }

    /// <summary>
    /// The commit record may or may not have reached the log. An abort record appended now
    /// settles it: the first decision in log order wins, whichever it is.
    /// </summary>
    private async ValueTask<LogRecordKind?> SettleUnknownDecisionAsync(
        TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, Exception appendError)
    {
        try
        {
            var abort = NewRecord(LogRecordKind.Abort, transaction, []) with { Reason = "the commit record could not be confirmed: " + appendError.Message };
            var settled = await _log.AppendAsync(abort, CancellationToken.None).ConfigureAwait(false);
            if (settled.Decision == LogRecordKind.Abort)
            {
                await RollbackQuietlyAsync(participants, transaction.Id).ConfigureAwait(false);
                ExceptionDispatchInfo.Capture(appendError).Throw();
            }

            return settled.Decision;
        }
        catch (Exception settleError) when (settleError != appendError)
        {
            foreach (var participant in participants)
            {
                try
                {
                    await participant.AbandonAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Recovery settles it from the log; the caller learns only that the outcome is unknown.
                }
            }

            throw new CommitOutcomeUnknownException(transaction.Id, appendError);
        }
    }

    /// <summary>
    /// Commits every participant, telling the certifier (when <paramref name="certified"/>) as each
    /// backend shows the writes, so that snapshots taken there from then on see them; then that the
    /// transaction finished, or on which backends it is left in doubt for recovery. Returns whether
    /// every participant finished; the certifier has been told either way.
    /// </summary>
    private async ValueTask<bool> FinishAsync(TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, bool certified, CancellationToken cancellationToken)
    {
        List<string>? unfinished = null;
        foreach (var participant in participants)
        {
            try
            {
                await participant.CommitAsync(transaction.Id, cancellationToken).ConfigureAwait(false);
                if (certified)
                {
                    _certifier!.FinishedOn(transaction.Id, participant.Name);
                }
            }
            catch (Exception error)
            {
                // Committed in the log: recovery finishes this participant later.
                (unfinished ??= []).Add(participant.Name);
                await NoteQuietlyAsync(transaction.Id, participant.Name, ParticipantStatus.InDoubt, Describe(error)).ConfigureAwait(false);
            }

            await StepAsync(CommitStep.AfterParticipantFinished, transaction.Id).ConfigureAwait(false);
        }

        if (certified && unfinished is null)
        {
            _certifier!.Finished(transaction.Id);
        }
        else if (certified)
        {
            _certifier!.InDoubt(transaction.Id, unfinished!);
        }

        return unfinished is null;
    }

    /// <summary>
    /// Rolls every participant back, then logs the abort for DBAs. When every rollback succeeded
    /// the abort is the transaction's end too (<see cref="LogRecord.EndsTransaction"/>): nothing is
    /// left prepared, so it is no work for recovery and no tool should list it as in doubt.
    /// </summary>
    private async ValueTask AbortAsync(TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, string reason)
    {
        var rolledBack = await RollbackQuietlyAsync(participants, transaction.Id).ConfigureAwait(false);
        var votes = participants.Select(p => new ParticipantVote(p.Name, false, [])).ToList();
        await TryAppendAsync(NewRecord(LogRecordKind.Abort, transaction, votes) with { Reason = reason, EndsTransaction = rolledBack }).ConfigureAwait(false);
    }

    /// <returns>Whether every participant rolled back.</returns>
    private async ValueTask<bool> RollbackQuietlyAsync(IReadOnlyList<ITransactionParticipant> participants, TransactionId transactionId)
    {
        var all = true;
        foreach (var participant in participants)
        {
            try
            {
                await participant.RollbackAsync(transactionId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A participant that cannot roll back now is rolled back by recovery (no decision: presumed abort).
                all = false;
            }
        }

        return all;
    }

    /// <summary>Appends a record that the protocol does not depend on (abort under presumed abort, end).</summary>
    private async ValueTask TryAppendAsync(LogRecord record)
    {
        try
        {
            await _log.AppendAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Recovery writes the end record later; a missing abort record means abort all the same.
        }
    }

    private async ValueTask NoteQuietlyAsync(TransactionId transactionId, string participant, ParticipantStatus status, string reason)
    {
        try
        {
            await _log.NoteParticipantStatusAsync(transactionId, participant, status, reason, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Only a note for DBAs.
        }
    }

    private LogRecord NewRecord(LogRecordKind kind, TransactionInfo transaction, IReadOnlyList<ParticipantVote> votes) => new()
    {
        Kind = kind,
        TransactionId = transaction.Id,
        NodeId = _nodeId,
        Timestamp = _time.GetUtcNow(),
        StartedAt = transaction.StartedAt,
        Operation = transaction.Operation,
        Participants = votes,
    };

    private ValueTask StepAsync(CommitStep step, TransactionId transactionId)
        => StepObserver?.Invoke(step, transactionId) ?? ValueTask.CompletedTask;

    private static string Describe(Exception error) => error.GetType().Name + ": " + error.Message;
}
