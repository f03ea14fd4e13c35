using Khonsu.Cli.Infrastructure;
using Khonsu.Cli.LogView;
using Khonsu.Engine;
using Khonsu.Engine.Log;
using Khonsu.Engine.Recovery;

namespace Khonsu.Cli.InDoubt;

/// <summary>
/// Finds what recovery would have to do, without doing it: decisions the log holds with no end
/// record, and transactions the backends hold prepared (pg_prepared_xacts) under this log, with
/// recovery's notes from transaction_log. Each is told apart for the operator: in doubt (a commit
/// not finished everywhere, or no decision), to roll back (an abort a backend still holds
/// prepared), or closed (an abort with nothing left prepared, only its end record missing).
/// </summary>
internal static class InDoubtScanner
{
    private static string InDoubtNotes(string table) => $"SELECT tx_id, participant, abort_reason FROM {table} WHERE status = 'IN_DOUBT'";

    /// <param name="log">The open commit log, or null when there is none yet.</param>
    /// <param name="reachable">The recovery resources of the backends that answered; the others are reported unreachable.</param>
    /// <param name="connectTimeout">How long to wait for the backend that holds a Kafka log's transaction_log, for recovery's notes.</param>
    public static async Task<IReadOnlyList<InDoubtTransaction>> ScanAsync(
        KhonsuTarget target, ICommitLog? log, IReadOnlyCollection<IRecoverableResource> reachable, TimeSpan connectTimeout, CancellationToken cancellationToken)
    {
        var reachableNames = reachable.Select(r => r.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var prepared = new Dictionary<TransactionId, List<(string Backend, DateTimeOffset At, bool OfThisLog)>>();
        foreach (var resource in reachable)
        {
            foreach (var transaction in await resource.ListPreparedAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!prepared.TryGetValue(transaction.TransactionId, out var list))
                {
                    prepared[transaction.TransactionId] = list = [];
                }

                list.Add((resource.Name, transaction.PreparedAt, transaction.OfThisLog));
            }
        }

        var notes = log is null ? [] : await ReadNotesAsync(target, connectTimeout, cancellationToken).ConfigureAwait(false);
        string? NoteOf(TransactionId id, string participant) => notes.GetValueOrDefault((id.ToString(), participant.ToLowerInvariant()));

        var found = new List<InDoubtTransaction>();
        var seen = new HashSet<TransactionId>();
        if (log is not null)
        {
            await foreach (var logged in log.ReadUnfinishedAsync(cancellationToken).ConfigureAwait(false))
            {
                var record = logged.Record;
                seen.Add(record.TransactionId);
                var heldBy = prepared.GetValueOrDefault(record.TransactionId)?.Select(p => p.Backend).ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
                var participants = record.Participants.Select(vote => new InDoubtParticipant(
                    vote.Participant,
                    heldBy.Contains(vote.Participant) ? "prepared" : reachableNames.Contains(vote.Participant) ? "to finish" : "unreachable",
                    record.Kind == LogRecordKind.Commit ? vote.Writes.Count : null,
                    NoteOf(record.TransactionId, vote.Participant))).ToList();
                found.Add(new InDoubtTransaction(record.TransactionId, KindText(record.Kind), record.Timestamp, logged.Position.Value, participants, CategoryOf(record.Kind, participants)));
            }
        }

        foreach (var (id, holders) in prepared.Where(p => !seen.Contains(p.Key)))
        {
            var decision = log is null ? null : await log.GetDecisionAsync(id, cancellationToken).ConfigureAwait(false);
            var participants = holders.Select(h => new InDoubtParticipant(h.Backend, "prepared", null, NoteOf(id, h.Backend))).ToList();
            found.Add(decision is null
                ? new InDoubtTransaction(id, null, holders.Min(h => h.At), null, participants, AbortsAtOnce: !target.IsKafkaLog && holders.All(h => h.OfThisLog))
                : new InDoubtTransaction(id, KindText(decision.Record.Kind), decision.Record.Timestamp, decision.Position.Value, participants, CategoryOf(decision.Record.Kind, participants)));
        }

        return found.OrderBy(t => t.Since).ToList();
    }

    /// <summary>
    /// An abort is in doubt for no one: it is to roll back while a backend holds it prepared (or
    /// cannot be asked), and closed once nothing is (its coordinator rolled everything back, and
    /// only the end record, which recovery writes, is missing).
    /// </summary>
    private static InDoubtCategory CategoryOf(LogRecordKind decision, IReadOnlyList<InDoubtParticipant> participants)
        => decision != LogRecordKind.Abort ? InDoubtCategory.InDoubt
            : participants.Any(p => p.State is "prepared" or "unreachable") ? InDoubtCategory.ToRollBack
            : InDoubtCategory.Closed;

    /// <summary>Whether anything needs an operator's attention: a transaction in doubt, or one still to roll back.</summary>
    public static bool NeedsAttention(IReadOnlyList<InDoubtTransaction> unfinished) => unfinished.Any(t => t.Category != InDoubtCategory.Closed);

    public static string KindText(LogRecordKind kind) => kind switch
    {
        LogRecordKind.Commit => "COMMIT",
        LogRecordKind.Abort => "ABORT",
        LogRecordKind.InDoubtNote => "IN_DOUBT NOTE",
        _ => "END",
    };

    /// <summary>Recovery's notes (IN_DOUBT rows) from transaction_log; none where it is not available (a Kafka log's notes are there once <c>TransactionLog=</c> materialised them).</summary>
    private static async Task<Dictionary<(string, string), string?>> ReadNotesAsync(KhonsuTarget target, TimeSpan connectTimeout, CancellationToken cancellationToken)
    {
        var rows = await TransactionLogQuery.QueryAsync(
            target,
            connectTimeout,
            InDoubtNotes,
            reader => (Id: reader.GetString(0), Participant: reader.GetString(1), Reason: TransactionLogQuery.Text(reader, 2)),
            cancellationToken).ConfigureAwait(false);
        var notes = new Dictionary<(string, string), string?>();
        foreach (var (id, participant, reason) in rows.Rows)
        {
            notes[(id, participant.ToLowerInvariant())] = reason is null ? null : target.Scrub(reason);
        }

        return notes;
    }
}
