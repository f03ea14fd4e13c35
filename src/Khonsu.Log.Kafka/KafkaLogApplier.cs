using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka;

/// <summary>
/// Applies records to the log's index in offset order from two sources: the tail consumer, which
/// reads every record of the partition, and this process's own appends, whose content it knows
/// and whose offset the broker's acknowledgement tells. An own record at the index's next offset
/// is applied at once, without waiting for the tail to fetch it back: certification in log order
/// needs every record before it applied, and nothing more. Own records acknowledged ahead of a
/// gap (a record of another process not fetched yet, or an own one whose acknowledgement is still
/// on its way) wait here and are applied, as one run, as soon as the gap is filled. The tail later
/// reads the same records and skips them. Every apply, and the checkpoint hook after it, runs
/// under one lock, so a checkpoint is taken exactly at the offset it names.
/// </summary>
/// <param name="index">The index (replaced once, by a checkpoint, before anything is applied).</param>
/// <param name="applied">Called after each record is applied, under the lock (checkpoints).</param>
internal sealed class KafkaLogApplier(Func<KafkaLogIndex> index, Action<long> applied)
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, LogRecord> _acknowledged = [];

    /// <summary>Whether the tail needs to decode the record at <paramref name="offset"/> (it is not applied yet).</summary>
    public bool Needs(long offset) => offset >= index().Next;

    /// <summary>A record the tail read; skipped when an own append applied it already.</summary>
    public void FromTail(long offset, LogRecord record)
    {
        lock (_gate)
        {
            var target = index();
            if (offset < target.Next)
            {
                return;
            }

            _acknowledged.Remove(offset);
            Apply(target, offset, record);
            ApplyAcknowledged(target);
        }
    }

    /// <summary>An own record the broker acknowledged at <paramref name="offset"/>, as the tail would decode it.</summary>
    public void Acknowledged(long offset, LogRecord record)
    {
        lock (_gate)
        {
            var target = index();
            if (offset < target.Next)
            {
                return; // the tail was first
            }

            _acknowledged[offset] = record;
            ApplyAcknowledged(target);
        }
    }

    private void ApplyAcknowledged(KafkaLogIndex target)
    {
        while (_acknowledged.Count > 0)
        {
            var (offset, record) = _acknowledged.First();
            var next = target.Next;
            if (offset > next)
            {
                return; // a record before it is not known here yet: the tail brings it
            }

            _acknowledged.Remove(offset);
            if (offset == next)
            {
                Apply(target, offset, record);
            }
        }
    }

    private void Apply(KafkaLogIndex target, long offset, LogRecord record)
    {
        target.Apply(offset, record);
        applied(offset);
    }
}
