using System.Text.RegularExpressions;

namespace Khonsu.Cli.Top;

/// <summary>
/// Groups abort reasons for <c>khonsu top</c>. A reason names the transaction, row and other
/// transaction of its conflict, so no two are alike; with those taken out, the reasons of one kind
/// read the same ("write-write conflict on …[…]: … wrote it after this transaction's snapshot").
/// Taking the particulars out, rather than matching known texts, keeps a new reason grouped too.
/// </summary>
internal static partial class AbortReasons
{
    /// <summary>How long a grouped reason may be: the rest would only push the rates off the screen.</summary>
    public const int MaxLength = 90;

    public static string Group(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return "(no reason logged)";
        }

        var grouped = Spaces().Replace(Numbers().Replace(Keys().Replace(Ids().Replace(reason, "…"), "[…]"), "N"), " ").Trim();
        return grouped.Length <= MaxLength ? grouped : grouped[..(MaxLength - 1)] + "…";
    }

    /// <summary>Transaction ids (UUIDs).</summary>
    [GeneratedRegex("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex Ids();

    /// <summary>Row keys, as items print them: table[key].</summary>
    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Keys();

    /// <summary>Positions, counts and other numbers; not a SqlState such as "40001:", which says what kind of error it was.</summary>
    [GeneratedRegex(@"(?<![\w.])\d+(?:\.\d+)?(?![\w:])")]
    private static partial Regex Numbers();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
