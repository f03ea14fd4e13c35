namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// Deletes, inside the log writer's transaction, what no one can need any more: the records of
/// transactions that ended, and transaction_log rows past their retention. Each call does one small
/// batch, so the writer (and every append queued behind it) is held for about a millisecond.
/// </summary>
/// <remarks>
/// A transaction has ended when its end record is in the log, or when its decision is an abort
/// whose participants had all rolled back before it was written (<see cref="LogRecord.EndsTransaction"/>:
/// such an abort never enters khonsu_log_unfinished and no end record follows). Either way the
/// scan meets a record (the END, or the ABORT) written once nothing was left to do.
/// Who reads khonsu_log, and why deleting a transaction's records once it ended (and a grace
/// period passed, and its coordinator is no longer in flight) is safe:
/// <list type="bullet">
/// <item>Recovery reads decisions without an end record (khonsu_log_unfinished): an ended
/// transaction is not among them, and a transaction still in that table is never touched here.</item>
/// <item>Recovery asks for the decision of a transaction a backend holds prepared
/// (<see cref="EmbeddedCommitLog.GetDecisionAsync"/>). A transaction's end record is written after
/// every participant finished, so none holds it prepared any more; the grace covers a recovery pass
/// that listed it prepared just before it finished.</item>
/// <item>The first decision in log order wins. Once the records are gone a late decision record
/// would win instead: a late commit after an abort would commit what the abort rolled back. One
/// runtime of one process holds an embedded log (<see cref="LogFileLock"/>), so only its
/// coordinator appends commit records, and its recovery aborts only transactions that coordinator
/// is not committing; the caller keeps every transaction whose coordinator is still in flight, and
/// one that is not will never append again.</item>
/// <item>The certifier keeps its history in memory, not in the log.</item>
/// <item>Readers of <see cref="EmbeddedCommitLog.ReadFromAsync"/> from a position at or below the
/// highest one deleted get <see cref="CommitLogTruncatedException"/>; the khonsu tool reads what is left.</item>
/// </list>
/// transaction_log rows are the DBA's history, not recovery's: a transaction's rows go once every
/// one of them finished before the retention's cutoff, none is IN_DOUBT, and the log has no
/// unfinished decision for it.
/// </remarks>
internal sealed class LogTruncator(RawSqlite connection)
{
    private const string Scan = "SELECT position, tx_id, kind, written_at FROM khonsu_log WHERE position >= ?1 ORDER BY position LIMIT ?2";

    private const string IsUnfinished = "SELECT 1 FROM khonsu_log_unfinished WHERE tx_id = ?1";

    private const string DeleteRecords = "DELETE FROM khonsu_log WHERE tx_id = ?1";

    private const string LastRecordOf = "SELECT max(position) FROM khonsu_log WHERE tx_id = ?1";

    private const string ReadTruncated = "SELECT max(position) FROM khonsu_log_truncated";

    private const string ClearTruncated = "DELETE FROM khonsu_log_truncated";

    private const string WriteTruncated = "INSERT INTO khonsu_log_truncated (position) VALUES (?1)";

    // tx_id is a UUIDv7 in text: ids sort by the transaction's start, so a page in tx_id order is the
    // oldest transactions first, and none that started after the cutoff can have finished before it.
    private const string HistoryPage = "SELECT DISTINCT tx_id FROM transaction_log WHERE tx_id > ?1 AND tx_id < ?2 ORDER BY tx_id LIMIT ?3";

    private const string DeleteHistory = $"""
        DELETE FROM transaction_log WHERE tx_id = ?1
        AND NOT EXISTS (SELECT 1 FROM transaction_log WHERE tx_id = ?1 AND (finished_at IS NULL OR finished_at >= ?2 OR status = 'IN_DOUBT'))
        AND NOT EXISTS (SELECT 1 FROM khonsu_log_unfinished WHERE tx_id = ?1)
        """;

