namespace Khonsu.Engine.Prefetch;

/// <summary>
/// One statement a transaction ran, as the follow-up model sees it: its template (the SQL text),
/// its parameter values in order, and the first rows of its result (each row's column values by
/// ordinal; empty for a statement that returned none or was not read).
/// </summary>
internal sealed class StatementObservation(string template, IReadOnlyList<object?> parameters, IReadOnlyList<object?[]> rows)
{
    /// <summary>The statement's SQL text, as routing caches it.</summary>
    public string Template { get; } = template ?? throw new ArgumentNullException(nameof(template));

    public IReadOnlyList<object?> Parameters { get; } = parameters ?? throw new ArgumentNullException(nameof(parameters));

    public IReadOnlyList<object?[]> Rows { get; } = rows ?? throw new ArgumentNullException(nameof(rows));

    /// <summary>The follow-up templates already counted as following this statement (each counts once per occurrence).</summary>
    internal HashSet<string> CountedFollowers { get; } = new(StringComparer.Ordinal);
}
