using System.Collections.Frozen;

namespace Khonsu.Data.Routing;

/// <summary>
/// Finds the tables a SQL text names, so that routing looks only at identifiers in table
/// positions and is never fooled by names inside strings, comments, quoted columns or aliases.
/// It lexes the way SQLite and PostgreSQL do, then walks the tokens once, tracking parentheses,
/// the names WITH defines and the verb of each query level. It is a scanner, not a parser: the
/// databases still parse for real, so on text they would reject it only has to stay lenient.
/// </summary>
internal static partial class SqlTableReferenceScanner
{
    private static readonly FrozenDictionary<string, Keyword> Keywords = Enum.GetValues<Keyword>()
        .Where(keyword => keyword != Keyword.None)
        .ToFrozenDictionary(keyword => keyword.ToString(), StringComparer.OrdinalIgnoreCase);

    // Looks words up without allocating a string per word.
    private static readonly FrozenDictionary<string, Keyword>.AlternateLookup<ReadOnlySpan<char>> KeywordLookup =
        Keywords.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Returns the table references of all statements in <paramref name="sql"/>, which may hold several separated by ';'.</summary>
    public static ScanResult Scan(string sql)
    {
        var walker = new Walker(sql ?? string.Empty);
        walker.Run();
        return walker.Result();
    }

    /// <summary>The name a name token (a word or a quoted identifier) stands for, as the databases read it.</summary>
    internal static string NameOf(string sql, Token token)
    {
        var text = sql.AsSpan(token.Start, token.Length);
        return token.Kind == TokenKind.Word ? FoldAsciiCase(text) : Unquote(text);
    }

    internal enum TokenKind : byte
    {
        End,
        Word,
        Quoted,
        Open,
        Close,
        Comma,
        Dot,
        Semicolon,
        Other,
    }

    /// <summary>The words the walker (and <see cref="PointLookupDetector"/>) reacts to; any other word is a plain identifier.</summary>
    internal enum Keyword : byte
    {
        None,

        // Statement verbs and transaction control.
        Abort, Alter, Begin, Comment, Commit, Copy, Create, Delete, Drop, End, Explain, Fetch, Insert, Lock, Merge, Move,
        Prepare, Refresh, Release, Rename, Replace, Revoke, Rollback, Savepoint, Select, Set, Start, Table, Transaction,
        Truncate, Update, Upsert, Values, With,

        // Words that put a table name next.
        From, Into, Join, On, References, Using,

        // Words that end a FROM list.
        Do, Except, For, Group, Having, Intersect, Limit, Offset, Order, Returning, Then, Union, When, Where, Window,

        // Modifiers between a keyword and its table, and the parts of CREATE heads.
        As, Atomic, Concurrently, Constraint, Exists, Fail, Foreign, Function, Global, If, Ignore, Index, Lateral, Local,
        Materialized, Not, Only, Or, Procedure, Recursive, Temp, Temporary, Trigger, Unique, Unlogged, View, Virtual,

        // Everything else with a meaning here.
        Analyse, Analyze, Array, Distinct, Extract, Inherits, Is, Like, Of, Overlay, Partition, Plan, Position, Query, Rows,
        Substring, Trim, Verbose,
    }

    private enum Verb : byte
    {
        /// <summary>No word seen yet at this level.</summary>
        None,

        /// <summary>EXPLAIN [ANALYZE] [VERBOSE] [QUERY PLAN]: the statement explained follows.</summary>
        Explain,

        /// <summary>PREPARE name AS: the statement prepared follows AS.</summary>
        Prepare,
        Query,
        Insert,
        Update,
        Delete,
        Merge,

        /// <summary>COPY, REVOKE, FETCH, MOVE, SET: their FROM names a file, role, cursor or value.</summary>
        FromNamesNoTable,
        Other,
    }

    private enum ListMode : byte
    {
        None,
        Tables,
        DdlTargets,
    }

    private enum Position : byte
    {
        /// <summary>After FROM, JOIN or a comma of a FROM list: name( is a function, ( a subquery or parenthesised join.</summary>
        FromItem,

        /// <summary>After DELETE ... USING or MERGE ... USING: name( is a function.</summary>
        UsingItem,

        /// <summary>After INTO: like <see cref="Named"/>, and SELECT ... INTO TEMP t may name a new table.</summary>
        Into,

        /// <summary>After TABLE, UPDATE, REFERENCES and the like: name( is the table and its column list.</summary>
        Named,

        /// <summary>The table a DDL statement creates, alters or drops.</summary>
        DdlTarget,
    }

