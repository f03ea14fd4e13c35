using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Diagnostics;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Coordination;

/// <summary>
/// Runs the two-phase commit of one Khonsu transaction: prepare every participant, certify, log the
/// decision (the commit point), finish the participants, log the end. Presumed abort: a
/// transaction with no decision in the log never committed. <see cref="CommitAsync"/> reads as the
/// protocol does, phase after phase, in the order docs/how-khonsu-works.md tells it.
/// </summary>
internal sealed class CommitCoordinator
{
    private readonly ICommitLog _log;
    private readonly string _nodeId;
    private readonly TimeProvider _time;
    private readonly CertificationStrategy _certification;
    private readonly Func<TransactionInfo, LogRecord> _bareCommitRecord;
    private readonly ConcurrentDictionary<TransactionId, byte> _inFlight = new();

    /// <param name="certifier">Certifies transactions that carry a snapshot; null to certify nothing (plain two-phase commit).</param>
    public CommitCoordinator(ICommitLog log, string nodeId, TimeProvider? time = null, CommitCertifier? certifier = null)
        : this(log, nodeId, CertificationStrategy.For(log, certifier), time)
    {
    }

    /// <param name="certification">How to certify, chosen for <paramref name="log"/> when the runtime opened it.</param>
    internal CommitCoordinator(ICommitLog log, string nodeId, CertificationStrategy certification, TimeProvider? time = null)
    {
        _log = log;
        _nodeId = nodeId;
        _time = time ?? TimeProvider.System;
        _certification = certification;
        _bareCommitRecord = transaction => NewRecord(LogRecordKind.Commit, transaction, []);
    }

