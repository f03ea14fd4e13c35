using System.Globalization;
using Khonsu.Checker.History;

namespace Khonsu.Checker.Checking;

/// <summary>
/// Checks a history of read/write-register transactions in the spirit of Elle: infers each key's
/// version order (from the versions writes installed, the versions reads observed, and the audit
/// rows found in the databases), builds the ww / wr / rw dependency graph of the committed
/// transactions, finds its strongly connected components (Tarjan) and a shortest cycle of each
/// kind in each, and names every anomaly. Transactions with an unknown outcome count as possibly
/// committed (their writes take part; their reads, which no commit validated, do not), unless the
/// audit rows settle their fate.
/// </summary>
public static partial class HistoryChecker
{
    /// <summary>How many candidate edges a cycle search tries per component and anomaly kind.</summary>
    public const int MaxCycleStarts = 500;

    public static CheckResult Check(IReadOnlyList<Transaction> history, FinalState? state = null)
        => new Run(history, state).Check();

    private sealed partial class Run
    {
        private readonly IReadOnlyList<Transaction> _history;
        private readonly FinalState? _state;
        private readonly Dictionary<string, Transaction> _byId = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Key, long Value), (Transaction Writer, bool Final)> _writes = [];
        private readonly Dictionary<string, RegisterState> _initial = new(StringComparer.Ordinal);
        private readonly HashSet<string> _nodes = new(StringComparer.Ordinal); // committed or possibly committed
        private readonly HashSet<string> _committed = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<Entry>> _order = new(StringComparer.Ordinal);
        private readonly List<Anomaly> _anomalies = [];
        private readonly List<LostCommit> _lost = [];
        private readonly List<PartialCommit> _partial = [];
        private readonly DependencyGraph _graph = new();
        private int _aborted;
        private int _unknown;

        public Run(IReadOnlyList<Transaction> history, FinalState? state)
        {
            _history = history;
            _state = state;
        }

        public CheckResult Check()
        {
            IndexWrites();
            if (_state?.Installed is { } installed)
            {
                ResolveFromInstalled(installed);
            }
            else
            {
                ResolveFromHistory();
            }

            SortOrders();
            CheckFinalRegisters();
            AddReadEdges();
            AddWriteEdges();
            FindCycles();
            var (analysed, falsePositives) = CountFalsePositives();
            return new CheckResult(_committed.Count, _aborted, _unknown, _anomalies, _lost, _partial)
            {
                AbortedAtCommit = analysed,
                FalsePositives = falsePositives,
            };
        }

        private void IndexWrites()
        {
            foreach (var register in _state?.Initial ?? [])
            {
                _initial[register.Key] = register;
            }

            foreach (var t in _history)
            {
                if (!_byId.TryAdd(t.Id, t))
                {
                    throw new ArgumentException($"Transaction id {t.Id} appears twice in the history.", nameof(_history));
                }

                var last = FinalWrites(t);
                foreach (var op in t.Ops.Where(o => o.Kind == OpKind.Write))
                {
                    var value = op.Value ?? throw new ArgumentException($"{t.Id} writes {op.Key} without a value.");
                    if (!_writes.TryAdd((op.Key, value), (t, ReferenceEquals(last[op.Key], op))))
                    {
                        throw new ArgumentException($"Value {value} of {op.Key} is written twice (by {_writes[(op.Key, value)].Writer.Id} and {t.Id}): written values must be unique per key.");
                    }

                    if (value == InitialValue(op.Key))
                    {
                        throw new ArgumentException($"{t.Id} writes {op.Key}'s initial value {value}: written values must differ from it.");
                    }
                }
            }
        }

        private static Dictionary<string, MicroOp> FinalWrites(Transaction t)
        {
            var last = new Dictionary<string, MicroOp>(StringComparer.Ordinal);
            foreach (var op in t.Ops.Where(o => o.Kind == OpKind.Write))
            {
                last[op.Key] = op;
            }

            return last;
        }

        private long InitialValue(string key) => _initial.TryGetValue(key, out var r) ? r.Value : 0;

