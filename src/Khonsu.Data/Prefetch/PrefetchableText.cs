using System.Text.RegularExpressions;

namespace Khonsu.Data.Prefetch;

/// <summary>
/// Whether a read's text may be run ahead of the application: it must call no function that
/// might write or have effects (nextval, a user function), which the routers do not see in a
/// select list. Conservative: any name followed by a parenthesis is a call unless it is one of a
/// few built-in, side-effect-free forms; a false "no" only costs a prefetch.
/// </summary>
internal static partial class PrefetchableText
{
    private static readonly HashSet<string> Harmless = new(StringComparer.OrdinalIgnoreCase)
    {
        "in", "any", "all", "some", "exists", "values", "select", "from", "where", "and", "or", "not", "on", "as", "using", "over",
        "filter", "within", "count", "sum", "min", "max", "avg", "coalesce", "nullif", "lower", "upper", "length", "abs",
        "cast", "row", "array", "join", "by", "then", "else", "when", "case", "like", "between", "is", "limit", "offset",
    };

    public static bool IsPlainRead(string sql)
        => sql.TrimStart().StartsWith("select", StringComparison.OrdinalIgnoreCase)
            && !sql.Contains(';', StringComparison.Ordinal)
            && Calls().Matches(sql).All(m => Harmless.Contains(m.Groups[1].Value))
            && !ForUpdate().IsMatch(sql);

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_$.]*)\s*\(")]
    private static partial Regex Calls();

    [GeneratedRegex(@"\bfor\s+(update|share|no\s+key|key)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ForUpdate();
}
