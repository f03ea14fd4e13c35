using System.Diagnostics;
using Khonsu.Data;
using Khonsu.Ecosystem.Tests.EntityFramework;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Khonsu.Ecosystem.Tests.Telemetry;

public class OpenTelemetryTests
{
    [Fact]
    public async Task Statements_appear_as_database_spans_and_per_backend_duration_metrics_in_the_OpenTelemetry_SDK()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        var marker = Guid.NewGuid().ToString("N");
        var activities = new List<Activity>();
        var snapshots = new List<MetricSnapshot>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource("Khonsu")
            .AddInMemoryExporter(activities)
            .Build();
        using var metrics = Sdk.CreateMeterProviderBuilder()
            .AddMeter("Khonsu")
            .AddInMemoryExporter(snapshots)
            .Build();
        var database = db.Postgres.Name;

        await using (var khonsu = await db.OpenAsync())
        {
            await using (var transaction = await khonsu.BeginTransactionAsync())
            {
                await Execute(khonsu, $"SELECT owner FROM accounts WHERE id = 1 -- {marker}");
                await Execute(khonsu, $"INSERT INTO orders (id, account_id, amount) VALUES (@id, 1, 5) -- {marker}", ("id", 777));
                await transaction.CommitAsync();
            }

            var failure = await Assert.ThrowsAsync<PostgresException>(() => Execute(khonsu, $"UPDATE orders SET amount = 'many' WHERE id = 100 -- {marker}"));
            Assert.Equal("22P02", failure.SqlState);
            await Execute(khonsu, $"UPDATE orders SET amount = 6 WHERE id = 100 -- {marker}");
        }

        tracing.ForceFlush();
        metrics.ForceFlush();
        var mine = activities.Where(a => ((string?)a.GetTagItem("db.query.text"))?.Contains(marker, StringComparison.Ordinal) == true).ToList();

        var select = Assert.Single(mine, a => a.DisplayName == "SELECT ledger.db");
        Assert.Equal(ActivityKind.Client, select.Kind);
        Assert.Equal("sqlite", select.GetTagItem("db.system.name"));
        Assert.Equal("ledger.db", select.GetTagItem("db.namespace"));
        Assert.Equal("SELECT", select.GetTagItem("db.operation.name"));
        Assert.Equal("ledger", select.GetTagItem("khonsu.backend"));

        var insert = Assert.Single(mine, a => a.DisplayName == $"INSERT {database}");
        Assert.Equal("postgresql", insert.GetTagItem("db.system.name"));
        Assert.Equal(database, insert.GetTagItem("db.namespace"));
        Assert.Equal($"INSERT INTO orders (id, account_id, amount) VALUES (@id, 1, 5) -- {marker}", insert.GetTagItem("db.query.text"));
        Assert.DoesNotContain(insert.TagObjects, tag => tag.Key.StartsWith("db.query.parameter", StringComparison.Ordinal) || Equals(tag.Value, 777));
        Assert.Equal("127.0.0.1", insert.GetTagItem("server.address"));
        Assert.Equal(new NpgsqlConnectionStringBuilder(db.Postgres.ConnectionString).Port, insert.GetTagItem("server.port"));
        Assert.Equal(ActivityStatusCode.Unset, insert.Status);

        var failed = Assert.Single(mine, a => a.DisplayName == $"UPDATE {database}" && a.Status == ActivityStatusCode.Error);
        Assert.Equal("22P02", failed.GetTagItem("error.type"));
        Assert.Equal("22P02", failed.GetTagItem("db.response.status_code"));

        var exported = snapshots.SelectMany(Copy).ToList();

        var durations = exported.Where(p => p.Name == "db.client.operation.duration").ToList();
        Assert.All(durations, p => Assert.Equal("s", p.Unit));
        var shopUpdates = durations.Where(p => Equals(p.Tags.GetValueOrDefault("db.namespace"), database) && Equals(p.Tags.GetValueOrDefault("db.operation.name"), "UPDATE")).ToList();
        Assert.Equal(1, shopUpdates.Single(p => Equals(p.Tags.GetValueOrDefault("error.type"), "22P02")).Count);
        var ok = shopUpdates.Single(p => !p.Tags.ContainsKey("error.type"));
        Assert.Equal(1, ok.Count);
        Assert.Equal("shop", ok.Tags["khonsu.backend"]);
        Assert.Equal("postgresql", ok.Tags["db.system.name"]);
        Assert.Contains(durations, p => Equals(p.Tags.GetValueOrDefault("khonsu.backend"), "ledger") && Equals(p.Tags.GetValueOrDefault("db.system.name"), "sqlite") && p.Count >= 1);
        Assert.Contains(exported, p => p.Name == "khonsu.transactions" && Equals(p.Tags.GetValueOrDefault("khonsu.outcome"), "committed") && p.Count >= 1);
    }

    [Fact]
    public async Task EF_Core_commands_on_a_backend_are_measured_like_Khonsu_statements()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        var activities = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource("Khonsu")
            .AddInMemoryExporter(activities)
            .Build();

        await using var khonsu = await db.OpenAsync();
        await using var shop = await Contexts.ShopAsync(khonsu);
        Assert.Equal(1, await shop.Orders.CountAsync(o => o.Id == 100));

        tracing.ForceFlush();
        var query = Assert.Single(activities, a => Equals(a.GetTagItem("db.namespace"), db.Postgres.Name) && a.DisplayName.StartsWith("SELECT", StringComparison.Ordinal));
        Assert.Equal("shop", query.GetTagItem("khonsu.backend"));
    }

    private static async Task Execute(KhonsuConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
        }
    }

    /// <summary>Each point of an exported metric, with its tags, count and sum.</summary>
    private static IEnumerable<MetricPointCopy> Copy(MetricSnapshot metric)
    {
        foreach (var point in metric.MetricPoints)
        {
            var tags = new Dictionary<string, object?>();
            foreach (var tag in point.Tags)
            {
                tags[tag.Key] = tag.Value;
            }

            var (count, sum) = metric.MetricType switch
            {
                MetricType.Histogram => (point.GetHistogramCount(), point.GetHistogramSum()),
                MetricType.LongSum => (point.GetSumLong(), point.GetSumLong()),
                _ => (0L, 0d),
            };
            yield return new MetricPointCopy(metric.Name, metric.Unit, tags, count, sum);
        }
    }
}
