using System.Data.Common;
using System.Globalization;
using Khonsu.Data.Runtime;

namespace Khonsu.Data.Configuration;

/// <summary>
/// Parses the two forms of a Khonsu connection string:
/// <c>Khonsu:Sqlite:Data Source=app.db</c> (one backend, the rest handed over unchanged) and
/// <c>Khonsu:Sqlite.ledger="Data Source=ledger.db";Postgres.shop="Host=...";Log=khonsu-log.db</c>.
/// Errors name the offending key and never echo a value, which may hold a password.
/// </summary>
internal static class KhonsuConnectionStringParser
{
    public const string Prefix = "Khonsu:";

    private static readonly string[] SettingKeys = ["Log", "Schema", "VersionColumn", "Node", "PrepareLease", "RecoveryInterval", "LockTimeout", "SafeSnapshotTimeout", "PostgresIsolation", "TransactionLog", "TransactionLogRetention", "Autocommit", "Enlist", "Prefetch", "PrefetchConfidence", "PrefetchBudget", "PrefetchState"];

    public static KhonsuSettings Parse(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new KhonsuException("The connection string is empty; a Khonsu connection string starts with 'Khonsu:'.");
        }

        if (!connectionString.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new KhonsuException("A Khonsu connection string starts with 'Khonsu:', e.g. 'Khonsu:Sqlite:Data Source=app.db'.");
        }