    /// <summary>One token; Start and Length cover all of it, quotes included.</summary>
    internal readonly record struct Token(TokenKind Kind, int Start, int Length, Keyword Keyword)
    {
        public int End => Start + Length;

        public bool IsName => Kind == TokenKind.Quoted || (Kind == TokenKind.Word && !IsReserved(Keyword));
    }

    /// <summary>A query level: the statement itself, or one pair of parentheses.</summary>
    private struct Frame
    {
        public Verb Verb;

        /// <summary>What a comma at this level separates.</summary>
        public ListMode List;

        /// <summary>Inside EXTRACT(...), SUBSTRING(...) and the like, where FROM separates arguments.</summary>
        public bool FromIsArgument;

        public bool IsCteBody;

        /// <summary>Between WITH and the statement it prefixes, where commas separate WITH queries.</summary>
        public bool InWithList;

        public bool WithRecursive;
    }

    /// <summary>A name defined by WITH, in scope at <paramref name="Depth"/> and deeper once active.</summary>
    private readonly record struct Cte(string Name, int Depth, bool Active);

    // Reserved words (in PostgreSQL, and so in SQL written for both) are never table names unless quoted.
    private static bool IsReserved(Keyword keyword) => keyword is
        Keyword.Select or Keyword.Values or Keyword.With or Keyword.Set or Keyword.Table or Keyword.From or Keyword.Into
        or Keyword.Join or Keyword.On or Keyword.Using or Keyword.References or Keyword.Do or Keyword.Except or Keyword.For
        or Keyword.Group or Keyword.Having or Keyword.Intersect or Keyword.Limit or Keyword.Offset or Keyword.Order
        or Keyword.Returning or Keyword.Then or Keyword.Union or Keyword.When or Keyword.Where or Keyword.Window
        or Keyword.As or Keyword.Lateral or Keyword.Not or Keyword.Only or Keyword.Or or Keyword.Unique or Keyword.Array
        or Keyword.Distinct or Keyword.Is or Keyword.Of or Keyword.Fetch or Keyword.Create;

    private static bool EndsFromList(Keyword keyword) => keyword is
        Keyword.Do or Keyword.Except or Keyword.For or Keyword.Group or Keyword.Having or Keyword.Intersect or Keyword.Limit
        or Keyword.Offset or Keyword.Order or Keyword.Returning or Keyword.Then or Keyword.Union or Keyword.When
        or Keyword.Where or Keyword.Window or Keyword.Select or Keyword.Values or Keyword.Set or Keyword.Fetch;

    /// <summary>Statements a WITH clause can prefix: the first of these at its level ends the WITH list.</summary>
    private static bool StartsMainStatement(Keyword keyword) => keyword is
        Keyword.Select or Keyword.Values or Keyword.Table or Keyword.Insert or Keyword.Replace or Keyword.Update
        or Keyword.Delete or Keyword.Merge;

    private static Verb VerbOf(Keyword keyword) => keyword switch
    {
        Keyword.Select or Keyword.Values or Keyword.Table => Verb.Query,
        Keyword.Insert or Keyword.Replace => Verb.Insert,
        Keyword.Update => Verb.Update,
        Keyword.Delete => Verb.Delete,
        Keyword.Merge => Verb.Merge,
        Keyword.Copy or Keyword.Revoke or Keyword.Fetch or Keyword.Move or Keyword.Set => Verb.FromNamesNoTable,
        Keyword.Explain => Verb.Explain,
        Keyword.Prepare => Verb.Prepare,
        _ => Verb.Other,
    };

    /// <summary>
    /// Unquoted names fold to lower case. Both databases fold only ASCII letters (PostgreSQL leaves
    /// multi-byte characters alone), so ToLowerInvariant would name a table neither of them has.
    /// </summary>
    private static string FoldAsciiCase(ReadOnlySpan<char> text)
    {
        if (!text.ContainsAnyInRange('A', 'Z'))
        {
            return text.ToString();
        }

        return string.Create(text.Length, text, static (folded, source) =>
        {
            for (var k = 0; k < source.Length; k++)
            {
                folded[k] = char.IsAsciiLetterUpper(source[k]) ? (char)(source[k] | 0x20) : source[k];
            }
        });
    }

    /// <summary>"a""b", `a``b` or [a b] without the quotes; lenient about a missing closing quote.</summary>
    private static string Unquote(ReadOnlySpan<char> text)
    {
        var close = text[0] == '[' ? ']' : text[0];
        var inner = text[1..];
        if (inner.Length > 0 && inner[^1] == close)
        {
            inner = inner[..^1];
        }

        var name = inner.ToString();
        if (close == ']' || !inner.Contains(close))
        {
            return name;
        }

        return name.Replace(new string(close, 2), close.ToString(), StringComparison.Ordinal);
    }
}
