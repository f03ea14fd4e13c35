using Khonsu.Engine.Codec;
using Khonsu.Engine.Diagnostics;

namespace Khonsu.Engine.Prefetch;

/// <summary>
/// Learns online, per statement template, which templates follow it in the same transaction and
/// where their parameters come from (a parameter of the earlier statement, or a column of a row of
/// its result), and predicts the reads that will follow a statement that just ran. A statistical
/// model of counts: P(B follows A) is the share of A's runs that some B followed, and a
/// parameter's source is the one that gave its value most often. Bounded (templates, followers per
/// template), forgetting (counts are halved as they grow), restorable from <see cref="Save"/>.
/// Thread-safe: one model serves every transaction of a runtime.
/// </summary>
internal sealed class FollowUpModel
{
    private const byte StateVersion = 1;

    private readonly object _lock = new();
    private readonly Dictionary<string, TemplateStats> _templates = new(StringComparer.Ordinal);
    private long _tick;
    private long _issued;
    private long _consumed;
    private long _reads;
    private long _served;

    public FollowUpModel(FollowUpModelOptions? options = null)
    {
        Options = (options ?? new FollowUpModelOptions()).Validated();
        KhonsuTelemetry.Track(this);
    }

    public FollowUpModelOptions Options { get; }

    /// <summary>Templates remembered now.</summary>
    public int TemplateCount
    {
        get
        {
            lock (_lock)
            {
                return _templates.Count;
            }
        }
    }

    /// <summary>Of the prefetched statements judged (consumed or dropped), the share the application consumed; null before any.</summary>
    public double? Precision
    {
        get
        {
            lock (_lock)
            {
                return _issued == 0 ? null : (double)_consumed / _issued;
            }
        }
    }

    /// <summary>Of the reads the application ran where prefetching was on, the share served from a prefetch; null before any.</summary>
    public double? Recall
    {
        get
        {
            lock (_lock)
            {
                return _reads == 0 ? null : (double)_served / _reads;
            }
        }
    }

