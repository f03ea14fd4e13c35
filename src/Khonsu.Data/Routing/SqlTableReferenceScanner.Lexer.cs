namespace Khonsu.Data.Routing;

/// <summary>The lexer: tokens as SQLite and PostgreSQL see them, so that strings, comments and quoted names never look like table names.</summary>
internal static partial class SqlTableReferenceScanner
{
    internal static List<Token> Tokenize(string sql)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < sql.Length)
        {
            var start = i;
            var c = sql[i];
            var next = At(sql, i + 1);
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '-' && next == '-')
            {
                var newline = sql.IndexOf('\n', i);
                i = newline < 0 ? sql.Length : newline + 1;
                continue;
            }

            if (c == '/' && next == '*')
            {
                i = BlockCommentEnd(sql, i);
                continue;
            }

            var kind = TokenKind.Other;
            var keyword = Keyword.None;
            if (c == '\'')
            {
                i = StringEnd(sql, i + 1, backslashEscapes: false);
            }
            else if (c is '"' or '`' || (c == '[' && !IsSubscript(sql, tokens, i)))
            {
                kind = TokenKind.Quoted;
                i = QuotedEnd(sql, i + 1, c == '[' ? ']' : c);
            }
            else if (c == '$')
            {
                i = DollarEnd(sql, i);
            }
            else if (IsIdentifierStart(c))
            {
                i++;
                while (i < sql.Length && IsIdentifierPart(sql[i]))
                {
                    i++;
                }

                if (i - start == 1 && (c is 'e' or 'E') && At(sql, i) == '\'')
                {
                    // PostgreSQL's E'...' string, where a backslash escapes the quote.
                    i = StringEnd(sql, i + 1, backslashEscapes: true);
                }
                else
                {
                    kind = TokenKind.Word;
                    KeywordLookup.TryGetValue(sql.AsSpan(start, i - start), out keyword);
                }
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(next)))
            {
                i = NumberEnd(sql, i);
            }
            else if (c is '@' or ':' or '?')
            {
                // A parameter (@p, :p, ?1): its name is never a word, so `VALUES (:from, :orders)` names nothing.
                i++;
                while (i < sql.Length && IsIdentifierPart(sql[i]))
                {
                    i++;
                }
            }
            else
            {
                kind = c switch
                {
                    '(' => TokenKind.Open,
                    ')' => TokenKind.Close,
                    ',' => TokenKind.Comma,
                    '.' => TokenKind.Dot,
                    ';' => TokenKind.Semicolon,
                    _ => TokenKind.Other,
                };
                i++;
            }

            tokens.Add(new Token(kind, start, i - start, keyword));
        }

        return tokens;
    }

    private static char At(string sql, int index) => index < sql.Length ? sql[index] : '\0';

    // Both databases allow letters beyond ASCII (PostgreSQL any non-ASCII character) and, after the first, digits and '$'.
    private static bool IsIdentifierStart(char c) => c == '_' || char.IsLetter(c) || (c >= 0x80 && !char.IsWhiteSpace(c));

    private static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || char.IsAsciiDigit(c) || c == '$';

    /// <summary>PostgreSQL nests block comments; SQLite does not, but a nested opener there is unusual enough to follow PostgreSQL.</summary>
    private static int BlockCommentEnd(string sql, int i)
    {
        var depth = 0;
        while (i < sql.Length)
        {
            if (sql[i] == '/' && At(sql, i + 1) == '*')
            {
                depth++;
                i += 2;
            }
            else if (sql[i] == '*' && At(sql, i + 1) == '/')
            {
                i += 2;
                if (--depth == 0)
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

    private static int StringEnd(string sql, int i, bool backslashEscapes)
    {
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == '\\' && backslashEscapes)
            {
                i += 2;
            }
            else if (c == '\'' && At(sql, i + 1) == '\'')
            {
                i += 2;
            }
            else if (c == '\'')
            {
                return i + 1;
            }
            else
            {
                i++;
            }
        }

        return sql.Length;
    }

    private static int QuotedEnd(string sql, int i, char close)
    {
        while (i < sql.Length)
        {
            if (sql[i] != close)
            {
                i++;
            }
            else if (close != ']' && At(sql, i + 1) == close)
            {
                i += 2;
            }
            else
            {
                return i + 1;
            }
        }

        return sql.Length;
    }

    /// <summary>A dollar-quoted string ($$...$$, $tag$...$tag$), or a parameter ($1, SQLite's $name).</summary>
    private static int DollarEnd(string sql, int i)
    {
        var tagEnd = i + 1;
        if (char.IsAsciiDigit(At(sql, tagEnd)))
        {
            while (char.IsAsciiDigit(At(sql, tagEnd)))
            {
                tagEnd++;
            }

            return tagEnd;
        }

        while (tagEnd < sql.Length && (IsIdentifierStart(sql[tagEnd]) || char.IsAsciiDigit(sql[tagEnd])))
        {
            tagEnd++;
        }

        if (At(sql, tagEnd) != '$')
        {
            return tagEnd;
        }

        var tag = sql.AsSpan(i, tagEnd + 1 - i);
        var close = sql.AsSpan(tagEnd + 1).IndexOf(tag, StringComparison.Ordinal);
        return close < 0 ? sql.Length : tagEnd + 1 + close + tag.Length;
    }

    private static int NumberEnd(string sql, int i)
    {
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.' || ((c is '+' or '-') && (sql[i - 1] is 'e' or 'E')))
            {
                i++;
            }
            else
            {
                break;
            }
        }

        return i;
    }

    /// <summary>
    /// '[' opens a SQLite identifier, except where PostgreSQL subscripts an array: right after a
    /// name, a ')' or another subscript, or after ARRAY. Keywords such as FROM[t] still open identifiers.
    /// </summary>
    private static bool IsSubscript(string sql, List<Token> tokens, int i)
    {
        if (tokens.Count == 0)
        {
            return false;
        }

        var previous = tokens[^1];
        if (previous.Keyword == Keyword.Array)
        {
            return true;
        }

        return previous.End == i && (previous.Kind is TokenKind.Close or TokenKind.Quoted
            || (previous.Kind == TokenKind.Word && previous.Keyword == Keyword.None)
            || (previous.Kind == TokenKind.Other && sql[previous.Start] == ']'));
    }
}