    /// <summary>
    /// Looks at up to <paramref name="maxScanned"/> records from <paramref name="from"/> on, in log
    /// order, and deletes every record of each transaction whose end or abort record among them was
    /// written before <paramref name="endedBefore"/> (at most <paramref name="maxTransactions"/> of
    /// them) and that recovery has nothing left to do for (not in khonsu_log_unfinished), unless
    /// <paramref name="keep"/> says its coordinator is still in flight.
    /// </summary>
    public TruncationStep TruncateEnded(long from, DateTimeOffset endedBefore, Func<TransactionId, bool> keep, int maxScanned, int maxTransactions)
    {
        var cutoff = LogText.Timestamp(endedBefore);
        var ended = new List<(long Position, string TransactionId)>();
        var seen = new HashSet<string>(StringComparer.Ordinal); // an abort and its end record name one transaction
        var next = from;
        var reachedCutoff = false;
        var scanned = 0;
        using (var scan = connection.Prepare(Scan))
        {
            scan.Bind(1, from).Bind(2, maxScanned);
            while (scan.Step())
            {
                scanned++;
                var position = scan.Int64(0);
                if (string.CompareOrdinal(scan.Text(3), cutoff) >= 0)
                {
                    // Written after the cutoff: so is (nearly) everything after it. Stopping here
                    // leaves at most a few records for the next pass, and deletes nothing too young.
                    reachedCutoff = true;
                    break;
                }

                next = position + 1;
                if (scan.Text(2) is LogText.End or LogText.Abort && seen.Add(scan.Text(1)!))
                {
                    ended.Add((position, scan.Text(1)!));
                    if (ended.Count == maxTransactions)
                    {
                        break;
                    }
                }
            }
        }

        var transactions = 0;
        var records = 0;
        var highest = 0L;
        foreach (var (position, transactionId) in ended)
        {
            if (keep(TransactionId.Parse(transactionId)) || Unfinished(transactionId))
            {
                continue;
            }

            using (var last = connection.Prepare(LastRecordOf))
            {
                // Its end record may come after the abort the scan met first.
                highest = Math.Max(highest, last.Bind(1, transactionId).Step() && !last.IsNull(0) ? last.Int64(0) : position);
            }

            using (var delete = connection.Prepare(DeleteRecords))
            {
                delete.Bind(1, transactionId).Run();
            }

            records += connection.Changes;
            transactions++;
        }

        if (highest > 0)
        {
            RaiseTruncated(highest);
        }

        var done = reachedCutoff || (scanned < maxScanned && ended.Count < maxTransactions);
        return new TruncationStep(next, transactions, records, done);
    }

    /// <summary>
    /// Deletes the rows of up to <paramref name="maxTransactions"/> transactions, in tx_id order after
    /// <paramref name="after"/>, whose rows all finished before <paramref name="finishedBefore"/>.
    /// </summary>
    public HistoryStep DeleteFinishedHistory(string after, DateTimeOffset finishedBefore, int maxTransactions)
    {
        var candidates = new List<string>();
        using (var page = connection.Prepare(HistoryPage))
        {
            page.Bind(1, after).Bind(2, TransactionId.TextBefore(finishedBefore)).Bind(3, maxTransactions);
            while (page.Step())
            {
                candidates.Add(page.Text(0)!);
            }
        }

        var cutoff = LogText.Timestamp(finishedBefore);
        var rows = 0;
        foreach (var transactionId in candidates)
        {
            using var delete = connection.Prepare(DeleteHistory);
            delete.Bind(1, transactionId).Bind(2, cutoff).Run();
            rows += connection.Changes;
        }

        return new HistoryStep(candidates.Count > 0 ? candidates[^1] : after, rows, candidates.Count < maxTransactions);
    }

    /// <summary>The highest position truncation deleted, or null if it never deleted anything.</summary>
    public long? TruncatedThrough()
    {
        using var query = connection.Prepare(ReadTruncated);
        return query.Step() && !query.IsNull(0) ? query.Int64(0) : null;
    }

    private bool Unfinished(string transactionId)
    {
        using var query = connection.Prepare(IsUnfinished);
        return query.Bind(1, transactionId).Step();
    }

    private void RaiseTruncated(long position)
    {
        if (TruncatedThrough() is { } known && known >= position)
        {
            return;
        }

        using (var clear = connection.Prepare(ClearTruncated))
        {
            clear.Run();
        }

        using var write = connection.Prepare(WriteTruncated);
        write.Bind(1, position).Run();
    }
}