    /// <summary>
    /// A statement ran: it counts as a run of its template, and as a follow-up of each earlier
    /// statement in <paramref name="history"/> (the transaction's previous ones, oldest first),
    /// with the sources its parameter values match there. The caller then appends it to the history.
    /// </summary>
    public void Learn(IReadOnlyList<StatementObservation> history, StatementObservation current)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(current);
        lock (_lock)
        {
            var seen = Touch(current.Template, current.Parameters.Count);
            seen.Seen++;
            var compared = new HashSet<string>(StringComparer.Ordinal) { current.Template };
            for (var i = history.Count - 1; i >= Math.Max(0, history.Count - Options.HistoryLength); i--)
            {
                var earlier = history[i];
                if (!compared.Add(earlier.Template) || !_templates.TryGetValue(earlier.Template, out var antecedent))
                {
                    continue; // Only the latest run of each template is compared (and not the template with itself).
                }

                var follower = antecedent.FollowerOf(current.Template, current.Parameters.Count, Options.MaxFollowers);
                if (earlier.CountedFollowers.Add(current.Template))
                {
                    follower.Followed++;
                }

                follower.Occurrences++;
                for (var p = 0; p < current.Parameters.Count; p++)
                {
                    foreach (var source in SourcesOf(current.Parameters[p], earlier))
                    {
                        follower.Sources[p][source] = follower.Sources[p].GetValueOrDefault(source) + 1;
                    }
                }
            }

            if (seen.Seen >= Options.ForgetAfter)
            {
                seen.Halve();
            }
        }
    }

    /// <summary>The reads expected to follow <paramref name="current"/>, which just ran (with its result rows), with their parameters.</summary>
    public IReadOnlyList<PredictedStatement> Predict(StatementObservation current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var predictions = new List<PredictedStatement>();
        lock (_lock)
        {
            if (!_templates.TryGetValue(current.Template, out var stats) || stats.Seen < Options.MinSupport)
            {
                return predictions;
            }

            foreach (var follower in stats.Followers)
            {
                var confidence = follower.Followed / stats.Seen;
                if (confidence < Options.Confidence || IsSwitchedOff(follower.Template))
                {
                    continue;
                }

                if (BestSources(follower) is { } sources)
                {
                    AddPredictions(predictions, follower.Template, sources, current, confidence);
                }
            }
        }

        return predictions;
    }

    /// <summary>A prefetched statement of <paramref name="template"/> was judged: consumed by the application, or dropped unused.</summary>
    public void Judged(string template, bool consumed)
    {
        lock (_lock)
        {
            _issued++;
            _consumed += consumed ? 1 : 0;
            KhonsuTelemetry.PrefetchedStatements.Add(1, new KeyValuePair<string, object?>("khonsu.prefetch.outcome", consumed ? "consumed" : "dropped"));
            if (_templates.TryGetValue(template, out var stats))
            {
                stats.Prefetched++;
                stats.Consumed += consumed ? 1 : 0;
            }
        }
    }

    /// <summary>The application ran a read where prefetching was on; <paramref name="served"/>: from a prefetch.</summary>
    public void ApplicationRead(bool served)
    {
        lock (_lock)
        {
            _reads++;
            _served += served ? 1 : 0;
            KhonsuTelemetry.PrefetchReads.Add(1, new KeyValuePair<string, object?>("khonsu.prefetch.served", served));
        }
    }

    /// <summary>Whether the template's prefetches were consumed too rarely to go on prefetching it.</summary>
    public bool IsSwitchedOff(string template)
    {
        lock (_lock)
        {
            return _templates.TryGetValue(template, out var stats)
                && stats.Prefetched >= Options.SwitchAfter
                && stats.Consumed < Options.SwitchOffBelow * stats.Prefetched;
        }
    }

    /// <summary>The model as a compact byte string (templates, counts and sources; no parameter values).</summary>
    public byte[] Save()
    {
        lock (_lock)
        {
            var writer = new CodecWriter();
            writer.WriteByte(StateVersion);
            writer.WriteVarUInt((ulong)_templates.Count);
            foreach (var stats in _templates.Values.OrderBy(t => t.LastTick))
            {
                writer.WriteString(stats.Template);
                writer.WriteVarUInt((ulong)stats.ParameterCount);
                writer.WriteDouble(stats.Seen);
                writer.WriteDouble(stats.Prefetched);
                writer.WriteDouble(stats.Consumed);
                writer.WriteVarUInt((ulong)stats.Followers.Count);
                foreach (var follower in stats.Followers)
                {
                    writer.WriteString(follower.Template);
                    writer.WriteDouble(follower.Followed);
                    writer.WriteDouble(follower.Occurrences);
                    writer.WriteVarUInt((ulong)follower.Sources.Length);
                    foreach (var byParameter in follower.Sources)
                    {
                        writer.WriteVarUInt((ulong)byParameter.Count);
                        foreach (var (source, count) in byParameter)
                        {
                            writer.WriteByte(source.FromColumn ? (byte)1 : (byte)0);
                            writer.WriteVarUInt((ulong)source.Index);
                            writer.WriteDouble(count);
                        }
                    }
                }
            }

            return writer.Written.ToArray();
        }
    }

    /// <summary>A model restored from <see cref="Save"/>'s bytes, under <paramref name="options"/> (its bounds apply to what is restored).</summary>
    public static FollowUpModel Restore(ReadOnlySpan<byte> state, FollowUpModelOptions? options = null)
    {
        var model = new FollowUpModel(options);
        var reader = new CodecReader(state);
        if (reader.ReadByte() != StateVersion)
        {
            throw new InvalidDataException("The prefetch model's saved state has an unknown version.");
        }

        var templates = reader.ReadCount();
        for (var t = 0; t < templates; t++)
        {
            var stats = model.Touch(reader.ReadString(), reader.ReadCount());
            stats.Seen = reader.ReadDouble();
            stats.Prefetched = reader.ReadDouble();
            stats.Consumed = reader.ReadDouble();
            var followers = reader.ReadCount();
            for (var f = 0; f < followers; f++)
            {
                var template = reader.ReadString();
                var followed = reader.ReadDouble();
                var occurrences = reader.ReadDouble();
                var parameters = reader.ReadCount();
                var follower = stats.FollowerOf(template, parameters, model.Options.MaxFollowers);
                follower.Followed = followed;
                follower.Occurrences = occurrences;
                for (var p = 0; p < parameters; p++)
                {
                    var sources = reader.ReadCount();
                    for (var s = 0; s < sources; s++)
                    {
                        var source = new ParameterSource(reader.ReadByte() == 1, reader.ReadCount());
                        follower.Sources[p][source] = reader.ReadDouble();
                    }
                }
            }
        }

        if (reader.Remaining != 0)
        {
            throw new InvalidDataException("The prefetch model's saved state has trailing bytes.");
        }

        return model;
    }

    /// <summary>The template's statistics, created (evicting the one seen longest ago) if new.</summary>
    private TemplateStats Touch(string template, int parameterCount)
    {
        _tick++;
        if (!_templates.TryGetValue(template, out var stats))
        {
            if (_templates.Count >= Options.MaxTemplates)
            {
                var oldest = _templates.Values.MinBy(t => t.LastTick)!;
                _templates.Remove(oldest.Template);
            }

            stats = new TemplateStats(template, parameterCount);
            _templates.Add(template, stats);
        }

        stats.LastTick = _tick;
        return stats;
    }

    private static IEnumerable<ParameterSource> SourcesOf(object? value, StatementObservation earlier)
    {
        for (var i = 0; i < earlier.Parameters.Count; i++)
        {
            if (ObservedValues.Match(earlier.Parameters[i], value))
            {
                yield return ParameterSource.Parameter(i);
            }
        }

        var columns = new HashSet<int>();
        foreach (var row in earlier.Rows)
        {
            for (var c = 0; c < row.Length; c++)
            {
                if (!columns.Contains(c) && ObservedValues.Match(row[c], value))
                {
                    columns.Add(c);
                }
            }
        }

        foreach (var column in columns.Order())
        {
            yield return ParameterSource.Column(column);
        }
    }

    /// <summary>Each parameter's most frequent source, or null when one has none frequent enough.</summary>
    private ParameterSource[]? BestSources(FollowerStats follower)
    {
        var best = new ParameterSource[follower.Sources.Length];
        for (var p = 0; p < best.Length; p++)
        {
            // Ties go to a parameter over a column, then to the lowest index: the same answer every time.
            var top = follower.Sources[p]
                .OrderByDescending(s => s.Value).ThenBy(s => s.Key.FromColumn).ThenBy(s => s.Key.Index)
                .Select(s => (KeyValuePair<ParameterSource, double>?)s).FirstOrDefault();
            if (top is not { } chosen || chosen.Value < Options.Confidence * follower.Occurrences)
            {
                return null;
            }

            best[p] = chosen.Key;
        }

        return best;
    }

    private void AddPredictions(List<PredictedStatement> predictions, string template, ParameterSource[] sources, StatementObservation current, double confidence)
    {
        var perRow = sources.Any(s => s.FromColumn);
        var rows = perRow ? current.Rows.Take(Options.MaxFanOut).Cast<object?[]?>() : new object?[]?[] { null };
        var made = new List<object?[]>();
        foreach (var row in rows)
        {
            var values = new object?[sources.Length];
            var complete = true;
            for (var p = 0; p < sources.Length && complete; p++)
            {
                var source = sources[p];
                var count = source.FromColumn ? row!.Length : current.Parameters.Count;
                complete = source.Index < count;
                values[p] = complete ? (source.FromColumn ? row![source.Index] : current.Parameters[source.Index]) : null;
                complete &= values[p] is not null and not DBNull;
            }

            if (complete && !made.Any(m => m.SequenceEqual(values)))
            {
                made.Add(values);
                predictions.Add(new PredictedStatement(template, values, confidence));
            }
        }
    }

    private sealed class TemplateStats(string template, int parameterCount)
    {
        public string Template { get; } = template;

        public int ParameterCount { get; } = parameterCount;

        public double Seen { get; set; }

        public long LastTick { get; set; }

        public double Prefetched { get; set; }

        public double Consumed { get; set; }

        public List<FollowerStats> Followers { get; } = [];

        public FollowerStats FollowerOf(string follower, int parameterCount, int maxFollowers)
        {
            var found = Followers.Find(f => f.Template == follower && f.Sources.Length == parameterCount);
            if (found is not null)
            {
                return found;
            }

            if (Followers.Count >= maxFollowers)
            {
                Followers.Remove(Followers.MinBy(f => f.Followed)!);
            }

            found = new FollowerStats(follower, parameterCount);
            Followers.Add(found);
            return found;
        }

        /// <summary>Old runs count half: the model follows the application as it changes.</summary>
        public void Halve()
        {
            Seen /= 2;
            Prefetched /= 2;
            Consumed /= 2;
            foreach (var follower in Followers)
            {
                follower.Halve();
            }
        }
    }

    private sealed class FollowerStats(string template, int parameterCount)
    {
        public string Template { get; } = template;

        public double Followed { get; set; }

        public double Occurrences { get; set; }

        public Dictionary<ParameterSource, double>[] Sources { get; } = Enumerable.Range(0, parameterCount).Select(_ => new Dictionary<ParameterSource, double>()).ToArray();

        public void Halve()
        {
            Followed /= 2;
            Occurrences /= 2;
            foreach (var byParameter in Sources)
            {
                foreach (var source in byParameter.Keys.ToList())
                {
                    byParameter[source] /= 2;
                }
            }
        }
    }
}
