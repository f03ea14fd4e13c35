using System.Collections.Concurrent;

namespace Khonsu.Data.Backends;

/// <summary>
/// Where each SQL text's result carries tables' keys, learnt from the first result and kept, so
/// that repeated statements cost nothing extra. Bounded: past <see cref="MaxCached"/> texts, new
/// ones are learnt at every execution rather than grow the cache.
/// </summary>
public sealed class ReadShapeCache
{
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, KeyColumns[]> _shapes = new(StringComparer.Ordinal);

    /// <summary>Where the key columns are in the results of <paramref name="sql"/>: as learnt before, or learnt now from <paramref name="reader"/> with <paramref name="learn"/> (and kept while the cache has room).</summary>
    public KeyColumns[] GetOrLearn<TReader>(string sql, TReader reader, Func<TReader, KeyColumns[]> learn)
    {
        ArgumentNullException.ThrowIfNull(learn);
        if (_shapes.TryGetValue(sql, out var shape))
        {
            return shape;
        }

        shape = learn(reader);
        if (_shapes.Count < MaxCached)
        {
            _shapes.TryAdd(sql, shape);
        }

        return shape;
    }
}
