using System.Diagnostics;
using System.Diagnostics.Metrics;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Diagnostics;
using Khonsu.Engine.Log;
using Khonsu.Engine.Tests.Coordination;

namespace Khonsu.Engine.Tests.Diagnostics;

[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryCollection;

/// <summary>Runs alone: the Meter and ActivitySource are process-wide.</summary>
[Collection(nameof(TelemetryTests))]
public sealed class TelemetryTests : IDisposable
{
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];
    private readonly List<Activity> _activities = [];
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _traces;

    public TelemetryTests()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == KhonsuTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        _meters.Start();
        _traces = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KhonsuTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (_activities) { _activities.Add(activity); } },
        };
        ActivitySource.AddActivityListener(_traces);
    }

    [Fact]
    public async Task A_commit_reports_its_outcome_phases_and_a_trace()
    {
        var transaction = new TransactionInfo(TransactionId.New(), DateTimeOffset.UtcNow, null);

        await new CommitCoordinator(new MemoryCommitLog(), "node").CommitAsync(transaction, [new MemoryParticipant("a"), new MemoryParticipant("b")], async: true, CancellationToken.None);

        Assert.Contains(Measurements("khonsu.transactions"), m => Equals(m.Tags["khonsu.outcome"], "committed"));
        Assert.Equal(["finish", "log", "prepare", "total"], Measurements("khonsu.commit.duration").Select(m => (string)m.Tags["khonsu.phase"]!).Distinct().Order());
        var activity = Assert.Single(Activities(transaction.Id));
        Assert.Equal("khonsu.commit", activity.OperationName);
        Assert.Equal("committed", activity.GetTagItem("khonsu.outcome"));
        Assert.Equal(["khonsu.prepare", "khonsu.log", "khonsu.finish"], activity.Events.Select(e => e.Name));
    }

    [Fact]
    public void The_certifiers_memory_is_observable_as_transactions_and_items()
    {
        var certifier = new CommitCertifier();
        var snapshot = certifier.TakeSnapshot(); // held: nothing may be forgotten
        for (var i = 0; i < 3; i++)
        {
            var id = TransactionId.New();
            var item = new ItemId("a", "t", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            certifier.Certify(new CertificationRequest(id, snapshot, [item with { Table = "read" }], [item]), serializable: true);
            certifier.Finished(id);
        }

        _meters.RecordObservableInstruments();

        Assert.Contains(Measurements("khonsu.certifier.transactions"), m => m.Value >= 3);
        Assert.Contains(Measurements("khonsu.certifier.items"), m => m.Value >= 6);
        GC.KeepAlive(certifier);
    }

    [Fact]
    public async Task An_abort_reports_its_reason()
    {
        var transaction = new TransactionInfo(TransactionId.New(), DateTimeOffset.UtcNow, null);
        var conflicting = new MemoryParticipant("a") { FailPrepare = new SerializationConflictException("a", "t", "1", "changed") };

        await Assert.ThrowsAsync<SerializationConflictException>(() => new CommitCoordinator(new MemoryCommitLog(), "node").CommitAsync(transaction, [conflicting], async: true, CancellationToken.None).AsTask());

        Assert.Contains(Measurements("khonsu.transactions"), m => Equals(m.Tags["khonsu.outcome"], "aborted") && Equals(m.Tags["khonsu.abort_reason"], "conflict"));
        Assert.Equal("aborted", Assert.Single(Activities(transaction.Id)).GetTagItem("khonsu.outcome"));
    }

    [Fact]
    public async Task The_embedded_log_reports_append_latency_and_batch_sizes()
    {
        var path = Path.Combine(Path.GetTempPath(), "khonsu-telemetry-tests", Guid.NewGuid().ToString("N"), "log.db");
        await using (var log = EmbeddedCommitLog.Open(path))
        {
            await log.AppendAsync(new LogRecord { Kind = LogRecordKind.Commit, TransactionId = TransactionId.New(), NodeId = "n", Timestamp = DateTimeOffset.UtcNow });
        }

        Assert.NotEmpty(Measurements("khonsu.log.append.duration"));
        Assert.Contains(Measurements("khonsu.log.batch.size"), m => m.Value >= 1);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    public void Dispose()
    {
        _meters.Dispose();
        _traces.Dispose();
    }

    private void Record(string instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        lock (_measurements)
        {
            _measurements.Add((instrument, value, copy));
        }
    }

    private List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements(string instrument)
    {
        lock (_measurements)
        {
            return _measurements.Where(m => m.Instrument == instrument).ToList();
        }
    }

    private List<Activity> Activities(TransactionId id)
    {
        lock (_activities)
        {
            return _activities.Where(a => Equals(a.GetTagItem("khonsu.transaction_id"), id.ToString())).ToList();
        }
    }
}
