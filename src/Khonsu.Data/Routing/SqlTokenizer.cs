namespace Khonsu.Data.Routing;

/// <summary>
/// Splits SQL into tokens the way SQLite and PostgreSQL lex it, so that text inside string
/// literals (including E'' and dollar quotes), comments (nested, as PostgreSQL allows) and
/// quoted identifiers is never mistaken for a table name. Lenient: never throws.
/// </summary>
internal static class SqlTokenizer
{
    public static List<SqlToken> Tokenize(string sql)
    {
        var tokens = new List<SqlToken>();
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '-' && Peek(sql, i + 1) == '-')
            {
                i = SkipLine(sql, i);
            }
            else if (c == '/' && Peek(sql, i + 1) == '*')
            {
                i = SkipBlockComment(sql, i);
            }
            else if (c == '\'')
            {
                i = SkipString(sql, i + 1, backslashEscapes: false);
                tokens.Add(new SqlToken(SqlTokenKind.Other, "'"));
            }
            else if ((c is 'e' or 'E') && Peek(sql, i + 1) == '\'')
            {
                i = SkipString(sql, i + 2, backslashEscapes: true);
                tokens.Add(new SqlToken(SqlTokenKind.Other, "'"));
            }
            else if (c is '"' or '`' or '[')
            {
                var close = c == '[' ? ']' : c;
                var (text, next) = ReadQuoted(sql, i + 1, close);
                tokens.Add(new SqlToken(SqlTokenKind.QuotedIdentifier, text));
                i = next;
            }
            else if (c == '$' && TryDollarQuote(sql, i, out var end))
            {
                i = end;
                tokens.Add(new SqlToken(SqlTokenKind.Other, "$"));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$'))
                {
                    i++;
                }

                tokens.Add(new SqlToken(SqlTokenKind.Word, sql[start..i].ToLowerInvariant()));
            }
            else if (c is '(' or ')' or ',' or '.' or ';')
            {
                tokens.Add(new SqlToken(SqlTokenKind.Punct, c.ToString()));
                i++;
            }
            else
            {
                // Numbers, parameters (@p :p $1 ?), operators: one opaque token up to the next separator.
                var start = i++;
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] == '_') && !char.IsLetter(sql[start]))
                {
                    i++;
                }

                tokens.Add(new SqlToken(SqlTokenKind.Other, sql[start..i]));
            }
        }

        return tokens;
    }

    private static char Peek(string sql, int index) => index < sql.Length ? sql[index] : '\0';

    private static int SkipLine(string sql, int i)
    {
        var end = sql.IndexOf('\n', i);
        return end < 0 ? sql.Length : end + 1;
    }

    private static int SkipBlockComment(string sql, int i)
    {
        var depth = 0;
        while (i < sql.Length)
        {
            if (sql[i] == '/' && Peek(sql, i + 1) == '*')
            {
                depth++;
                i += 2;
            }
            else if (sql[i] == '*' && Peek(sql, i + 1) == '/')
            {
                depth--;
                i += 2;
                if (depth == 0)
                {
                    return i;
                }
            }
            else
            {
                i++;
            }
        }

        return i;
    }

    private static int SkipString(string sql, int i, bool backslashEscapes)
    {
        while (i < sql.Length)
        {
            if (backslashEscapes && sql[i] == '\\')
            {
                i += 2;
            }
            else if (sql[i] == '\'')
            {
                if (Peek(sql, i + 1) != '\'')
                {
                    return i + 1;
                }

                i += 2;
            }
            else
            {
                i++;
            }
        }

        return i;
    }

    private static (string Text, int Next) ReadQuoted(string sql, int i, char close)
    {
        var text = new System.Text.StringBuilder();
        while (i < sql.Length)
        {
            if (sql[i] == close)
            {
                if (close != ']' && Peek(sql, i + 1) == close)
                {
                    text.Append(close);
                    i += 2;
                    continue;
                }

                return (text.ToString(), i + 1);
            }

            text.Append(sql[i++]);
        }

        return (text.ToString(), i);
    }

    /// <summary>$$...$$ or $tag$...$tag$ (a parameter such as $1 is not a dollar quote).</summary>
    private static bool TryDollarQuote(string sql, int i, out int end)
    {
        end = i;
        var close = sql.IndexOf('$', i + 1);
        if (close < 0)
        {
            return false;
        }

        var tag = sql[i..(close + 1)];
        if (tag.Length > 2 && (char.IsDigit(tag[1]) || !tag[1..^1].All(ch => char.IsLetterOrDigit(ch) || ch == '_')))
        {
            return false;
        }

        var finish = sql.IndexOf(tag, close + 1, StringComparison.Ordinal);
        end = finish < 0 ? sql.Length : finish + tag.Length;
        return true;
    }
}
