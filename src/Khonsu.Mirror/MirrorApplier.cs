using Khonsu.Mirror.Changes;
using Khonsu.Mirror.DuckDb;

namespace Khonsu.Mirror;

/// <summary>
/// Keeps a DuckDB mirror up to date from a Khonsu change stream: reads from the mirror's position,
/// applies each group of whole transactions in one DuckDB transaction, and polls the log when it has
/// caught up. Runs in the application's process (this class) or as its own (<c>khonsu mirror run</c>);
/// with a Kafka log, on another machine. Its lag is on the <c>khonsu.mirror.lag</c> gauges.
/// One call at a time: <see cref="RunAsync"/> and <see cref="CatchUpAsync"/> do not run concurrently.
/// </summary>
public sealed class MirrorApplier : IAsyncDisposable
{
    private readonly KhonsuChangeStream _stream;
    private readonly DuckDbMirror _mirror;
    private readonly MirrorApplierOptions _options;
    private MirrorLag _lag = new(0, TimeSpan.Zero);

    private MirrorApplier(KhonsuChangeStream stream, DuckDbMirror mirror, string mirrorPath, MirrorApplierOptions options)
    {
        (_stream, _mirror, _options) = (stream, mirror, options);
        MirrorTelemetry.Track(this, Path.GetFullPath(mirrorPath), () => _lag);
    }

    /// <summary>The mirror it applies to (queries may use its connection between groups).</summary>
    public DuckDbMirror Mirror => _mirror;

    /// <summary>The lag as of the applier's last look at the log.</summary>
    public MirrorLag Lag => _lag;

    /// <summary>Opens the change stream of <paramref name="connectionString"/> and the mirror file <paramref name="mirrorPath"/>.</summary>
    public static async Task<MirrorApplier> OpenAsync(string connectionString, string mirrorPath, MirrorApplierOptions? options = null, CancellationToken cancellationToken = default)
    {
        var stream = await KhonsuChangeStream.OpenAsync(connectionString, cancellationToken).ConfigureAwait(false);
        try
        {
            var mirror = await DuckDbMirror.OpenAsync(mirrorPath, cancellationToken).ConfigureAwait(false);
            return new MirrorApplier(stream, mirror, mirrorPath, options ?? new MirrorApplierOptions());
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Applies every commit the log holds now, group by group; returns the mirror's position then.
    /// </summary>
    /// <exception cref="ChangeStreamTruncatedException">The log no longer holds the mirror's next position.</exception>
    /// <exception cref="MirrorSchemaException">A source column changed in a way the mirror cannot follow.</exception>
    public async Task<MirrorPosition> CatchUpAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var group in _stream.ReadAsync(_mirror.Position.Next, _options.TransactionsPerGroup, cancellationToken).ConfigureAwait(false))
        {
            if (group.Transactions.Count > 0)
            {
                _lag = _lag with { Time = DateTimeOffset.UtcNow - group.Transactions[0].CommittedAt };
            }

            await _mirror.ApplyAsync(group, cancellationToken).ConfigureAwait(false);
            _options.Applied?.Invoke(group);
        }

        _lag = new MirrorLag(0, TimeSpan.Zero);
        return _mirror.Position;
    }

    /// <summary>Catches up, then follows the log (looking again every <see cref="MirrorApplierOptions.PollInterval"/>) until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>How far <paramref name="position"/> is behind the log <paramref name="stream"/> reads: positions to its last record, and the age of the first commit after it.</summary>
    public static async Task<MirrorLag> LagAsync(KhonsuChangeStream stream, MirrorPosition position, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(position);
        var last = await stream.LastRecordAsync(position.Next, cancellationToken).ConfigureAwait(false);
        if (last is null)
        {
            return new MirrorLag(0, TimeSpan.Zero);
        }

        await foreach (var group in stream.ReadAsync(position.Next, 1, cancellationToken).ConfigureAwait(false))
        {
            if (group.Transactions.Count > 0)
            {
                return new MirrorLag(last.Value.Position - position.ThroughPosition, DateTimeOffset.UtcNow - group.Transactions[0].CommittedAt);
            }
        }

        return new MirrorLag(last.Value.Position - position.ThroughPosition, TimeSpan.Zero);
    }

    /// <summary>Closes the stream and the mirror.</summary>
    public async ValueTask DisposeAsync()
    {
        MirrorTelemetry.Untrack(this);
        await _mirror.DisposeAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