        var body = connectionString[Prefix.Length..];
        return TrySplitSingleBackend(body, out var kind, out var inner)
            ? new KhonsuSettings { Backends = [new BackendSettings(kind, kind.ToLowerInvariant(), kind, inner)] }
            : ParseKeyed(body);
    }

    /// <summary>The plain swap: a backend kind, a colon, and the inner connection string.</summary>
    private static bool TrySplitSingleBackend(string body, out string kind, out string inner)
    {
        var colon = body.IndexOf(':', StringComparison.Ordinal);
        var firstEquals = body.IndexOf('=', StringComparison.Ordinal);
        kind = inner = string.Empty;
        if (colon <= 0 || (firstEquals >= 0 && firstEquals < colon))
        {
            return false;
        }

        kind = body[..colon].Trim();
        inner = body[(colon + 1)..];
        return kind.All(char.IsLetterOrDigit);
    }

    private static KhonsuSettings ParseKeyed(string body)
    {
        ThrowIfABackendRepeats(body);
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = body;
        }
        catch (ArgumentException)
        {
            throw new KhonsuException("The Khonsu connection string is malformed: expected key=value pairs separated by ';', with values quoted when they contain ';'.");
        }

        var backends = new List<BackendSettings>();
        var routes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var conflicts = new Dictionary<string, KhonsuConflictPolicy>(StringComparer.OrdinalIgnoreCase);
        var logSettings = new Dictionary<string, string>(StringComparer.Ordinal);
        var followed = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        var settings = new KhonsuSettings { Backends = backends, Routes = routes, ConflictPolicies = conflicts, LogSettings = logSettings, FollowedTables = followed };
        foreach (string folded in builder.Keys)
        {
            // DbConnectionStringBuilder folds keys to lower case; backend names and error messages keep the user's spelling.
            var key = OriginalSpelling(body, folded);
            var value = Convert.ToString(builder[folded], CultureInfo.InvariantCulture) ?? string.Empty;
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && key[..dot].Equals("Route", StringComparison.OrdinalIgnoreCase))
            {
                routes[key[(dot + 1)..]] = value;
            }
            else if (dot > 0 && key[..dot].Equals("Conflict", StringComparison.OrdinalIgnoreCase))
            {
                conflicts[key[(dot + 1)..]] = ConflictPolicies.Parse(key, value);
            }
            else if (dot > 0 && key[..dot].Equals("Follow", StringComparison.OrdinalIgnoreCase))
            {
                followed[key[(dot + 1)..]] = FollowedTables.Parse(key, value);
            }
            else if (dot > 0 && key[..dot].Equals("Kafka", StringComparison.OrdinalIgnoreCase))
            {
                // Client settings for Log=kafka://..., passed to librdkafka as they are (lower case, as librdkafka names them).
                logSettings[key[(dot + 1)..].ToLowerInvariant()] = value;
            }
            else if (dot > 0)
            {
                AddBackend(backends, key, key[..dot], key[(dot + 1)..], value);
            }
            else
            {
                settings = ApplySetting(settings, key, value);
            }
        }

        if (logSettings.Count > 0 && !LogLocation.IsKafka(settings.LogPath))
        {
            throw new KhonsuException("Kafka.<setting> keys configure a Kafka commit log: add Log=kafka://host:port/topic.");
        }

        if (settings.TransactionLogBackend is not null && !LogLocation.IsKafka(settings.LogPath))
        {
            throw new KhonsuException(
                "Key 'TransactionLog' materialises transaction_log from a Kafka log into a backend: it needs Log=kafka://host:port/topic. " +
                "With the embedded log, transaction_log is already a table in the log's SQLite file.");
        }

        if (backends.Count == 0)
        {
            throw new KhonsuException("The Khonsu connection string names no backend: add e.g. Sqlite.main=\"Data Source=app.db\" or Postgres.main=\"Host=...\".");
        }

        foreach (var backend in followed.Keys)
        {
            if (!backends.Any(b => b.Name.Equals(backend, StringComparison.OrdinalIgnoreCase)))
            {
                throw new KhonsuException($"Key 'Follow.{backend}' names backend '{backend}', which the connection string does not define.");
            }
        }

        foreach (var (table, backend) in routes)
        {
            if (!backends.Any(b => b.Name.Equals(backend, StringComparison.OrdinalIgnoreCase)))
            {
                throw new KhonsuException($"Key 'Route.{table}' names backend '{backend}', which the connection string does not define.");
            }
        }

        if (settings.TransactionLogBackend is { } holder && !backends.Any(b => b.Name.Equals(holder, StringComparison.OrdinalIgnoreCase)))
        {
            throw new KhonsuException($"Key 'TransactionLog' names backend '{holder}', which the connection string does not define.");
        }

        return settings;
    }

    /// <summary>
    /// DbConnectionStringBuilder keeps the last of two equal keys without a word. For a setting
    /// that is ADO.NET's rule, and Khonsu keeps it (code appends an override to a base string). A
    /// backend named twice is refused: which database a name means must never depend on order.
    /// </summary>
    private static void ThrowIfABackendRepeats(string body)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var at = 0;
        while (at < body.Length)
        {
            var equals = body.IndexOf('=', at);
            if (equals < 0)
            {
                return;
            }

            var key = body[at..equals].Trim();
            if (IsBackendKey(key) && !seen.Add(key))
            {
                throw new KhonsuException($"Key '{key}' is given twice in the Khonsu connection string: each backend is named once.");
            }

            at = EndOfValue(body, equals + 1) + 1;
        }
    }

    /// <summary>&lt;Kind&gt;.&lt;name&gt;, as opposed to a setting or a Route., Conflict. or Kafka. key.</summary>
    private static bool IsBackendKey(string key)
    {
        var dot = key.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && key[..dot].ToLowerInvariant() is not ("route" or "conflict" or "kafka");
    }

    /// <summary>The index of the ';' that ends the value starting at <paramref name="start"/> (or the end), past a quoted value's doubled quotes.</summary>
    private static int EndOfValue(string body, int start)
    {
        var at = start;
        while (at < body.Length && char.IsWhiteSpace(body[at]))
        {
            at++;
        }

        if (at < body.Length && body[at] is '"' or '\'')
        {
            var quote = body[at++];
            while (at < body.Length)
            {
                if (body[at] == quote && (at + 1 >= body.Length || body[at + 1] != quote))
                {
                    break;
                }

                at += body[at] == quote ? 2 : 1;
            }
        }

        var end = body.IndexOf(';', Math.Min(at, body.Length));
        return end < 0 ? body.Length : end;
    }

    private static string OriginalSpelling(string body, string folded)
    {
        var at = 0;
        while ((at = body.IndexOf(folded, at, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            var startsSegment = at == 0 || body[..at].TrimEnd().EndsWith(';');
            var endsKey = body[(at + folded.Length)..].TrimStart().StartsWith('=');
            if (startsSegment && endsKey)
            {
                return body.Substring(at, folded.Length);
            }

            at += folded.Length;
        }

        return folded;
    }

    private static void AddBackend(List<BackendSettings> backends, string key, string kind, string name, string value)
    {
        if (name.Length == 0 || !name.All(c => char.IsLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new KhonsuException($"Key '{key}': a backend name is made of letters, digits, '_' and '-'.");
        }

        if (backends.Any(b => b.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new KhonsuException($"Key '{key}': backend name '{name}' is used twice.");
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            throw new KhonsuException($"Key '{key}' has an empty connection string.");
        }

        backends.Add(new BackendSettings(kind, name, key, value));
    }

    private static KhonsuSettings ApplySetting(KhonsuSettings settings, string key, string value)
    {
        switch (key.ToLowerInvariant())
        {
            case "log":
                return settings with { LogPath = value };
            case "schema":
                return Enum.TryParse<SchemaMode>(value, ignoreCase: true, out var mode) && Enum.IsDefined(mode)
                    ? settings with { Schema = mode }
                    : throw new KhonsuException($"Key 'Schema' must be 'Auto' or 'Manual'.");
            case "versioncolumn":
                return IsPlainIdentifier(value)
                    ? settings with { VersionColumn = value }
                    : throw new KhonsuException("Key 'VersionColumn' must be a plain column name (letters, digits, '_').");
            case "node":
                return settings with { NodeId = value };
            case "preparelease":
                return settings with { PrepareLease = Seconds(key, value, allowZero: false) };
            case "locktimeout":
                return settings with { LockTimeout = Seconds(key, value, allowZero: false) };
            case "safesnapshottimeout":
                return settings with { SafeSnapshotTimeout = Seconds(key, value, allowZero: false) };
            case "postgresisolation":
                return value.ToLowerInvariant() switch
                {
                    "repeatableread" or "repeatable read" => settings with { PostgresSerializable = false },
                    "serializable" => settings with { PostgresSerializable = true },
                    _ => throw new KhonsuException("Key 'PostgresIsolation' must be 'RepeatableRead' (the default) or 'Serializable'."),
                };
            case "transactionlog":
                return string.IsNullOrWhiteSpace(value)
                    ? throw new KhonsuException("Key 'TransactionLog' must name a backend of the connection string, e.g. TransactionLog=shop.")
                    : settings with { TransactionLogBackend = value.Trim() };
            case "autocommit":
                return value.Trim().ToLowerInvariant() switch
                {
                    "transaction" => settings with { Autocommit = AutocommitMode.Transaction },
                    "direct" => settings with { Autocommit = AutocommitMode.Direct },
                    _ => throw new KhonsuException("Key 'Autocommit' must be 'Transaction' (the default: a writing statement outside a transaction is a Khonsu transaction of its own) or 'Direct' (it runs uncertified, straight on its backend)."),
                };
            case "enlist":
                return bool.TryParse(value.Trim(), out var enlist)
                    ? settings with { Enlist = enlist }
                    : throw new KhonsuException("Key 'Enlist' must be 'true' (the default: a connection opened inside a TransactionScope enlists in it) or 'false'.");
            case "prefetch":
                return value.Trim().ToLowerInvariant() switch
                {
                    "on" or "true" => settings with { PrefetchOn = true },
                    "off" or "false" => settings with { PrefetchOn = false },
                    _ => throw new KhonsuException("Key 'Prefetch' must be 'Off' (the default) or 'On' (reads the model predicts are sent ahead inside the transaction; see docs/prefetch.md)."),
                };
            case "prefetchconfidence":
                return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var confidence) && confidence is > 0 and <= 1
                    ? settings with { PrefetchTuning = settings.PrefetchTuning with { Confidence = confidence } }
                    : throw new KhonsuException("Key 'PrefetchConfidence' must be a number greater than 0 and at most 1, e.g. 0.6.");
            case "prefetchbudget":
                return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var budget) && budget > 0
                    ? settings with { PrefetchTuning = settings.PrefetchTuning with { Budget = budget } }
                    : throw new KhonsuException("Key 'PrefetchBudget' must be a whole number of statements greater than 0, e.g. 64.");
            case "prefetchstate":
                return string.IsNullOrWhiteSpace(value)
                    ? throw new KhonsuException("Key 'PrefetchState' must be the path of a file for the prefetch model's state.")
                    : settings with { PrefetchTuning = settings.PrefetchTuning with { StatePath = value.Trim() } };
            case "recoveryinterval":
                return settings with { RecoveryInterval = Seconds(key, value, allowZero: true) };
            case "transactionlogretention":
                return settings with { TransactionLogRetention = Duration.Parse(key, value) };
            default:
                throw new KhonsuException(
                    $"Unknown key '{key}' in the Khonsu connection string. Valid keys: <Kind>.<name> (e.g. Sqlite.main, Postgres.shop), Route.<table>, Conflict.<table>, Follow.<backend>, Kafka.<setting>, {string.Join(", ", SettingKeys)}.");
        }
    }

    private static TimeSpan Seconds(string key, string value, bool allowZero)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || (!allowZero && seconds == 0))
        {
            throw new KhonsuException($"Key '{key}' must be a number of seconds{(allowZero ? " (0 or more)" : " greater than 0")}.");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static bool IsPlainIdentifier(string value)
        => value.Length > 0 && !char.IsDigit(value[0]) && value.All(c => char.IsLetterOrDigit(c) || c == '_');
}
