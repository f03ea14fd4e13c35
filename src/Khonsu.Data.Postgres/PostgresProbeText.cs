using System.Text;
using Khonsu.Data.Routing;
using Npgsql;
using static Khonsu.Data.Routing.SqlTableReferenceScanner;

namespace Khonsu.Data.Postgres;

/// <summary>
/// A statement's text as the read probe needs it (see <see cref="PostgresStatementReads"/>), lexed
/// with the router's lexer so that strings, comments and quoted names are never mistaken for calls
/// or parameters.
/// </summary>
internal static class PostgresProbeText
{
    /// <summary>Whether the text calls something by name: a function the plan may not see into.</summary>
    public static bool CallsSomething(string sql, List<Token> tokens) => Calls(sql, tokens).Any();

    /// <summary>The names the text calls: a name right before '('.</summary>
    public static IEnumerable<string> Calls(string sql, List<Token> tokens)
    {
        for (var i = 0; i + 1 < tokens.Count; i++)
        {
            if (tokens[i].Kind is TokenKind.Word or TokenKind.Quoted && tokens[i + 1].Kind == TokenKind.Open)
            {
                yield return NameOf(sql, tokens[i]);
            }
        }
    }

    /// <summary>
    /// The text with Npgsql's named placeholders (@name, :name) turned into $1, $2... as Npgsql
    /// itself does before sending it, and how many parameters it has; null when it is not one
    /// statement with parameters PREPARE can take (several statements, or a placeholder whose
    /// parameter the command lacks).
    /// </summary>
    public static (string Text, int Parameters)? Positional(string sql, List<Token> tokens, NpgsqlParameterCollection parameters)
    {
        var last = tokens.Count - 1;
        while (last >= 0 && tokens[last].Kind == TokenKind.Semicolon)
        {
            last--;
        }

        if (last < 0 || tokens.Take(last + 1).Any(t => t.Kind == TokenKind.Semicolon))
        {
            return null;
        }

        var end = tokens[last].End;
        var named = parameters.Any(p => p.ParameterName.Length > 0);
        if (!named)
        {
            // Positional already ($1...), as Npgsql sends a text whose parameters have no names.
            var highest = tokens.Take(last + 1)
                .Where(t => sql[t.Start] == '$' && t.Length > 1 && char.IsAsciiDigit(sql[t.Start + 1]))
                .Select(t => int.Parse(sql.AsSpan(t.Start + 1, t.Length - 1), System.Globalization.CultureInfo.InvariantCulture))
                .DefaultIfEmpty(0)
                .Max();
            return (sql[..end], Math.Max(highest, parameters.Count));
        }

        var numbers = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var text = new StringBuilder(end + 16);
        var copied = 0;
        foreach (var token in tokens.Take(last + 1))
        {
            if (token.Kind != TokenKind.Other || token.Length < 2 || sql[token.Start] is not ('@' or ':') || (token.Start > 0 && sql[token.Start - 1] == ':'))
            {
                continue;
            }

            var name = sql.Substring(token.Start + 1, token.Length - 1);
            if (!parameters.Any(p => TrimPrefix(p.ParameterName).Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                if (sql[token.Start] == '@')
                {
                    return null; // Npgsql would fail the statement too: it has no such parameter.
                }

                continue; // ":name" that is no parameter: an array slice's bound, say.
            }

            if (!numbers.TryGetValue(name, out var number))
            {
                numbers[name] = number = numbers.Count + 1;
            }

            text.Append(sql, copied, token.Start - copied).Append('$').Append(number);
            copied = token.End;
        }

        text.Append(sql, copied, end - copied);
        return (text.ToString(), numbers.Count);
    }

    private static string TrimPrefix(string name) => name.Length > 0 && name[0] is '@' or ':' ? name[1..] : name;
}
