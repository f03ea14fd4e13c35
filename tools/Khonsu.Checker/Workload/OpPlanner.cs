using Khonsu.Checker.History;

namespace Khonsu.Checker.Workload;

/// <summary>
/// Random transactions over the keyspace, each written value unique in the whole run: the high
/// 32 bits are the client's serial number, the low ones its counter.
/// </summary>
internal sealed class OpPlanner(Keyspace keys, int clientSerial, int seed, double writeSkewShare)
{
    private readonly Random _random = new(HashCode.Combine(seed, clientSerial));
    private long _counter;
    private long _transactions;

    public int ClientSerial => clientSerial;

    public string NextTransactionId() => $"c{clientSerial}-{++_transactions}";

    /// <summary>The ops of the next transaction: reads without values, writes with fresh unique values.</summary>
    public IReadOnlyList<MicroOp> Next()
    {
        var ops = new List<MicroOp>();
        if (_random.NextDouble() < writeSkewShare)
        {
            // Write skew across the backends: read one key of each, then write one of the two.
            var s = keys.SqliteKeys[_random.Next(keys.PerBackend)];
            var p = keys.PostgresKeys[_random.Next(keys.PerBackend)];
            ops.Add(MicroOp.Read(s, null));
            ops.Add(MicroOp.Read(p, null));
            ops.Add(MicroOp.Write(_random.Next(2) == 0 ? s : p, NextValue()));
            return ops;
        }

        var all = keys.All.ToList();
        var count = 1 + _random.Next(4);
        for (var i = 0; i < count; i++)
        {
            var key = all[_random.Next(all.Count)];
            ops.Add(_random.Next(2) == 0 ? MicroOp.Read(key, null) : MicroOp.Write(key, NextValue()));
            if (_random.Next(10) == 0)
            {
                // Now and then touch the same key again: a read of one's own write, or an intermediate write.
                ops.Add(_random.Next(2) == 0 ? MicroOp.Read(key, null) : MicroOp.Write(key, NextValue()));
            }
        }

        return ops;
    }

    private long NextValue() => ((long)clientSerial << 32) | ++_counter;
}
