using static Khonsu.Data.Routing.SqlTableReferenceScanner;

namespace Khonsu.Data.Routing;

/// <summary>
/// Finds the statements whose read of their table row-level tracking covers: point lookups, which
/// can match no row but those their key names, so a concurrent insert elsewhere in the table is no
/// conflict. A point lookup is a SELECT, UPDATE or DELETE of one table, with no join,
/// subquery, WITH or set operation, whose WHERE, split at its top-level ANDs, binds every key
/// column: <c>col = value</c>, <c>value = col</c>, <c>(a, b) = (value, value)</c>, or, for one column,
/// <c>col IN (values)</c>, or PostgreSQL's <c>col = ANY (@array)</c>, whose key count only the
/// parameter's value tells (see <see cref="LookupOf"/>), a value being a parameter or a literal. Every other read may match a row
/// a concurrent transaction inserts, so it counts as a read of the whole table. What this cannot
/// classify is no point lookup: being wrong that way costs an abort, never a missed conflict.
/// It reads the scanner's tokens, so strings, comments and quoted names never fool it.
/// </summary>
internal static class PointLookupDetector
{
    /// <summary>
    /// How many keys of the table with <paramref name="keyColumns"/> the statement looks up, or
    /// null when it is no point lookup. The count is an upper bound (a key listed twice counts
    /// twice): a lookup that returns fewer rows missed a key, which a concurrent insert may fill.
    /// </summary>
    public static int? KeysLookedUp(string sql, IReadOnlyList<string> keyColumns)
        => LookupOf(sql, keyColumns) is { KeyArrays.Count: 0 } lookup ? lookup.Keys : null;

    /// <summary>
    /// The statement's point lookup, as a shape that holds for every execution of the text: the
    /// keys its literals and scalar parameters bind, and the array parameters (<c>id = ANY (@ids)</c>)
    /// whose lengths multiply them (see <see cref="PointLookup.KeysFor"/>); null when it is no point lookup.
    /// </summary>
    public static PointLookup? LookupOf(string sql, IReadOnlyList<string> keyColumns)
    {
        var statement = Statement.Of(sql);
        if (keyColumns.Count == 0 || statement is null || statement.HasNestedQuery())
        {
            return null;
        }

        return statement.WhereClause() is { } where && statement.Conjuncts(where.Start, where.End) is { } conjuncts
            ? KeysBound(statement, conjuncts, keyColumns)
            : null;
    }

