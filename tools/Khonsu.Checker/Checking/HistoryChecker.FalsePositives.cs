using Khonsu.Checker.History;

namespace Khonsu.Checker.Checking;

public static partial class HistoryChecker
{
    /// <summary>
    /// False positives: for each transaction that failed at commit with every op done, what would
    /// have happened had it committed then, alone (the other aborted ones stay aborted). Its reads
    /// stay where they were in each key's version order (wr from the writer, rw to the next
    /// writer). Each write replaces the version it overwrote in its own transaction: if a committed
    /// transaction also replaced that version (or a later one), committing would have been a
    /// write-write conflict, which no certifier lets through, so the abort was needed; otherwise the
    /// write becomes the key's newest version (ww from the previous writer, rw from every committed
    /// reader of the version it replaced). The abort was a false positive when no cycle then runs
    /// through the transaction.
    /// </summary>
    private sealed partial class Run
    {
        /// <summary>Committed readers of each version of each key (index in the key's order; -1: the initial version).</summary>
        private readonly Dictionary<(string Key, int Index), List<string>> _readers = [];

        private void NoteReader(string key, int index, string reader)
        {
            if (index < -1)
            {
                return; // not placed in the version order
            }

            if (!_readers.TryGetValue((key, index), out var list))
            {
                _readers[(key, index)] = list = [];
            }

            list.Add(reader);
        }

        private (int Analysed, int FalsePositives) CountFalsePositives()
        {
            var (analysed, falsePositives) = (0, 0);
            foreach (var t in _history.Where(CompletedEveryOp))
            {
                analysed++;
                if (WouldHaveCommittedSerializably(t))
                {
                    falsePositives++;
                }
            }

            return (analysed, falsePositives);
        }

        /// <summary>Failed, yet every planned op ran: each read saw a value and version, each write installed a version in its own transaction.</summary>
        private static bool CompletedEveryOp(Transaction t)
        {
            if (t.Outcome != Outcome.Fail || t.Ops.Any(o => o.Version is null || o.Value is null))
            {
                return false;
            }

            return t.Planned is not { } planned
                || (planned.Count(o => o.Kind == OpKind.Read) == t.Ops.Count(o => o.Kind == OpKind.Read)
                    && planned.Count(o => o.Kind == OpKind.Write) == t.Ops.Count(o => o.Kind == OpKind.Write));
        }

        private bool WouldHaveCommittedSerializably(Transaction t)
        {
            var into = new HashSet<string>(StringComparer.Ordinal); // transactions with an edge into t
            var outOf = new HashSet<string>(StringComparer.Ordinal); // transactions t has an edge to
            var written = FinalWrites(t);
            var readVersions = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var op in t.Ops.Where(o => o.Kind == OpKind.Read && !readVersions.ContainsKey(o.Key) && !OwnEarlierWrite(t, o)))
            {
                readVersions[op.Key] = op.Version!.Value;
                var list = _order.TryGetValue(op.Key, out var l) ? l : [];
                int index;
                if (_writes.TryGetValue((op.Key, op.Value!.Value), out var write))
                {
                    if (!_committed.Contains(write.Writer.Id))
                    {
                        return false; // it read what did not commit: its abort was needed
                    }

                    index = list.FindIndex(e => e.Value == op.Value);
                    into.Add(write.Writer.Id);
                }
                else
                {
                    index = -1; // the initial version
                }

                if (index >= -1 && index + 1 < list.Count)
                {
                    outOf.Add(list[index + 1].Writer);
                }
            }

            foreach (var (key, op) in written)
            {
                var list = _order.TryGetValue(key, out var l) ? l : [];
                var replaced = readVersions.TryGetValue(key, out var read) ? read : op.Version!.Value - 1;
                if (list.Any(e => e.Version > replaced))
                {
                    return false; // a committed transaction replaced the same version: a write-write conflict
                }

                if (list.Count > 0)
                {
                    into.Add(list[^1].Writer);
                }

                foreach (var reader in _readers.TryGetValue((key, list.Count - 1), out var readers) ? readers : [])
                {
                    into.Add(reader);
                }
            }

            into.Remove(t.Id);
            outOf.Remove(t.Id);
            return !Reaches(outOf, into);
        }

        private static bool OwnEarlierWrite(Transaction t, MicroOp read)
        {
            foreach (var op in t.Ops)
            {
                if (ReferenceEquals(op, read))
                {
                    return false;
                }

                if (op.Kind == OpKind.Write && op.Key == read.Key)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Whether a path in the committed graph leads from one of <paramref name="from"/> to one of <paramref name="to"/>.</summary>
        private bool Reaches(IReadOnlySet<string> from, IReadOnlySet<string> to)
        {
            if (from.Count == 0 || to.Count == 0)
            {
                return false;
            }

            if (from.Overlaps(to))
            {
                return true;
            }

            var seen = new HashSet<int>();
            var queue = new Queue<int>();
            foreach (var name in from)
            {
                if (_graph.TryNode(name) is { } node && seen.Add(node))
                {
                    queue.Enqueue(node);
                }
            }

            while (queue.TryDequeue(out var node))
            {
                foreach (var next in _graph.Successors(node))
                {
                    if (to.Contains(_graph.Name(next)))
                    {
                        return true;
                    }

                    if (seen.Add(next))
                    {
                        queue.Enqueue(next);
                    }
                }
            }

            return false;
        }
    }
}
