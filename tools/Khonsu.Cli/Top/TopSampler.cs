using Khonsu.Cli.InDoubt;
using Khonsu.Cli.Infrastructure;
using Khonsu.Cli.LogView;
using Khonsu.Log.Kafka;

namespace Khonsu.Cli.Top;

/// <summary>
/// Reads what <c>khonsu top</c> shows, from outside the application: new records from the commit
/// log at every refresh, and (less often, as it asks every backend) the backends and what is in
/// doubt. Reads only; the embedded log is read while the application holds it, as status does.
/// </summary>
internal sealed class TopSampler : IAsyncDisposable
{
    /// <summary>How far back the first refresh reads, so that it shows the window before top started.</summary>
    private const int FirstRecords = 20 * LogSource.PageSize;

    /// <summary>How often the backends are probed and scanned for transactions in doubt.</summary>
    private static readonly TimeSpan ScanEvery = TimeSpan.FromSeconds(5);

    private readonly KhonsuTarget _target;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _inDoubtAfter;
    private readonly LogActivity _activity;
    private LogSource? _source;
    private long _after = -1;
    private DateTimeOffset _scannedAt = DateTimeOffset.MinValue;
    private IReadOnlyList<BackendProbe> _backends = [];
    private IReadOnlyList<InDoubtTransaction>? _inDoubt;
    private string? _scanProblem;
    private (long End, IReadOnlyList<KafkaProcessLag> Processes)? _lag;

    public TopSampler(KhonsuTarget target, TimeSpan window, TimeSpan inDoubtAfter, TimeSpan connectTimeout)
    {
        _inDoubtAfter = inDoubtAfter;
        _target = target;
        _connectTimeout = connectTimeout;
        _activity = new LogActivity(window);
    }

    public async Task<TopFrame> NextAsync(CancellationToken cancellationToken)
    {
        string? logProblem = null;
        try
        {
            await ReadNewRecordsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Shown, and tried again at the next refresh: a log that is away for a while is what an operator watches top for.
            logProblem = "the commit log could not be read: " + _target.Scrub(KhonsuTarget.OneLine(error));
        }

        var now = DateTimeOffset.UtcNow;
        if (now - _scannedAt >= ScanEvery)
        {
            await ScanAsync(cancellationToken).ConfigureAwait(false);
            _scannedAt = DateTimeOffset.UtcNow;
        }

        return new TopFrame(
            now,
            _target.LogPath,
            _activity.LastPosition,
            _activity.Undecodable,
            _activity.Figures(now),
            _backends,
            _inDoubt,
            _target.Settings.PrepareLease,
            _inDoubtAfter,
            logProblem ?? _scanProblem)
        {
            Lag = _lag,
        };
    }

    private async Task ReadNewRecordsAsync(CancellationToken cancellationToken)
    {
        if (_source is null)
        {
            if (!_target.LogExists)
            {
                return; // the application creates it when it first opens a connection
            }

            _source = await LogSource.OpenAsync(_target, cancellationToken).ConfigureAwait(false);
            _after = Math.Max(-1, (await _source.LastPositionAsync(cancellationToken).ConfigureAwait(false) ?? -1) - FirstRecords);
        }

        IReadOnlyList<LogFileReader.Row> rows;
        do
        {
            rows = await _source.AfterAsync(_after, cancellationToken).ConfigureAwait(false);
            foreach (var row in rows)
            {
                _activity.Add(row.Position, row.Record);
                _after = row.Position;
            }
        }
        while (rows.Count == LogSource.PageSize);
    }

    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        _backends = await BackendProbe.ProbeAllAsync(_target, _connectTimeout, cancellationToken).ConfigureAwait(false);
        try
        {
            var log = _source is null ? null : await _source.CommitLogAsync(cancellationToken).ConfigureAwait(false);
            _inDoubt = await InDoubtScanner.ScanAsync(_target, log, BackendProbe.RecoveryResourcesOfReachable(_backends), _connectTimeout, cancellationToken).ConfigureAwait(false);
            _lag = log is null ? null : await ProcessLagView.ReadAsync(log, cancellationToken).ConfigureAwait(false);
            _scanProblem = null;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            _scanProblem = "transactions in doubt could not be listed: " + _target.Scrub(KhonsuTarget.OneLine(error));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_source is not null)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }
}