        /// <summary>The audit rows say exactly which writes committed: lost, partial and unknown outcomes are settled.</summary>
        private void ResolveFromInstalled(IReadOnlyList<InstalledWrite> installed)
        {
            var byTx = installed.GroupBy(w => w.TransactionId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var backendOf = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var r in (_state!.Initial).Concat(_state.Final))
            {
                backendOf[r.Key] = r.Backend;
            }

            foreach (var w in installed)
            {
                backendOf[w.Key] = w.Backend;
            }

            foreach (var t in _history)
            {
                var written = FinalWrites(t);
                var present = byTx.TryGetValue(t.Id, out var rows) ? rows : [];
                if (present.Count == 0)
                {
                    if (t.Outcome == Outcome.Ok && written.Count > 0)
                    {
                        _lost.Add(new LostCommit(t.Id, [.. written.Keys.Order(StringComparer.Ordinal)]));
                    }
                    else if (t.Outcome == Outcome.Ok)
                    {
                        Commit(t); // read-only: nothing to find in the databases
                    }
                    else if (t.Outcome == Outcome.Unknown && written.Count == 0)
                    {
                        _unknown++;
                    }
                    else
                    {
                        _aborted++;
                    }

                    continue;
                }

                if (t.Outcome == Outcome.Fail)
                {
                    _anomalies.Add(new Anomaly(AnomalyNames.FailedButCommitted, [t.Id], $"{t.Id} was reported failed, yet its writes of {string.Join(", ", present.Select(p => p.Key))} are in the databases"));
                }

                var presentKeys = present.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
                var missing = written.Keys.Where(k => !presentKeys.Contains(k)).Order(StringComparer.Ordinal).ToList();
                if (missing.Count > 0)
                {
                    var presentBackends = presentKeys.Select(k => Backend(backendOf, k)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                    var missingBackends = missing.Select(k => Backend(backendOf, k)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                    _partial.Add(new PartialCommit(t.Id, [.. presentKeys.Order(StringComparer.Ordinal)], missing, presentBackends, missingBackends));
                }

                Commit(t);
            }

            foreach (var w in installed)
            {
                if (!_byId.TryGetValue(w.TransactionId, out var t) || !_writes.TryGetValue((w.Key, w.Value), out var writer) || !ReferenceEquals(writer.Writer, t) || !writer.Final)
                {
                    _anomalies.Add(new Anomaly(AnomalyNames.VersionConflict, [w.TransactionId], $"the databases hold {w.Key}={w.Value}@{w.Version} for {w.TransactionId}, which is not that transaction's final write of {w.Key} in the history"));
                    continue;
                }

                AddToOrder(w.Key, new Entry(w.Version, w.Value, t.Id));
            }
        }

        private static string Backend(Dictionary<string, string> backendOf, string key) => backendOf.TryGetValue(key, out var b) ? b : "?";

        private void Commit(Transaction t)
        {
            _committed.Add(t.Id);
            _nodes.Add(t.Id);
        }

        /// <summary>Without audit rows: ok transactions committed, unknown ones possibly committed (Elle's rule).</summary>
        private void ResolveFromHistory()
        {
            var observed = new Dictionary<(string Key, long Value), long>();
            foreach (var t in _history.Where(t => t.Outcome == Outcome.Ok))
            {
                foreach (var op in t.Ops.Where(o => o.Kind == OpKind.Read && o.Value is not null && o.Version is not null))
                {
                    observed.TryAdd((op.Key, op.Value!.Value), op.Version!.Value);
                }
            }

            foreach (var t in _history)
            {
                switch (t.Outcome)
                {
                    case Outcome.Ok:
                        Commit(t);
                        break;
                    case Outcome.Fail:
                        _aborted++;
                        continue;
                    default:
                        _unknown++;
                        _nodes.Add(t.Id);
                        break;
                }

                foreach (var op in FinalWrites(t).Values)
                {
                    var version = op.Version ?? (observed.TryGetValue((op.Key, op.Value!.Value), out var v) ? v : (long?)null);
                    if (version is { } known)
                    {
                        AddToOrder(op.Key, new Entry(known, op.Value!.Value, t.Id));
                    }
                }
            }
        }

        private void AddToOrder(string key, Entry entry)
        {
            if (!_order.TryGetValue(key, out var list))
            {
                _order[key] = list = [];
            }

            list.Add(entry);
        }

        private void SortOrders()
        {
            foreach (var (key, list) in _order)
            {
                list.Sort((a, b) => a.Version.CompareTo(b.Version));
                for (var i = 1; i < list.Count; i++)
                {
                    if (list[i].Version == list[i - 1].Version)
                    {
                        _anomalies.Add(new Anomaly(AnomalyNames.VersionConflict, [list[i - 1].Writer, list[i].Writer], $"{list[i - 1].Writer} and {list[i].Writer} both installed version {list[i].Version} of {key} ({list[i - 1].Value} and {list[i].Value})"));
                    }
                }

                if (_initial.TryGetValue(key, out var initial) && list.Count > 0 && list[0].Version <= initial.Version)
                {
                    _anomalies.Add(new Anomaly(AnomalyNames.VersionConflict, [list[0].Writer], $"{list[0].Writer} installed version {list[0].Version} of {key}, not after its initial version {initial.Version}"));
                }
            }
        }

        /// <summary>The row left in the database must be the last write of its version order (or the initial row).</summary>
        private void CheckFinalRegisters()
        {
            if (_state is null)
            {
                return;
            }

            var auditing = _state.Installed is not null;
            foreach (var final in _state.Final)
            {
                var list = _order.TryGetValue(final.Key, out var l) ? l : [];
                if (auditing)
                {
                    var (value, version) = list.Count > 0
                        ? (list[^1].Value, list[^1].Version)
                        : _initial.TryGetValue(final.Key, out var i) ? (i.Value, i.Version) : (final.Value, final.Version);
                    if (value != final.Value || version != final.Version)
                    {
                        var who = list.Count > 0 ? list[^1].Writer : "the initial state";
                        _anomalies.Add(new Anomaly(AnomalyNames.VersionConflict, list.Count > 0 ? [list[^1].Writer] : [], $"{final.Key} ends as {final.Value}@{final.Version}, but its last committed write is {value}@{version} ({who})"));
                    }

                    continue;
                }

                // No audit rows: an acknowledged write placed after the final row, or at its version with another value, is lost.
                foreach (var e in list.Where(e => _committed.Contains(e.Writer) && (e.Version > final.Version || (e.Version == final.Version && e.Value != final.Value))))
                {
                    _lost.Add(new LostCommit(e.Writer, [final.Key]));
                }
            }
        }

        private void AddReadEdges()
        {
            var readers = new Dictionary<(string Key, long Version), List<string>>(); // for lost updates: committed writers of a key by the version they read
            foreach (var t in _history.Where(t => t.Outcome == Outcome.Ok && _committed.Contains(t.Id)))
            {
                var written = new Dictionary<string, long>(StringComparer.Ordinal);
                var external = new Dictionary<string, long>(StringComparer.Ordinal);
                var finalWrites = FinalWrites(t);
                foreach (var op in t.Ops)
                {
                    if (op.Kind == OpKind.Write)
                    {
                        written[op.Key] = op.Value!.Value;
                        continue;
                    }

                    if (op.Value is not { } value)
                    {
                        continue;
                    }

                    if (written.TryGetValue(op.Key, out var own))
                    {
                        if (own != value)
                        {
                            _anomalies.Add(new Anomaly(AnomalyNames.Internal, [t.Id], $"{t.Id} wrote {op.Key}={own} and then read {op.Key}={value}"));
                        }

                        continue;
                    }

                    if (external.TryGetValue(op.Key, out var earlier))
                    {
                        if (earlier != value)
                        {
                            _anomalies.Add(new Anomaly(AnomalyNames.Internal, [t.Id], $"{t.Id} read {op.Key}={earlier} and later {op.Key}={value} (non-repeatable read)"));
                        }

                        continue;
                    }

                    external[op.Key] = value;
                    if (ReadPosition(t, op) is not { } position)
                    {
                        continue;
                    }

                    if (position.Writer is { } writer)
                    {
                        _graph.Add(writer, t.Id, EdgeKinds.WR, op.Key);
                    }

                    NoteReader(op.Key, position.Index, t.Id);

                    var list = _order.TryGetValue(op.Key, out var l) ? l : [];
                    if (position.Index + 1 < list.Count)
                    {
                        _graph.Add(t.Id, list[position.Index + 1].Writer, EdgeKinds.RW, op.Key);
                    }

                    if (finalWrites.ContainsKey(op.Key) && position.Index >= -1)
                    {
                        var version = position.Index < 0 ? long.MinValue : list[position.Index].Version;
                        if (!readers.TryGetValue((op.Key, version), out var who))
                        {
                            readers[(op.Key, version)] = who = [];
                        }

                        who.Add(t.Id);
                    }
                }
            }

            foreach (var ((key, version), who) in readers.Where(r => r.Value.Count > 1))
            {
                var read = version == long.MinValue ? "its initial version" : $"version {version.ToString(CultureInfo.InvariantCulture)}";
                _anomalies.Add(new Anomaly(AnomalyNames.LostUpdate, who, $"{string.Join(", ", who)} all read {read} of {key} and all wrote {key}"));
            }
        }

        /// <summary>Where a committed read sits in its key's version order (index -1: the initial version), or null after reporting why it cannot.</summary>
        private (int Index, string? Writer)? ReadPosition(Transaction reader, MicroOp op)
        {
            var value = op.Value!.Value;
            if (!_writes.TryGetValue((op.Key, value), out var write))
            {
                if (value == InitialValue(op.Key))
                {
                    if (op.Version is { } v && _initial.TryGetValue(op.Key, out var initial) && initial.Version != v)
                    {
                        _anomalies.Add(new Anomaly(AnomalyNames.GarbageRead, [reader.Id], $"{reader.Id} read {op.Key}'s initial value {value} at version {v}, but it was at version {initial.Version}"));
                    }

                    return (-1, null);
                }

                _anomalies.Add(new Anomaly(AnomalyNames.GarbageRead, [reader.Id], $"{reader.Id} read {op.Key}={value}, which no transaction wrote"));
                return null;
            }

            var writer = write.Writer;
            if (ReferenceEquals(writer, reader))
            {
                _anomalies.Add(new Anomaly(AnomalyNames.Internal, [reader.Id], $"{reader.Id} read {op.Key}={value} before writing it itself"));
                return null;
            }

            if (!_nodes.Contains(writer.Id))
            {
                _anomalies.Add(new Anomaly(AnomalyNames.G1a, [reader.Id, writer.Id], $"{reader.Id} read {op.Key}={value}, written by {writer.Id}, which did not commit ({writer.Outcome})"));
                return null;
            }

            if (!write.Final)
            {
                _anomalies.Add(new Anomaly(AnomalyNames.G1b, [reader.Id, writer.Id], $"{reader.Id} read {op.Key}={value}, an intermediate value that {writer.Id} overwrote before committing"));
                return null;
            }

            var list = _order.TryGetValue(op.Key, out var l) ? l : [];
            var index = list.FindIndex(e => e.Value == value);
            if (index < 0)
            {
                return (-2, writer.Id); // committed but not placed in the version order: a wr edge only
            }

            if (op.Version is { } seen && seen != list[index].Version)
            {
                _anomalies.Add(new Anomaly(AnomalyNames.GarbageRead, [reader.Id, writer.Id], $"{reader.Id} read {op.Key}={value} at version {seen}, but {writer.Id} installed it at version {list[index].Version}"));
            }

            return (index, writer.Id);
        }

        private void AddWriteEdges()
        {
            foreach (var (key, list) in _order)
            {
                for (var i = 1; i < list.Count; i++)
                {
                    _graph.Add(list[i - 1].Writer, list[i].Writer, EdgeKinds.WW, key);
                }
            }
        }

        private void FindCycles()
        {
            const EdgeKinds all = EdgeKinds.WW | EdgeKinds.WR | EdgeKinds.RW;
            foreach (var component in _graph.StronglyConnectedComponents())
            {
                var finder = new CycleFinder(_graph, component, MaxCycleStarts);
                Report(AnomalyNames.G0, finder.Find(EdgeKinds.WW, EdgeKinds.WW, _ => true));
                Report(AnomalyNames.G1c, finder.Find(EdgeKinds.WR, EdgeKinds.WW | EdgeKinds.WR, _ => true));
                Report(AnomalyNames.GSingle, finder.Find(EdgeKinds.RW, EdgeKinds.WW | EdgeKinds.WR, _ => true));
                var g2 = finder.Find(EdgeKinds.RW, all, c => c.Count(s => s.Kind == EdgeKinds.RW) > 1);
                if (g2 is not null)
                {
                    var adjacent = Enumerable.Range(0, g2.Count).Any(i => g2[i].Kind == EdgeKinds.RW && g2[(i + 1) % g2.Count].Kind == EdgeKinds.RW);
                    Report(adjacent ? AnomalyNames.G2Item : AnomalyNames.GNonadjacent, g2);
                }
            }
        }

        private void Report(string name, List<CycleFinder.Step>? cycle)
        {
            if (cycle is null)
            {
                return;
            }

            var names = cycle.Select(s => _graph.Name(s.From)).ToList();
            var text = string.Concat(cycle.Select(s => $"{_graph.Name(s.From)} -{Kind(s.Kind)}({s.Key})-> ")) + _graph.Name(cycle[0].From);
            _anomalies.Add(new Anomaly(name, names, text));
        }

        private static string Kind(EdgeKinds kind) => kind switch
        {
            EdgeKinds.WW => "ww",
            EdgeKinds.WR => "wr",
            _ => "rw",
        };

        private readonly record struct Entry(long Version, long Value, string Writer);
    }
}