    /// <summary>
    /// Whether the statement is a plain INSERT ... VALUES (or DEFAULT VALUES): it reads no table,
    /// and what RETURNING gives back is its own rows. INSERT ... SELECT, ON CONFLICT and SQLite's
    /// INSERT OR ... read (the table, or whether a key exists), so they are not plain.
    /// </summary>
    public static bool IsPlainInsert(string sql)
    {
        if (Statement.Of(sql) is not { } statement || statement[0].Keyword != Keyword.Insert || statement[1].Keyword != Keyword.Into)
        {
            return false;
        }

        var i = statement.TableEnd(2);
        if (i < 0)
        {
            return false;
        }

        if (statement[i].Keyword == Keyword.As && statement[i + 1].IsName)
        {
            i += 2;
        }

        if (statement[i].Kind == TokenKind.Open)
        {
            i = statement.CloseOf(i) + 1; // the column list
        }

        if (statement.IsWord(i, "default"))
        {
            i++;
        }

        if (i <= 0 || statement[i].Keyword != Keyword.Values)
        {
            return false;
        }

        for (var depth = 0; i < statement.End; i++)
        {
            var token = statement[i];
            depth += statement.DepthChange(i);
            if (token.Keyword is Keyword.Select or Keyword.With or Keyword.Table || (depth == 0 && token.Keyword == Keyword.On))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The product over the key columns of how many values each is bound to; null if one is unbound.</summary>
    private static PointLookup? KeysBound(Statement statement, List<(int Start, int End)> conjuncts, IReadOnlyList<string> keyColumns)
    {
        var bound = new Dictionary<string, Binding>(StringComparer.Ordinal);
        foreach (var (start, end) in conjuncts)
        {
            statement.Bind(start, end, bound);
        }

        long keys = 1;
        var arrays = new List<string>();
        foreach (var column in keyColumns)
        {
            if (!bound.TryGetValue(column, out var binding))
            {
                return null;
            }

            if (binding.Array is { } array)
            {
                arrays.Add(array);
            }
            else
            {
                keys = Math.Min(keys * binding.Values, int.MaxValue);
            }
        }

        return new PointLookup((int)keys, arrays);
    }

    /// <summary>How a key column is bound: to <see cref="Values"/> values, or to the elements of the array parameter <see cref="Array"/>.</summary>
    private readonly record struct Binding(int Values, string? Array)
    {
        /// <summary>Two conjuncts bind the column: the one that names fewer keys holds (a fixed count over an array's).</summary>
        public Binding And(Binding other)
            => (Array, other.Array) switch
            {
                (null, null) => Values <= other.Values ? this : other,
                (null, _) => this,
                _ => other,
            };
    }

    /// <summary>The tokens of a text holding one statement (trailing semicolons aside).</summary>
    private sealed class Statement(string sql, List<Token> tokens, int end)
    {
        /// <summary>The index after the statement's last token.</summary>
        public int End { get; } = end;

        public Token this[int i] => (uint)i < (uint)End ? tokens[i] : default;

        /// <summary>Null when the text is empty or holds several statements.</summary>
        public static Statement? Of(string sql)
        {
            var tokens = Tokenize(sql);
            var end = tokens.FindIndex(t => t.Kind == TokenKind.Semicolon);
            if (end < 0)
            {
                end = tokens.Count;
            }

            return end > 0 && tokens.Skip(end).All(t => t.Kind == TokenKind.Semicolon) ? new Statement(sql, tokens, end) : null;
        }

        public bool IsWord(int i, string word) => this[i] is { Kind: TokenKind.Word } token && sql.AsSpan(token.Start, token.Length).Equals(word, StringComparison.OrdinalIgnoreCase);

        /// <summary>A subquery, WITH, set operation or join: the statement may read more than its one table's rows.</summary>
        public bool HasNestedQuery()
        {
            for (var i = 0; i < End; i++)
            {
                if (this[i].Keyword is Keyword.With or Keyword.Union or Keyword.Intersect or Keyword.Except or Keyword.Join
                    or Keyword.Using or Keyword.Lateral or Keyword.Values or Keyword.Table or Keyword.Into
                    || (this[i].Keyword == Keyword.Select && i > 0))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>
        /// The WHERE clause's tokens, when the statement is SELECT ... FROM t, UPDATE t ... SET or
        /// DELETE FROM t, with t one table and an optional alias, and a WHERE ends its filtering.
        /// </summary>
        public (int Start, int End)? WhereClause()
        {
            int where;
            switch (this[0].Keyword)
            {
                case Keyword.Select:
                    var from = ClauseAt(1, Keyword.From);
                    where = from < 0 ? -1 : AfterAlias(TableEnd(from + 1));
                    break;
                case Keyword.Delete when this[1].Keyword == Keyword.From:
                    where = AfterAlias(TableEnd(2));
                    break;
                case Keyword.Update:
                    // SQLite's UPDATE OR IGNORE t names its conflict handling first.
                    var set = AfterAlias(TableEnd(this[1].Keyword == Keyword.Or ? 3 : 1));
                    where = this[set].Keyword == Keyword.Set && ClauseAt(set + 1, Keyword.From) < 0 ? ClauseAt(set + 1, Keyword.Where) : -1;
                    break;
                default:
                    return null;
            }

            if (where < 0 || this[where].Keyword != Keyword.Where)
            {
                return null;
            }

            var depth = 0;
            for (var i = where + 1; i < End; i++)
            {
                if (depth == 0 && this[i].Keyword is Keyword.Order or Keyword.Limit or Keyword.Offset or Keyword.Fetch or Keyword.For or Keyword.Returning)
                {
                    return (where + 1, i);
                }

                if (depth == 0 && this[i].Keyword is Keyword.Group or Keyword.Having or Keyword.Window)
                {
                    return null;
                }

                depth += DepthChange(i);
            }

            return (where + 1, End);
        }

        /// <summary>Splits tokens at their top-level ANDs; null if an OR at that level joins them (it binds looser than AND).</summary>
        public List<(int Start, int End)>? Conjuncts(int start, int end)
        {
            var conjuncts = new List<(int Start, int End)>();
            var depth = 0;
            var between = false;
            var from = start;
            for (var i = start; i < end; i++)
            {
                var change = DepthChange(i);
                if (change != 0)
                {
                    depth += change;
                    if (depth < 0)
                    {
                        return null;
                    }
                }
                else if (depth == 0 && this[i].Keyword == Keyword.Or)
                {
                    return null;
                }
                else if (depth == 0 && IsWord(i, "between"))
                {
                    between = true; // its AND separates the bounds
                }
                else if (depth == 0 && IsWord(i, "and"))
                {
                    if (!between)
                    {
                        conjuncts.Add((from, i));
                        from = i + 1;
                    }

                    between = false;
                }
            }

            conjuncts.Add((from, end));
            return depth == 0 ? conjuncts : null;
        }

        /// <summary>Records the key columns one conjunct binds, with how many values; anything else binds nothing.</summary>
        public void Bind(int start, int end, Dictionary<string, Binding> bound)
        {
            if (this[start].Kind == TokenKind.Open && CloseOf(start) == end - 1)
            {
                foreach (var (innerStart, innerEnd) in Conjuncts(start + 1, end - 1) ?? [])
                {
                    Bind(innerStart, innerEnd, bound);
                }

                return;
            }

            if (ColumnEnd(start) is { } column && IsEquals(column) && IsValue(column + 1) && column + 2 == end)
            {
                Add(bound, ColumnName(column), 1);
            }
            else if (ColumnEnd(start) is { } compared && IsEquals(compared) && IsWord(compared + 1, "any") && this[compared + 2].Kind == TokenKind.Open
                     && IsNamedOrNumberedParameter(compared + 3) && this[compared + 4].Kind == TokenKind.Close && compared + 5 == end)
            {
                Add(bound, ColumnName(compared), new Binding(0, sql.Substring(this[compared + 3].Start, this[compared + 3].Length)));
            }
            else if (IsValue(start) && IsEquals(start + 1) && ColumnEnd(start + 2) == end)
            {
                Add(bound, ColumnName(end), 1);
            }
            else if (ColumnEnd(start) is { } listed && IsWord(listed, "in") && this[listed + 1].Kind == TokenKind.Open
                     && CloseOf(listed + 1) == end - 1 && ListOf(listed + 2, end - 1, IsValue) is > 0 and var values)
            {
                Add(bound, ColumnName(listed), values);
            }
            else if (this[start].Kind == TokenKind.Open && CloseOf(start) is var close and > 0 && IsEquals(close + 1)
                     && this[close + 2].Kind == TokenKind.Open && CloseOf(close + 2) == end - 1)
            {
                BindRow(start + 1, close, close + 3, end - 1, bound);
            }
        }

        /// <summary>A row comparison (a, b) = (value, value): each column bound to one value.</summary>
        private void BindRow(int columnsStart, int columnsEnd, int valuesStart, int valuesEnd, Dictionary<string, Binding> bound)
        {
            if (ListOf(columnsStart, columnsEnd, i => ColumnEnd(i) == i + 1) is not { } count || ListOf(valuesStart, valuesEnd, IsValue) != count)
            {
                return;
            }

            for (var i = columnsStart; i < columnsEnd; i += 2)
            {
                Add(bound, ColumnName(i + 1), 1);
            }
        }

        /// <summary>The tokens from <paramref name="start"/> to <paramref name="end"/> as one-token items separated by commas: their count, or null.</summary>
        private int? ListOf(int start, int end, Func<int, bool> isItem)
        {
            var count = 0;
            for (var i = start; i < end; i += 2)
            {
                if (!isItem(i) || (i + 1 < end && this[i + 1].Kind != TokenKind.Comma))
                {
                    return null;
                }

                count++;
            }

            return (end - start) % 2 == 1 ? count : null;
        }

        private static void Add(Dictionary<string, Binding> bound, string column, int values) => Add(bound, column, new Binding(values, null));

        private static void Add(Dictionary<string, Binding> bound, string column, Binding binding)
            => bound[column] = bound.TryGetValue(column, out var known) ? known.And(binding) : binding;

        /// <summary>The index after a column reference (name, or names joined by dots) at <paramref name="i"/>, or null.</summary>
        private int? ColumnEnd(int i)
        {
            if (!this[i].IsName)
            {
                return null;
            }

            while (this[i + 1].Kind == TokenKind.Dot && this[i + 2].IsName)
            {
                i += 2;
            }

            return i + 1;
        }

        /// <summary>The column a reference ending before <paramref name="end"/> names: its last part, as the database folds it.</summary>
        private string ColumnName(int end) => SqlTableReferenceScanner.NameOf(sql, this[end - 1]);

        private bool IsEquals(int i) => this[i] is { Kind: TokenKind.Other, Length: 1 } token && sql[token.Start] == '=';

        /// <summary>A parameter with a name or number (@p, :p, $1): one whose value the execution can look up.</summary>
        private bool IsNamedOrNumberedParameter(int i)
            => this[i] is { Kind: TokenKind.Other, Length: > 1 } token && sql[token.Start] is '@' or ':' or '$';

        /// <summary>A parameter (@p, :p, $1, ?, ?1) or a string or number literal: one value, whatever the row.</summary>
        private bool IsValue(int i)
        {
            if (this[i] is not { Kind: TokenKind.Other } token)
            {
                return false;
            }

            var first = sql[token.Start];
            return first switch
            {
                '\'' or '?' => true,
                '@' or ':' or '$' => token.Length > 1,
                'e' or 'E' => token.Length > 1 && sql[token.Start + 1] == '\'',
                _ => char.IsAsciiDigit(first) || (first == '.' && token.Length > 1),
            };
        }

        /// <summary>The index after a table name (with its schema) at <paramref name="i"/>, past ONLY; -1 if there is none.</summary>
        public int TableEnd(int i) => ColumnEnd(this[i].Keyword == Keyword.Only ? i + 1 : i) ?? -1;

        /// <summary>Past an alias ([AS] name) at <paramref name="i"/>, if there is one; -1 stays -1.</summary>
        private int AfterAlias(int i)
        {
            if (i < 0)
            {
                return -1;
            }

            if (this[i].Keyword == Keyword.As)
            {
                return this[i + 1].IsName ? i + 2 : -1;
            }

            return this[i].IsName ? i + 1 : i;
        }

        /// <summary>The first top-level token with <paramref name="keyword"/> from <paramref name="i"/> on, or -1.</summary>
        private int ClauseAt(int i, Keyword keyword)
        {
            for (var depth = 0; i < End; i++)
            {
                if (depth == 0 && this[i].Keyword == keyword)
                {
                    // IS [NOT] DISTINCT FROM compares values: too unusual here to tell apart.
                    return keyword == Keyword.From && this[i - 1].Keyword == Keyword.Distinct ? -1 : i;
                }

                depth += DepthChange(i);
            }

            return -1;
        }

        /// <summary>The index of the ')' that closes the '(' at <paramref name="open"/>, or -1.</summary>
        public int CloseOf(int open)
        {
            var depth = 0;
            for (var i = open; i < End; i++)
            {
                depth += this[i].Kind switch
                {
                    TokenKind.Open => 1,
                    TokenKind.Close => -1,
                    _ => 0,
                };
                if (depth == 0)
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>
        /// +1 at what opens a nested expression, -1 at what closes one: parentheses, PostgreSQL's
        /// array brackets and CASE ... END, inside which an AND is no conjunction of the WHERE.
        /// </summary>
        public int DepthChange(int i)
        {
            var token = this[i];
            return token.Kind switch
            {
                TokenKind.Open => 1,
                TokenKind.Close => -1,
                TokenKind.Other when token.Length == 1 && sql[token.Start] == '[' => 1,
                TokenKind.Other when token.Length == 1 && sql[token.Start] == ']' => -1,
                TokenKind.Word when token.Keyword == Keyword.End => -1,
                TokenKind.Word when IsWord(i, "case") => 1,
                _ => 0,
            };
        }
    }
}
