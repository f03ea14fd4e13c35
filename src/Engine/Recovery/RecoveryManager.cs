using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Recovery;

/// <summary>
/// Drives every in-doubt transaction to its logged outcome: finishes decisions that have no end
/// record, and settles transactions a backend holds prepared. A prepared transaction with no
/// decision is aborted once its lease runs out, by appending an abort record first so that the
/// log order settles any race with a late commit record. With a log this process holds
/// exclusively (the embedded log), one of the log's own prepared transactions that is not in
/// flight here is aborted at once: no other process can still decide it.
/// </summary>
internal sealed class RecoveryManager
{
    private readonly ICommitLog _log;
    private readonly IReadOnlyDictionary<string, IRecoverableResource> _resources;
    private readonly string _nodeId;
    private readonly Func<TransactionId, bool> _isInFlight;
    private readonly TimeSpan _lease;
    private readonly TimeProvider _time;
    private readonly Action<TransactionId>? _finished;
    private readonly bool _exclusiveLog;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <param name="isInFlight">Whether this process's coordinator is committing the transaction right now.</param>
    /// <param name="finished">Told when a transaction has finished on every participant (the certifier's watermark moves past it).</param>
    /// <param name="exclusiveLog">
    /// This process holds <paramref name="log"/> exclusively, and <paramref name="isInFlight"/>
    /// covers every coordinator that appends to it: no one else can decide the log's transactions.
    /// </param>
    public RecoveryManager(
        ICommitLog log,
        IEnumerable<IRecoverableResource> resources,
        string nodeId,
        Func<TransactionId, bool> isInFlight,
        TimeSpan lease,
        TimeProvider? time = null,
        Action<TransactionId>? finished = null,
        bool exclusiveLog = false)
    {
        _finished = finished;
        _exclusiveLog = exclusiveLog;
        _log = log;
        _resources = resources.ToDictionary(r => r.Name, StringComparer.OrdinalIgnoreCase);
        _nodeId = nodeId;
        _isInFlight = isInFlight;
        _lease = lease;
        _time = time ?? TimeProvider.System;
    }

    public async ValueTask<RecoveryReport> RecoverAsync(CancellationToken cancellationToken = default)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var tally = new Tally();
            await FinishLoggedDecisionsAsync(tally, cancellationToken).ConfigureAwait(false);
            await SettlePreparedAsync(tally, cancellationToken).ConfigureAwait(false);
            return new RecoveryReport(tally.Committed, tally.Aborted, tally.InDoubt);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async ValueTask FinishLoggedDecisionsAsync(Tally tally, CancellationToken cancellationToken)
    {
        var unfinished = new List<LoggedRecord>();
        await foreach (var logged in _log.ReadUnfinishedAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_isInFlight(logged.Record.TransactionId))
            {
                unfinished.Add(logged);
            }
        }

        foreach (var logged in unfinished)
        {
            await FinishAsync(logged.Record, tally, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask FinishAsync(LogRecord decision, Tally tally, CancellationToken cancellationToken)
    {
        var id = decision.TransactionId;
        var commit = decision.Kind == LogRecordKind.Commit;
        var allDone = true;
        foreach (var vote in decision.Participants)
        {
            if (!_resources.TryGetValue(vote.Participant, out var resource))
            {
                allDone = false;
                await NoteInDoubtAsync(id, vote.Participant, $"backend '{vote.Participant}' is not in this connection string", cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                if (commit)
                {
                    await resource.CommitAsync(id, vote, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await resource.AbortAsync(id, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                allDone = false;
                await NoteInDoubtAsync(id, vote.Participant, "recovery could not finish it: " + error.Message, cancellationToken).ConfigureAwait(false);
            }
        }

        if (!allDone)
        {
            tally.InDoubt++;
            Diagnostics.KhonsuTelemetry.InDoubt.Add(1);
            return;
        }

        _finished?.Invoke(id);
        await _log.AppendAsync(
            new LogRecord
            {
                Kind = LogRecordKind.End,
                TransactionId = id,
                NodeId = _nodeId,
                Timestamp = _time.GetUtcNow(),
                Participants = decision.Participants.Select(p => new ParticipantVote(p.Participant, false, [])).ToList(),
            },
            cancellationToken).ConfigureAwait(false);

        if (commit)
        {
            tally.Committed++;
        }
        else
        {
            tally.Aborted++;
        }
    }

    private async ValueTask SettlePreparedAsync(Tally tally, CancellationToken cancellationToken)
    {
        foreach (var resource in _resources.Values)
        {
            IReadOnlyList<PreparedTransaction> prepared;
            try
            {
                prepared = await resource.ListPreparedAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // An unreachable backend is retried on the next pass; the others go on.
                continue;
            }

            // Listed first, checked for in flight after: a coordinator marks its transaction in
            // flight before it prepares anything and unmarks it only once its decision is logged
            // (or it gave up without one), so a transaction listed here and not in flight now has
            // a coordinator that will append nothing more: what the log holds for it now is final.
            foreach (var transaction in prepared)
            {
                if (!_isInFlight(transaction.TransactionId))
                {
                    await SettleAsync(resource, transaction, tally, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private async ValueTask SettleAsync(IRecoverableResource resource, PreparedTransaction transaction, Tally tally, CancellationToken cancellationToken)
    {
        var id = transaction.TransactionId;
        var decision = await _log.GetDecisionAsync(id, cancellationToken).ConfigureAwait(false);
        if (decision is null)
        {
            // With the log held here, the only coordinators that can append to it are this
            // process's, and this one is not in flight (see SettlePreparedAsync): it is dead, left
            // by an earlier run of the process. A mark that names no log may be another log's, and
            // on a shared log another process may still decide: those wait for the lease.
            var dead = _exclusiveLog && transaction.OfThisLog;
            if (!dead && _time.GetUtcNow() - transaction.PreparedAt < _lease)
            {
                return; // Its coordinator, in some process, may still log a decision.
            }

            var abort = new LogRecord
            {
                Kind = LogRecordKind.Abort,
                TransactionId = id,
                NodeId = _nodeId,
                Timestamp = _time.GetUtcNow(),
                Participants = [new ParticipantVote(resource.Name, false, [])],
                Reason = dead
                    ? $"prepared on '{resource.Name}' with no decision logged by a process that no longer runs (this process holds the log, and the transaction is not in flight here)"
                    : $"prepared on '{resource.Name}' with no decision logged within the lease ({_lease.TotalSeconds:0.#} s)",
            };
            await _log.AppendAsync(abort, cancellationToken).ConfigureAwait(false);

            // Read back rather than trust our own record: a late commit may have come first.
            decision = await _log.GetDecisionAsync(id, cancellationToken).ConfigureAwait(false);
            if (decision is null)
            {
                return;
            }
        }

        // The decision record names every participant: finishing it settles this one and the others.
        // A shared log that opened from a checkpoint keeps only the outcome of a transaction that
        // had finished by then (no participants): this participant is still settled by it.
        var record = decision.Record;
        if (!record.Participants.Any(vote => string.Equals(vote.Participant, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            record = record with { Participants = [.. record.Participants, new ParticipantVote(resource.Name, false, [])] };
        }

        await FinishAsync(record, tally, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask NoteInDoubtAsync(TransactionId id, string participant, string reason, CancellationToken cancellationToken)
    {
        try
        {
            await _log.NoteParticipantStatusAsync(id, participant, ParticipantStatus.InDoubt, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Only a note for DBAs; the next pass tries again.
        }
    }

    private sealed class Tally
    {
        public int Committed { get; set; }

        public int Aborted { get; set; }

        public int InDoubt { get; set; }
    }
}
