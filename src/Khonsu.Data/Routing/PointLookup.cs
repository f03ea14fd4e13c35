using System.Collections;
using System.Data.Common;

namespace Khonsu.Data.Routing;

/// <summary>
/// A point lookup's shape, the same for every execution of its text (see
/// <see cref="PointLookupDetector.LookupOf"/>): <paramref name="Keys"/> keys named by literals and
/// scalar parameters, times the length of each array parameter in <paramref name="KeyArrays"/>
/// (<c>id = ANY (@ids)</c>), which only an execution's parameter values tell.
/// </summary>
internal sealed record PointLookup(int Keys, IReadOnlyList<string> KeyArrays)
{
    /// <summary>
    /// How many keys an execution with <paramref name="parameters"/> looks up (an upper bound: a key
    /// listed twice counts twice), or null when an array parameter is missing or holds no array
    /// Khonsu can count: then the statement reads its table whole.
    /// </summary>
    public int? KeysFor(DbParameterCollection? parameters)
    {
        long keys = Keys;
        foreach (var array in KeyArrays)
        {
            if (parameters is null || Find(parameters, array) is not { } parameter || Length(parameter.Value) is not { } length)
            {
                return null;
            }

            keys = Math.Min(keys * length, int.MaxValue);
        }

        return (int)keys;
    }

    /// <summary>The elements of an array parameter's value; a null array matches no row (<c>= ANY (NULL)</c> is never true).</summary>
    private static int? Length(object? value) => value switch
    {
        null or DBNull => 0,
        string => null,
        Array array => array.Length,
        ICollection collection => collection.Count,
        _ => null,
    };

    /// <summary>The parameter a placeholder names: <c>@ids</c> or <c>:ids</c> by name (with or without its prefix), <c>$1</c> by position.</summary>
    private static DbParameter? Find(DbParameterCollection parameters, string placeholder)
    {
        var name = placeholder[1..];
        if (placeholder[0] == '$' && int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var position))
        {
            return position >= 1 && position <= parameters.Count ? parameters[position - 1] : null;
        }

        foreach (DbParameter parameter in parameters)
        {
            var given = parameter.ParameterName;
            if (given.Length > 0 && given[0] is '@' or ':' or '$')
            {
                given = given[1..];
            }

            if (string.Equals(given, name, StringComparison.OrdinalIgnoreCase))
            {
                return parameter;
            }
        }

        return null;
    }
}
