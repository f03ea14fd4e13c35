using System.Data.Common;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Khonsu.Data.Backends;
using Khonsu.Engine.Diagnostics;

namespace Khonsu.Data.Diagnostics;

/// <summary>
/// One span and one latency measurement per statement a backend runs, after OpenTelemetry's
/// database semantic conventions: span "{db.operation.name} {db.namespace}" of kind Client with
/// db.system.name, db.namespace, db.operation.name, db.query.text (the text as sent, placeholders
/// and no parameter values), server.address and server.port; the histogram
/// db.client.operation.duration (seconds) with the same low-cardinality tags plus khonsu.backend
/// and, on failure, error.type, from which a dashboard derives per-backend latency and error rate.
/// </summary>
internal static class StatementTelemetry
{
    private static readonly Meter Meter = new(KhonsuTelemetry.Name, typeof(StatementTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Histogram<double> Duration = Meter.CreateHistogram(
        "db.client.operation.duration",
        "s",
        "Duration of statements Khonsu ran on a backend.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] });

    private static readonly ConditionalWeakTable<KhonsuBackend, BackendIdentity> Identities = [];

    /// <summary>Starts measuring a statement; <see cref="StatementScope.End"/> finishes it.</summary>
    public static StatementScope Start(KhonsuBackend backend, DbConnection inner, string sql)
    {
        var identity = Identities.GetValue(backend, b => BackendIdentity.Of(b, inner));
        var operation = OperationName(sql);
        var activity = KhonsuTelemetry.ActivitySource.StartActivity(
            operation is null ? identity.Namespace : $"{operation} {identity.Namespace}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", identity.System);
            activity.SetTag("db.namespace", identity.Namespace);
            activity.SetTag("db.operation.name", operation);
            activity.SetTag("db.query.text", sql);
            activity.SetTag("khonsu.backend", backend.Name);
            if (identity.Address is not null)
            {
                activity.SetTag("server.address", identity.Address);
                activity.SetTag("server.port", identity.Port);
            }
        }

        return new StatementScope(identity, operation, activity, Stopwatch.GetTimestamp());
    }

    internal static void Record(StatementScope scope, Exception? error)
    {
        var identity = scope.Identity;
        var tags = new TagList
        {
            { "db.system.name", identity.System },
            { "db.namespace", identity.Namespace },
            { "khonsu.backend", identity.Backend },
        };
        if (scope.Operation is not null)
        {
            tags.Add("db.operation.name", scope.Operation);
        }

        if (identity.Address is not null)
        {
            tags.Add("server.address", identity.Address);
            tags.Add("server.port", identity.Port);
        }

        if (error is not null)
        {
            var type = ErrorType(error);
            tags.Add("error.type", type);
            if (scope.Activity is { } failed)
            {
                failed.SetTag("error.type", type);
                if (error is DbException { SqlState: { } state })
                {
                    failed.SetTag("db.response.status_code", state);
                }

                failed.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
            }
        }

        Duration.Record(Stopwatch.GetElapsedTime(scope.Started).TotalSeconds, tags);
        scope.Activity?.Dispose();
    }

    /// <summary>The statement's first keyword (SELECT, INSERT, ...), after comments and whitespace.</summary>
    internal static string? OperationName(string sql)
    {
        var i = 0;
        while (i < sql.Length)
        {
            if (char.IsWhiteSpace(sql[i]) || sql[i] == '(')
            {
                i++;
            }
            else if (sql.AsSpan(i).StartsWith("--"))
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end + 1;
            }
            else if (sql.AsSpan(i).StartsWith("/*"))
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
            }
            else
            {
                break;
            }
        }

        var start = i;
        while (i < sql.Length && char.IsAsciiLetter(sql[i]))
        {
            i++;
        }

        return i > start ? sql[start..i].ToUpperInvariant() : null;
    }

    private static string ErrorType(Exception error) => error is DbException { SqlState: { Length: > 0 } state } ? state : error.GetType().FullName ?? error.GetType().Name;
}
