using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Khonsu.Data;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Samples.Tests;

/// <summary>
/// samples/Observability: Khonsu's traces and metrics exported over OTLP (to a real HTTP endpoint
/// that records what it receives), and its Grafana dashboard, which must chart every metric Khonsu
/// emits under the name Prometheus gives it, and no metric that does not exist.
/// </summary>
public partial class ObservabilitySampleTests
{
    [Fact]
    public async Task The_sample_exports_khonsu_spans_and_metrics_over_otlp()
    {
        using var receiver = new OtlpReceiver();
        using var directory = new TempDirectory();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Built.Path("samples", "Observability", "Observability.dll"));
        foreach (var argument in new[] { "--seconds", "2", "--export-interval", "0.5" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("exported the last traces and metrics", output, StringComparison.Ordinal);

        var metrics = receiver.Bodies("/v1/metrics");
        var traces = receiver.Bodies("/v1/traces");
        Assert.True(metrics.Count > 0 && traces.Count > 0, $"metrics {metrics.Count}, traces {traces.Count} requests; paths: {string.Join(", ", receiver.Paths)}");
        Assert.All(receiver.ContentTypes, type => Assert.Equal("application/x-protobuf", type));

        // Protobuf keeps strings as UTF-8 bytes: the names are there as written.
        var metricText = Encoding.UTF8.GetString(metrics.SelectMany(b => b).ToArray());
        foreach (var name in new[] { "khonsu.transactions", "khonsu.commit.duration", "khonsu.log.append.duration", "db.client.operation.duration", "khonsu-sample-orders" })
        {
            Assert.Contains(name, metricText, StringComparison.Ordinal);
        }

        var traceText = Encoding.UTF8.GetString(traces.SelectMany(b => b).ToArray());
        Assert.Contains("khonsu.commit", traceText, StringComparison.Ordinal);
        Assert.Contains("INSERT shop.db", traceText, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dashboard_charts_every_metric_khonsu_emits_and_no_other()
    {
        var expected = KhonsuInstruments().ToDictionary(PrometheusName, i => i.Name);
        Assert.Contains("khonsu_commit_duration_seconds", expected.Keys); // the naming rule itself

        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Built.RepositoryRoot, "samples", "Observability", "grafana", "khonsu-dashboard.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .Select(target => target.GetProperty("expr").GetString()!)
            .ToList();
        // Label names (in by (...) and {...}) look like metric names: take them out first.
        var charted = expressions.SelectMany(e => MetricName().Matches(Labels().Replace(e, " ")).Select(m => m.Value)).ToHashSet();
        foreach (var name in charted)
        {
            var series = HistogramSeries().Replace(name, string.Empty);
            Assert.True(expected.ContainsKey(series) || expected.ContainsKey(name), $"the dashboard queries {name}, which Khonsu does not emit (it emits {string.Join(", ", expected.Keys.Order())})");
        }

        foreach (var (prometheus, instrument) in expected)
        {
            Assert.True(charted.Any(c => c == prometheus || HistogramSeries().Replace(c, string.Empty) == prometheus), $"{instrument} (in Prometheus {prometheus}) is on no panel of the dashboard");
        }
    }

    /// <summary>Every instrument of the meter "Khonsu", with the statics that create them run first.</summary>
    private static List<Instrument> KhonsuInstruments()
    {
        // Khonsu.Data and what it references, and the mirror's package, which an application adds on its own.
        var assemblies = new[] { typeof(KhonsuConnection).Assembly, typeof(Khonsu.Mirror.MirrorApplier).Assembly }
            .Concat(typeof(KhonsuConnection).Assembly.GetReferencedAssemblies().Select(System.Reflection.Assembly.Load))
            .ToList();
        foreach (var holder in new[] { "Khonsu.Engine.Diagnostics.KhonsuTelemetry", "Khonsu.Data.Diagnostics.StatementTelemetry", "Khonsu.Mirror.MirrorTelemetry" })
        {
            var type = assemblies.Select(a => a.GetType(holder)).FirstOrDefault(t => t is not null)
                       ?? throw new InvalidOperationException($"{holder} not found: where do Khonsu's instruments live now?");
            RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        }

        var instruments = new List<Instrument>();
        using var listener = new MeterListener { InstrumentPublished = (instrument, _) => { if (instrument.Meter.Name == "Khonsu") { instruments.Add(instrument); } } };
        listener.Start();
        return instruments;
    }

    /// <summary>
    /// The name Prometheus gives an OTLP metric (the collector's prometheus exporter, Prometheus's own
    /// OTLP receiver): dots to underscores, the unit "s" as _seconds (units in braces are dropped),
    /// and _total on a counter. Histograms add _bucket, _sum and _count.
    /// </summary>
    private static string PrometheusName(Instrument instrument)
        => instrument.Name.Replace('.', '_')
           + (instrument.Unit == "s" ? "_seconds" : string.Empty)
           + (instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal) ? "_total" : string.Empty);

    [GeneratedRegex(@"\b(?:khonsu|db_client)_[a-z_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\b(?:by|without)\s*\([^)]*\)|\{[^}]*\}")]
    private static partial Regex Labels();

    [GeneratedRegex("_(?:bucket|sum|count)$")]
    private static partial Regex HistogramSeries();

    /// <summary>An OTLP/HTTP endpoint on a free local port that answers 200 and keeps every request.</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> _requests = new();
        private readonly Task _serving;

        public OtlpReceiver()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Endpoint = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Endpoint + "/");
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Endpoint { get; }

        public IEnumerable<string> Paths => _requests.Select(r => r.Path);

        public IEnumerable<string?> ContentTypes => _requests.Select(r => r.ContentType);

        public List<byte[]> Bodies(string path) => _requests.Where(r => r.Path == path).Select(r => r.Body).ToList();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception error) when (error is HttpListenerException or ObjectDisposedException)
                {
                    return; // stopped
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                _requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(10));
        }
    }
}
