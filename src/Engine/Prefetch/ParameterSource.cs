namespace Khonsu.Engine.Prefetch;

/// <summary>
/// Where a follow-up statement's parameter value comes from, relative to the statement it follows:
/// one of that statement's parameters (the same value), or a column of a row of its result.
/// </summary>
/// <param name="FromColumn">True: column <paramref name="Index"/> of a result row; false: parameter <paramref name="Index"/>.</param>
/// <param name="Index">The parameter's position, or the column's ordinal.</param>
internal readonly record struct ParameterSource(bool FromColumn, int Index)
{
    public static ParameterSource Parameter(int index) => new(false, index);

    public static ParameterSource Column(int ordinal) => new(true, ordinal);

    public override string ToString() => FromColumn ? $"column {Index}" : $"parameter {Index}";
}
