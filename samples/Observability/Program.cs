// Khonsu sample: Khonsu's traces and metrics, exported over OTLP, while orders are placed across
// two databases (stock in one, orders in the other, one Khonsu transaction each).
//
//   dotnet run --project samples/Observability                              two SQLite files, OTLP to http://localhost:4318
//   dotnet run --project samples/Observability -- "Host=...;..."            orders in PostgreSQL
//   dotnet run --project samples/Observability -- --seconds 300 --workers 8
//
// The OTLP endpoint is OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318), over HTTP with
// protobuf. `docker compose up` in this directory starts a collector, Prometheus, Jaeger and Grafana
// with grafana/khonsu-dashboard.json loaded (see README.md).
using System.Diagnostics;
using System.Globalization;
using Dapper;
using Khonsu.Data;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

const int Items = 20;
var (seconds, workers, exportSeconds) = (30.0, 4, 5.0);
string? postgres = null;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] is "--seconds" or "--workers" or "--export-interval" && i + 1 < args.Length
        && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0)
    {
        _ = args[i] switch
        {
            "--seconds" => seconds = value,
            "--workers" => workers = (int)value,
            _ => exportSeconds = value,
        };
        i++;
    }
    else if (args[i].StartsWith('-'))
    {
        Console.Error.WriteLine($"unknown or invalid option '{args[i]}': the sample takes a PostgreSQL connection string, --seconds <s>, --workers <n> and --export-interval <s>");
        return 2;
    }
    else
    {
        postgres = args[i];
    }
}

var endpoint = (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") ?? "http://localhost:4318").TrimEnd('/');
void Otlp(OtlpExporterOptions options, string signal)
{
    options.Protocol = OtlpExportProtocol.HttpProtobuf;
    options.Endpoint = new Uri($"{endpoint}/v1/{signal}");
}

var resource = ResourceBuilder.CreateDefault().AddService("khonsu-sample-orders");

// Khonsu publishes one ActivitySource and one Meter, both named "Khonsu": that is all it takes.
using var tracing = Sdk.CreateTracerProviderBuilder()
    .SetResourceBuilder(resource)
    .AddSource("Khonsu")
    .AddOtlpExporter(options => Otlp(options, "traces"))
    .Build();
using var metrics = Sdk.CreateMeterProviderBuilder()
    .SetResourceBuilder(resource)
    .AddMeter("Khonsu")
    .AddOtlpExporter((options, reader) =>
    {
        Otlp(options, "metrics");
        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)(exportSeconds * 1000);
    })
    .Build();

var dataDirectory = Path.GetFullPath("sample-data");
Directory.CreateDirectory(dataDirectory);
var shop = postgres is null ? $"Sqlite.shop=\"Data Source={Path.Combine(dataDirectory, "shop.db")}\"" : $"Postgres.shop=\"{postgres}\"";
var connectionString = $"Khonsu:Sqlite.warehouse=\"Data Source={Path.Combine(dataDirectory, "warehouse.db")}\";{shop};" +
                       $"Log=\"{Path.Combine(dataDirectory, "khonsu-log.db")}\";Route.stock=warehouse;Route.orders=shop";
Console.WriteLine($"Khonsu observability sample: exporting traces and metrics over OTLP to {endpoint} for {seconds:0.#} s");

await using (var setup = new KhonsuConnection(connectionString))
{
    await setup.OpenAsync();
    await setup.ExecuteAsync("CREATE TABLE IF NOT EXISTS stock (item INTEGER PRIMARY KEY, quantity INTEGER NOT NULL)");
    await setup.ExecuteAsync("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, item INTEGER NOT NULL, placed_at TEXT NOT NULL)");
    for (var item = 1; item <= Items; item++)
    {
        await setup.ExecuteAsync("INSERT INTO stock (item, quantity) SELECT @item, 1000000 WHERE NOT EXISTS (SELECT 1 FROM stock WHERE item = @item)", new { item });
    }
}

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
var clock = Stopwatch.StartNew();
var placed = await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => PlaceOrdersAsync(connectionString, worker, stop.Token)));
Console.WriteLine($"placed {placed.Sum()} orders on {workers} workers in {clock.Elapsed.TotalSeconds:0.0} s");

// Export what is left before the process ends: the last interval's metrics and spans.
var flushed = tracing.ForceFlush() & metrics.ForceFlush();
Console.WriteLine(flushed ? "exported the last traces and metrics" : $"could not export to {endpoint} (is a collector listening?)");
return 0;

static async Task<int> PlaceOrdersAsync(string connectionString, int worker, CancellationToken stop)
{
    var random = new Random(worker);
    var placed = 0;
    await using var connection = new KhonsuConnection(connectionString);
    await connection.OpenAsync(CancellationToken.None);
    while (!stop.IsCancellationRequested)
    {
        var item = random.Next(1, Items + 1);

        // Take one from stock (warehouse) and record the order (shop): both or neither; retried on a conflict.
        await connection.RunInTransactionAsync(async (transaction, token) =>
        {
            await connection.ExecuteAsync("UPDATE stock SET quantity = quantity - 1 WHERE item = @item AND quantity > 0", new { item }, transaction);
            await connection.ExecuteAsync(
                "INSERT INTO orders (id, item, placed_at) VALUES (@id, @item, @at)",
                new { id = Guid.NewGuid().ToString(), item, at = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture) },
                transaction);
            return true;
        });
        placed++;
    }

    return placed;
}