    /// <summary>How this coordinator certifies, chosen for its log when the runtime opened it.</summary>
    internal CertificationStrategy Certification => _certification;

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
    /// <param name="async">
    /// False for a synchronous caller: every participant and the log are asked with their
    /// synchronous I/O, one after the other, so the returned task has completed when this returns
    /// and no step waits for a thread-pool thread (one protocol for both, Npgsql's <c>bool async</c>).
    /// </param>
    public async ValueTask CommitAsync(TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, bool async, CancellationToken cancellationToken)
    {
        if (participants.Count == 0)
        {
            return;
        }

        // In flight before anything is prepared, until it is over (its decision logged first):
        // recovery of the embedded log takes a prepared transaction not in flight for one a dead run left.
        _inFlight[transaction.Id] = 0;
        using var activity = KhonsuTelemetry.ActivitySource.StartActivity("khonsu.commit", ActivityKind.Internal);
        activity?.SetTag("khonsu.transaction_id", transaction.Id.ToString());
        activity?.SetTag("khonsu.participants", participants.Count);
        var commit = new CommitRun(transaction, participants, async, new PhaseClock(activity));
        try
        {
            await StepAsync(CommitStep.BeforePrepare, transaction.Id).ConfigureAwait(false);
            try
            {
                await PrepareAsync(commit, cancellationToken).ConfigureAwait(false);
                CheckReadOnly(commit);
                await CertifyAsync(commit, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                // Nothing is decided: the one way back is to roll back everywhere (presumed abort).
                await AbortAsync(commit, commit.Refusal ?? Describe(error)).ConfigureAwait(false);
                throw;
            }

            await StepAsync(CommitStep.AfterAllPrepared, transaction.Id).ConfigureAwait(false);
            if (commit.Votes.All(vote => vote.ReadOnly))
            {
                await CommitReadOnlyAsync(commit).ConfigureAwait(false);
            }
            else if (commit.OnePhase)
            {
                await CommitInOnePhaseAsync(commit, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await DecideAsync(commit, cancellationToken).ConfigureAwait(false);
                await FinishAsync(commit).ConfigureAwait(false);
            }
        }
        catch (Exception error) when (error is not CommitOutcomeUnknownException && commit.Outcome != CommitOutcome.Committed)
        {
            commit.Aborted(error is SerializationConflictException or TransactionAbortedException ? "conflict" : "error");
            throw;
        }
        finally
        {
            End(commit, activity);
        }
    }

    /// <summary>Rolls every participant back. Nothing is logged: presumed abort.</summary>
    public async ValueTask RollbackAsync(IReadOnlyList<ITransactionParticipant> participants, TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        List<Exception>? errors = null;
        foreach (var participant in participants)
        {
            try
            {
                await participant.RollbackAsync(transactionId, async, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Phase 1, prepare: every participant votes. All are asked at once, so that one database's
    /// round trip and sync run while another prepares (SQLite prepares in process, PostgreSQL over
    /// the network): prepare costs the slowest participant, not their sum. Their votes are then
    /// taken in participant order, each step reported as its participant is prepared (a synchronous
    /// caller's participants prepare one after the other, each vote complete when asked). A crash can
    /// leave any set of them prepared, which recovery rolls back alike: nothing is decided yet.
    /// Then the reads that must be current are validated.
    /// </summary>
    private async ValueTask PrepareAsync(CommitRun commit, CancellationToken cancellationToken)
    {
        var (transaction, participants) = (commit.Transaction, commit.Participants);
        commit.OnePhase = participants.Count == 1 && participants[0].CanCommitInOnePhase && _certification.AllowsOnePhase(transaction);
        var voting = new ValueTask<ParticipantVote>[participants.Count];
        for (var i = 0; i < participants.Count; i++)
        {
            voting[i] = VoteAsync(participants[i], transaction.Id, commit.OnePhase, commit.Async, cancellationToken);
        }

        // Every vote is awaited, even after a no: a participant still preparing cannot be rolled back.
        var votes = new List<ParticipantVote>(participants.Count);
        ExceptionDispatchInfo? no = null;
        foreach (var vote in voting)
        {
            try
            {
                votes.Add(await vote.ConfigureAwait(false));
                await StepAsync(CommitStep.AfterParticipantPrepared, transaction.Id).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                no ??= ExceptionDispatchInfo.Capture(error);
            }
        }

        no?.Throw();

        // A transaction that writes commits at its log position: what it read anywhere must
        // still be current then. One that read on several backends took a snapshot on each at
        // a different moment and may have seen half of another transaction (a fractured read):
        // its reads must all be current at one instant, now. Participants that wrote checked
        // their own reads in prepare. At Snapshot isolation only the fractured-read guard of a
        // read-only transaction remains: a snapshot must still be one snapshot.
        var writes = votes.Any(vote => !vote.ReadOnly);
        if ((writes && transaction.Serializable) || (!writes && participants.Count > 1 && !_certification.TrustsSafeSnapshot(transaction)))
        {
            for (var i = 0; i < participants.Count; i++)
            {
                if (votes[i].ReadOnly)
                {
                    await participants[i].ValidateReadsAsync(transaction.Id, commit.Async, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        commit.Votes = MarkLastWriterWins(WithStaleReads(votes, participants), transaction.LastWriterWinsTables);
        commit.Clock.End("prepare");
    }

    /// <summary>The rows each participant's validation found changed and left for the certifier to judge (see <see cref="ITransactionParticipant.StaleReads"/>).</summary>
    private static List<ParticipantVote> WithStaleReads(List<ParticipantVote> votes, IReadOnlyList<ITransactionParticipant> participants)
    {
        for (var i = 0; i < votes.Count; i++)
        {
            if (participants[i].StaleReads is { Count: > 0 } stale)
            {
                votes[i] = votes[i] with { StaleReads = stale };
            }
        }

        return votes;
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

    /// <summary>One participant's vote, its failure kept in the returned task (a no) rather than thrown while the others are being asked.</summary>
    private static async ValueTask<ParticipantVote> VoteAsync(ITransactionParticipant participant, TransactionId transactionId, bool onePhase, bool async, CancellationToken cancellationToken)
        => onePhase
            ? await participant.PrepareOnePhaseAsync(transactionId, async, cancellationToken).ConfigureAwait(false)
            : await participant.PrepareAsync(transactionId, async, cancellationToken).ConfigureAwait(false);

    /// <summary>Phase 2: a transaction declared read-only that wrote after all is refused.</summary>
    private static void CheckReadOnly(CommitRun commit)
    {
        if (commit.Transaction.ReadOnly && commit.Votes.FirstOrDefault(vote => !vote.ReadOnly) is { } wrote)
        {
            throw commit.Refuse(new ReadOnlyViolationException(commit.Transaction.Id, wrote.Participant));
        }
    }

    /// <summary>
    /// Phase 3, certify: whether committing it now keeps every transaction certified so far
    /// serializable (or, at Snapshot, free of write-write conflicts), by the strategy chosen for the
    /// log. A refusal fails with the item and the other transaction.
    /// </summary>
    private async ValueTask CertifyAsync(CommitRun commit, CancellationToken cancellationToken)
    {
        var verdict = await _certification.CertifyAsync(commit.Transaction, commit.Votes, _bareCommitRecord, commit.Async, cancellationToken).ConfigureAwait(false);
        if (verdict.Refusal is { } refusal)
        {
            throw commit.Refuse(Conflict(refusal.Reason, refusal.Item, commit.Participants));
        }

        commit.Certified = verdict.HeldByCertifier;
        if (commit.Certified)
        {
            commit.Clock.End("certify");
        }
    }

    /// <summary>Read-only: nothing to make atomic, so nothing goes to the log.</summary>
    private async ValueTask CommitReadOnlyAsync(CommitRun commit)
    {
        await FinishParticipantsAsync(commit).ConfigureAwait(false);
        commit.Outcome = CommitOutcome.Committed;
    }

    /// <summary>
    /// Phase 4, the one-phase shortcut: one database commits atomically by itself, so its COMMIT is
    /// the commit point and nothing goes to the log (a crash before it leaves nothing to recover).
    /// </summary>
    private async ValueTask CommitInOnePhaseAsync(CommitRun commit, CancellationToken cancellationToken)
    {
        try
        {
            await commit.Participants[0].CommitAsync(commit.Transaction.Id, commit.Async, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing was logged, so nothing is: rolling back is the whole abort.
            await RollbackQuietlyAsync(commit).ConfigureAwait(false);
            throw;
        }

        commit.Clock.End("commit");
        commit.Outcome = CommitOutcome.Committed;
    }

    /// <summary>
    /// Phase 5, decide: append the commit record, the commit point. The log's answer is the first
    /// decision in log order, which may be an abort (a sweeper's, or the shared log's refusal); then
    /// the participants roll back. Only participants that wrote have anything for recovery to finish,
    /// so only they are in the record.
    /// </summary>
    private async ValueTask DecideAsync(CommitRun commit, CancellationToken cancellationToken)
    {
        commit.Votes = commit.Votes.Where(vote => !vote.ReadOnly).ToList();
        ExceptionDispatchInfo? aborted;
        try
        {
            aborted = await AppendDecisionAsync(commit, cancellationToken).ConfigureAwait(false);
        }
        catch (CommitOutcomeUnknownException) when (commit.Certified)
        {
            // It may have committed, with its local transactions dropped or left prepared: until
            // recovery settles it from the log, what it wrote is met as in doubt, not as finished.
            _certification.InDoubt(commit.Transaction.Id, commit.Participants.Select(p => p.Name));
            commit.Settled = true;
            throw;
        }

        if (aborted is not null)
        {
            await RollbackQuietlyAsync(commit).ConfigureAwait(false);
            aborted.Throw();
        }

        commit.Clock.End("log");
        commit.Outcome = CommitOutcome.Committed;
        await StepAsync(CommitStep.AfterDecisionLogged, commit.Transaction.Id).ConfigureAwait(false);
    }

    /// <returns>Null when the log's decision is commit; else what the caller fails with.</returns>
    private async ValueTask<ExceptionDispatchInfo?> AppendDecisionAsync(CommitRun commit, CancellationToken cancellationToken)
    {
        var transaction = commit.Transaction;
        AppendResult appended;
        try
        {
            var record = _certification.CommitRecord(NewRecord(LogRecordKind.Commit, transaction, commit.Votes), transaction);
            appended = await _log.AppendAsync(record, commit.Async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception appendError)
        {
            return await SettleUnknownDecisionAsync(commit, appendError).ConfigureAwait(false);
        }

        return appended switch
        {
            { Decision: LogRecordKind.Commit } => null,
            { Refusal: { } refusal } => ExceptionDispatchInfo.Capture(Conflict(refusal.Reason, refusal.Item, commit.Participants)),
            _ => AbortedFirst(transaction),
        };
    }

    /// <summary>
    /// The commit record may or may not have reached the log. An abort record appended now
    /// settles it: the first decision in log order wins, whichever it is. If even that fails, the
    /// outcome is unknown here: participants are left as they are for recovery to settle from the log.
    /// </summary>
    private async ValueTask<ExceptionDispatchInfo?> SettleUnknownDecisionAsync(CommitRun commit, Exception appendError)
    {
        var transaction = commit.Transaction;
        AppendResult settled;
        try
        {
            var abort = NewRecord(LogRecordKind.Abort, transaction, []) with { Reason = "the commit record could not be confirmed: " + appendError.Message };
            settled = await _log.AppendAsync(abort, commit.Async, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            foreach (var participant in commit.Participants)
            {
                try
                {
                    await participant.AbandonAsync(commit.Async, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Recovery settles it from the log; the caller learns only that the outcome is unknown.
                }
            }

            throw new CommitOutcomeUnknownException(transaction.Id, appendError);
        }

        return settled.Decision switch
        {
            LogRecordKind.Commit => null,
            LogRecordKind.Abort => ExceptionDispatchInfo.Capture(appendError),
            _ => AbortedFirst(transaction),
        };
    }

    private static ExceptionDispatchInfo AbortedFirst(TransactionInfo transaction)
        => ExceptionDispatchInfo.Capture(new TransactionAbortedException(transaction.Id, "another process aborted it first after its lease ran out"));

    /// <summary>
    /// Phase 6, finish, then phase 7, end: the decision is durable, so finishing must not be
    /// cancelled halfway. Once every participant finished, the end record tells recovery that
    /// nothing is left; a participant that did not is left to recovery, which appends it later.
    /// </summary>
    private async ValueTask FinishAsync(CommitRun commit)
    {
        var finished = await FinishParticipantsAsync(commit).ConfigureAwait(false);
        commit.Clock.End("finish");
        if (finished)
        {
            await StepAsync(CommitStep.BeforeEndRecord, commit.Transaction.Id).ConfigureAwait(false);
            await TryAppendAsync(NewRecord(LogRecordKind.End, commit.Transaction, commit.Votes), commit.Async).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Commits every participant, telling the certifier (when it holds the transaction) as each
    /// backend shows the writes, so that snapshots taken there from then on see them; then that the
    /// transaction finished, or on which backends it is left in doubt for recovery. Returns whether
    /// every participant finished; the certifier has been told either way. All participants are
    /// finished at once (the decision is durable, so their order does not matter): one database's
    /// COMMIT PREPARED travels while another commits, and none holds its locks while waiting for
    /// another's round trip. Their outcomes are then taken in participant order.
    /// </summary>
    private async ValueTask<bool> FinishParticipantsAsync(CommitRun commit)
    {
        var transactionId = commit.Transaction.Id;
        var finishing = new ValueTask<Exception?>[commit.Participants.Count];
        for (var i = 0; i < finishing.Length; i++)
        {
            finishing[i] = FinishParticipantAsync(commit, commit.Participants[i]);
        }

        List<string>? unfinished = null;
        for (var i = 0; i < finishing.Length; i++)
        {
            if (await finishing[i].ConfigureAwait(false) is { } error)
            {
                // Committed in the log: recovery finishes this participant later.
                var name = commit.Participants[i].Name;
                (unfinished ??= []).Add(name);
                await NoteQuietlyAsync(transactionId, name, ParticipantStatus.InDoubt, Describe(error), commit.Async).ConfigureAwait(false);
            }

            await StepAsync(CommitStep.AfterParticipantFinished, transactionId).ConfigureAwait(false);
        }

        if (commit.Certified && unfinished is null)
        {
            _certification.Finished(transactionId);
        }
        else if (commit.Certified)
        {
            _certification.InDoubt(transactionId, unfinished!);
        }

        commit.Settled = true;
        return unfinished is null;
    }

    /// <summary>Commits one participant and tells the certifier at once; returns its error instead of throwing, for recovery to finish it.</summary>
    private async ValueTask<Exception?> FinishParticipantAsync(CommitRun commit, ITransactionParticipant participant)
    {
        try
        {
            await participant.CommitAsync(commit.Transaction.Id, commit.Async, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            return error;
        }

        if (commit.Certified)
        {
            _certification.FinishedOn(commit.Transaction.Id, participant.Name);
        }

        return null;
    }

    /// <summary>
    /// However it ended: the certifier must not go on counting it as committing, recovery may have
    /// it, and the outcome is reported. Finishing told the certifier how the commit ended on each
    /// backend (a participant left to recovery is in doubt until recovery tells it otherwise); every
    /// other way out of a certified transaction never committed, or committed in one phase, or is
    /// unknown and was settled when deciding: it holds up nothing any longer.
    /// </summary>
    private void End(CommitRun commit, Activity? activity)
    {
        if (commit.Certified && !commit.Settled)
        {
            _certification.Finished(commit.Transaction.Id);
        }

        _inFlight.TryRemove(commit.Transaction.Id, out _);
        commit.Clock.Total();
        var outcome = commit.Outcome switch
        {
            CommitOutcome.Committed => "committed",
            CommitOutcome.Aborted => "aborted",
            _ => "unknown",
        };
        activity?.SetTag("khonsu.outcome", outcome);
        KhonsuTelemetry.Transactions.Add(1, new("khonsu.outcome", outcome), new("khonsu.abort_reason", commit.AbortReason));
    }

    private static SerializationConflictException Conflict(string? reason, ItemId? item, IReadOnlyList<ITransactionParticipant> participants)
    {
        reason ??= "serialization conflict";
        return item is { } conflicted
            ? new SerializationConflictException(conflicted.Backend, conflicted.Table, conflicted.Key, reason)
            : new SerializationConflictException(participants[0].Name, string.Empty, null, reason);
    }

    /// <summary>
    /// Rolls every participant back, then logs the abort for DBAs. When every rollback succeeded
    /// the abort is the transaction's end too (<see cref="LogRecord.EndsTransaction"/>): nothing is
    /// left prepared, so it is no work for recovery and no tool should list it as in doubt.
    /// </summary>
    private async ValueTask AbortAsync(CommitRun commit, string reason)
    {
        var rolledBack = await RollbackQuietlyAsync(commit).ConfigureAwait(false);
        var votes = commit.Participants.Select(p => new ParticipantVote(p.Name, false, [])).ToList();
        await TryAppendAsync(NewRecord(LogRecordKind.Abort, commit.Transaction, votes) with { Reason = reason, EndsTransaction = rolledBack }, commit.Async).ConfigureAwait(false);
    }

    /// <returns>Whether every participant rolled back.</returns>
    private static async ValueTask<bool> RollbackQuietlyAsync(CommitRun commit)
    {
        var all = true;
        foreach (var participant in commit.Participants)
        {
            try
            {
                await participant.RollbackAsync(commit.Transaction.Id, commit.Async, CancellationToken.None).ConfigureAwait(false);
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
    private async ValueTask TryAppendAsync(LogRecord record, bool async)
    {
        try
        {
            await _log.AppendAsync(record, async, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Recovery writes the end record later; a missing abort record means abort all the same.
        }
    }

    private async ValueTask NoteQuietlyAsync(TransactionId transactionId, string participant, ParticipantStatus status, string reason, bool async)
    {
        try
        {
            await _log.NoteParticipantStatusAsync(transactionId, participant, status, reason, async, CancellationToken.None).ConfigureAwait(false);
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

    /// <summary>One commit on its way through the protocol: what each phase learnt that a later one needs.</summary>
    private sealed class CommitRun(TransactionInfo transaction, IReadOnlyList<ITransactionParticipant> participants, bool async, PhaseClock clock)
    {
        public TransactionInfo Transaction { get; } = transaction;

        public IReadOnlyList<ITransactionParticipant> Participants { get; } = participants;

        /// <summary>False for a synchronous caller: every step does its I/O with synchronous methods (see <see cref="CommitAsync"/>).</summary>
        public bool Async { get; } = async;

        public PhaseClock Clock { get; } = clock;

        /// <summary>The participants' votes, in their order; after deciding, only those that wrote.</summary>
        public IReadOnlyList<ParticipantVote> Votes { get; set; } = [];

        /// <summary>One participant commits by itself, with no record in the log.</summary>
        public bool OnePhase { get; set; }

        /// <summary>This process's certifier holds it until told how it ended.</summary>
        public bool Certified { get; set; }

        /// <summary>The certifier was told how it ended (finished, or in doubt).</summary>
        public bool Settled { get; set; }

        public CommitOutcome Outcome { get; set; }

        /// <summary>Why the protocol itself refused it (certification, a read-only violation), for the abort record.</summary>
        public string? Refusal { get; private set; }

        /// <summary>Why it aborted, for the metric: a conflict, or an error.</summary>
        public string? AbortReason { get; private set; }

        public TException Refuse<TException>(TException refusal)
            where TException : Exception
        {
            Refusal = refusal.Message;
            return refusal;
        }

        public void Aborted(string reason) => (Outcome, AbortReason) = (CommitOutcome.Aborted, reason);
    }
}
