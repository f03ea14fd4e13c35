using System.Runtime.CompilerServices;
using SQLitePCL;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// What one SQLite handle captures for the Khonsu transaction running on it. The capture triggers
/// (TEMP, so on this handle only) call <see cref="FunctionName"/>, a function registered on the
/// handle that records each changed row here, in memory: switching capture on and off, reading the
/// captured rows and clearing them cost no statement. The session lives as long as the handle (a
/// pooled handle keeps its TEMP triggers, its functions and this session), so a handle another
/// connection reuses finds its triggers' catalog here.
/// </summary>
/// <remarks>
/// A TEMP table rolled back with the statement or savepoint that wrote it; this list follows the
/// savepoints Khonsu's API sets (<see cref="Save"/>, <see cref="RollbackTo"/>, <see cref="Release"/>)
/// but not a statement that failed after some rows, nor savepoints set in command text: a row those
/// undo stays captured. The write set then holds a row the transaction did not change in the end,
/// which can only make certification abort a transaction it did not need to, never miss a conflict;
/// in a two-phase commit such a row is described by its current image (or left out, if it does not exist).
/// </remarks>
internal sealed class SqliteCaptureSession
{
    public const string FunctionName = "khonsu_capture";

    private static readonly ConditionalWeakTable<sqlite3, SqliteCaptureSession> Sessions = new();

    private readonly sqlite3 _handle;
    private readonly List<CapturedRow> _rows = [];
    private readonly HashSet<(string Table, string Key)> _seen = [];
    private readonly List<(string Name, int Rows)> _savepoints = [];
    private bool _capturing;

    private SqliteCaptureSession(sqlite3 handle)
    {
        _handle = handle;
        var rc = raw.sqlite3_create_function(handle, FunctionName, 4, raw.SQLITE_UTF8, this, static (context, session, args) => ((SqliteCaptureSession)session).Capture(context, args));
        if (rc != raw.SQLITE_OK)
        {
            throw new KhonsuException($"SQLite could not register Khonsu's capture function on a connection (error {rc}: {raw.sqlite3_errmsg(handle).utf8_to_string()}).");
        }
    }

    /// <summary>The catalog this handle's capture triggers were built for; null before the first build.</summary>
    public SqliteBackend.CatalogState? TriggersBuiltFor { get; set; }

    /// <summary>The rows captured since <see cref="Start"/>, each once, with its first operation and first old version.</summary>
    public IReadOnlyList<CapturedRow> Captured => _rows;

    public static SqliteCaptureSession Of(sqlite3 handle) => Sessions.GetValue(handle, static h => new SqliteCaptureSession(h));

    /// <summary>A Khonsu transaction starts on the handle: capture from now on, into an empty list.</summary>
    public void Start()
    {
        Clear();
        _capturing = true;
    }

    /// <summary>The transaction ended (committed or rolled back): writes on the handle are no longer its.</summary>
    public void Stop()
    {
        _capturing = false;
        Clear();
    }

    public void Save(string savepoint) => _savepoints.Add((savepoint, _rows.Count));

    /// <summary>Forgets the rows first captured after the savepoint, which stays set (as SQLite's does).</summary>
    public void RollbackTo(string savepoint)
    {
        var at = LastIndexOf(savepoint);
        if (at < 0)
        {
            return;
        }

        var keep = _savepoints[at].Rows;
        for (var i = keep; i < _rows.Count; i++)
        {
            _seen.Remove((_rows[i].Table, _rows[i].KeyJson));
        }

        _rows.RemoveRange(keep, _rows.Count - keep);
        _savepoints.RemoveRange(at + 1, _savepoints.Count - at - 1);
    }

    /// <summary>Keeps the rows; the savepoint and those set after it are gone.</summary>
    public void Release(string savepoint)
    {
        var at = LastIndexOf(savepoint);
        if (at >= 0)
        {
            _savepoints.RemoveRange(at, _savepoints.Count - at);
        }
    }

    // SQLite matches savepoint names without regard to case, the most recent first.
    private int LastIndexOf(string savepoint)
        => _savepoints.FindLastIndex(s => string.Equals(s.Name, savepoint, StringComparison.OrdinalIgnoreCase));

    private void Clear()
    {
        _rows.Clear();
        _seen.Clear();
        _savepoints.Clear();
    }

    /// <summary>
    /// The trigger's call: (table, key as a JSON array, operation, old version). Only the first
    /// capture of a row counts: its first operation and the version it had before the transaction.
    /// Writes outside a Khonsu transaction (Autocommit=Direct, another user of the pooled handle)
    /// are not captured; nor is a write in autocommit mode, which no Khonsu transaction runs.
    /// </summary>
    private void Capture(sqlite3_context context, sqlite3_value[] args)
    {
        raw.sqlite3_result_null(context);
        if (!_capturing || raw.sqlite3_get_autocommit(_handle) != 0)
        {
            return;
        }

        var table = raw.sqlite3_value_text(args[0]).utf8_to_string();
        var key = raw.sqlite3_value_text(args[1]).utf8_to_string();
        if (_seen.Add((table, key)))
        {
            var operation = raw.sqlite3_value_text(args[2]).utf8_to_string()[0];
            long? oldVersion = raw.sqlite3_value_type(args[3]) == raw.SQLITE_NULL ? null : raw.sqlite3_value_int64(args[3]);
            _rows.Add(new CapturedRow(table, key, operation, oldVersion));
        }
    }
}
