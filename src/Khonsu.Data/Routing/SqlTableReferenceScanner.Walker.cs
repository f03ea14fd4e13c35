namespace Khonsu.Data.Routing;

internal static partial class SqlTableReferenceScanner
{
    /// <summary>Walks the tokens of all statements, collecting table references.</summary>
    private sealed class Walker(string sql)
    {
        private readonly List<Token> _tokens = Tokenize(sql);
        private readonly List<TableReference> _tables = [];
        private readonly List<TableReference> _targets = [];
        private HashSet<TableReference>? _tableIndex;
        private HashSet<TableReference>? _targetIndex;
        private List<Cte>? _ctes;
        private Frame[] _frames = new Frame[8];
        private int _depth;
        private int _groupOpen = -1;
        private int _cteBodyOpen = -1;
        private int _statementStart = -1;
        private bool _hasBody;
        private StatementKind? _firstKind;
        private bool _anyDdl;
        private bool _anyTransactionControl;
        private bool _writes;

        private ref Frame Top => ref _frames[_depth];

        public void Run()
        {
            var i = 0;
            while (i < _tokens.Count)
            {
                i = Visit(i);
            }

            EndStatement();
        }

        public ScanResult Result() => new(_tables, _anyDdl ? StatementKind.Ddl : _firstKind ?? StatementKind.Other, _targets, _writes, _anyTransactionControl);

        private Token Peek(int i) => (uint)i < (uint)_tokens.Count ? _tokens[i] : default;

        /// <summary>Handles the token at <paramref name="i"/> and returns the index of the next one to visit.</summary>
        private int Visit(int i)
        {
            var token = _tokens[i];
            if (_statementStart < 0 && token.Kind != TokenKind.Semicolon)
            {
                _statementStart = i;
            }

            switch (token.Kind)
            {
                case TokenKind.Open:
                    return Open(i);
                case TokenKind.Close:
                    Close();
                    return i + 1;
                case TokenKind.Comma:
                    return Comma(i);
                case TokenKind.Semicolon:
                    Semicolon();
                    return i + 1;
                case TokenKind.Word:
                    return Word(i);
                default:
                    return i + 1;
            }
        }

        private int Open(int i)
        {
            var group = i == _groupOpen;
            if (++_depth == _frames.Length)
            {
                Array.Resize(ref _frames, _frames.Length * 2);
            }

            _frames[_depth] = new Frame
            {
                FromIsArgument = Peek(i - 1).Keyword is Keyword.Extract or Keyword.Substring or Keyword.Trim or Keyword.Overlay or Keyword.Position,
                IsCteBody = i == _cteBodyOpen,

                // FROM (a JOIN b ON ...) and SQLite's FROM (a, b) list tables; a subquery's verb turns this off.
                List = group ? ListMode.Tables : ListMode.None,
            };
            return group ? ReadTable(i + 1, Position.FromItem) : i + 1;
        }

        private void Close()
        {
            if (_depth == 0)
            {
                return;
            }

            var closed = _frames[_depth--];
            if (_ctes is null)
            {
                return;
            }

            while (_ctes.Count > 0 && _ctes[^1].Depth > _depth)
            {
                _ctes.RemoveAt(_ctes.Count - 1);
            }

            // A WITH query's own name is in scope from its end on (from its start under RECURSIVE),
            // so WITH orders AS (SELECT * FROM orders) reads the real orders.
            if (closed.IsCteBody && _ctes.Count > 0 && _ctes[^1] is { Active: false } pending && pending.Depth == _depth)
            {
                _ctes[^1] = pending with { Active = true };
            }
        }

        private int Comma(int i)
        {
            ref var frame = ref Top;
            if (frame.InWithList)
            {
                return ReadCteHeader(i + 1, frame.WithRecursive) ?? i + 1;
            }

            return frame.List switch
            {
                ListMode.Tables => ReadTable(i + 1, Position.FromItem),
                ListMode.DdlTargets => ReadTable(i + 1, Position.DdlTarget),
                _ => i + 1,
            };
        }

        private void Semicolon()
        {
            if (_depth == 0)
            {
                // A trigger body's statements end here too, which finds the same tables as ending at its END.
                EndStatement();
                return;
            }

            // Inside a rule's parentheses ';' starts another statement of the same text.
            ref var frame = ref Top;
            frame.Verb = Verb.None;
            frame.List = ListMode.None;
            frame.InWithList = false;
        }

        private void EndStatement()
        {
            if (_statementStart < 0)
            {
                return;
            }

            var kind = KindOf(_statementStart);
            _firstKind ??= kind;
            _anyDdl |= kind == StatementKind.Ddl;
            _anyTransactionControl |= kind == StatementKind.TransactionControl;

            _statementStart = -1;
            _depth = 0;
            _frames[0] = default;
            _ctes?.Clear();
            _hasBody = false;
        }

        private StatementKind KindOf(int start)
        {
            var first = _tokens[start];
            if (first.Kind == TokenKind.Open)
            {
                return StatementKind.Query;
            }

            return first.Keyword switch
            {
                Keyword.Select or Keyword.Values or Keyword.Table or Keyword.Explain => StatementKind.Query,

                // WITH prefixes a statement: its kind is that statement's.
                Keyword.With => _frames[0].Verb is Verb.Insert or Verb.Update or Verb.Delete or Verb.Merge ? StatementKind.Dml : StatementKind.Query,
                Keyword.Insert or Keyword.Update or Keyword.Delete or Keyword.Replace or Keyword.Merge or Keyword.Upsert
                    or Keyword.Copy or Keyword.Truncate => StatementKind.Dml,
                Keyword.Create or Keyword.Alter or Keyword.Drop or Keyword.Rename or Keyword.Comment => StatementKind.Ddl,
                Keyword.Begin or Keyword.Commit or Keyword.Rollback or Keyword.Savepoint or Keyword.Release or Keyword.End
                    or Keyword.Abort => StatementKind.TransactionControl,
                Keyword.Start or Keyword.Prepare when Peek(start + 1).Keyword == Keyword.Transaction => StatementKind.TransactionControl,
                _ => StatementKind.Other,
            };
        }

        private int Word(int i)
        {
            var keyword = _tokens[i].Keyword;
            ref var frame = ref Top;
            if (StartsStatement(ref frame, keyword))
            {
                frame.Verb = VerbOf(keyword);
                _writes |= frame.Verb is Verb.Insert or Verb.Update or Verb.Delete or Verb.Merge;
                if (frame.Verb != Verb.Other)
                {
                    // A subquery's select list or VALUES rows are no FROM list.
                    frame.List = ListMode.None;
                }

                switch (keyword)
                {
                    case Keyword.Update:
                        return ReadTable(i + 1, Position.Named);
                    case Keyword.Create:
                        return ReadCreate(i + 1);
                    case Keyword.Alter or Keyword.Drop:
                        return ReadAlterOrDrop(i + 1, keyword == Keyword.Drop);
                    case Keyword.Truncate or Keyword.Lock:
                        frame.List = ListMode.Tables;
                        return ReadTable(i + 1, Position.Named);
                    case Keyword.Copy:
                        return ReadTable(i + 1, Position.Named);
                    case Keyword.Refresh:
                        var name = i + 1;
                        while (Peek(name).Keyword is Keyword.Materialized or Keyword.View or Keyword.Concurrently)
                        {
                            name++;
                        }

                        return ReadTable(name, Position.Named);
                }
            }

            switch (keyword)
            {
                case Keyword.From when FromNamesTable(i):
                    frame.List = ListMode.Tables;
                    return ReadTable(i + 1, Position.FromItem);
                case Keyword.Join:
                    return ReadTable(i + 1, Position.FromItem);
                case Keyword.Into:
                    return ReadTable(i + 1, Position.Into);
                case Keyword.Table or Keyword.References:
                    return ReadTable(i + 1, Position.Named);

                // PostgreSQL tables built on others: CREATE TABLE t (LIKE s), PARTITION OF p, INHERITS (p, q).
                // LIKE right after '(' or ',' is no comparison.
                case Keyword.Like when Peek(i - 1).Kind is TokenKind.Open or TokenKind.Comma:
                    return ReadTable(i + 1, Position.Named);
                case Keyword.Of when Peek(i - 1).Keyword == Keyword.Partition:
                    return ReadTable(i + 1, Position.Named);
                case Keyword.Inherits:
                    return ReadTable(i + 1, Position.FromItem);

                // Elsewhere USING lists join columns, an index method or a conversion expression.
                case Keyword.Using when frame.Verb is Verb.Delete or Verb.Merge:
                    frame.List = ListMode.Tables;
                    return ReadTable(i + 1, Position.UsingItem);
                case Keyword.With:
                    var recursive = Peek(i + 1).Keyword == Keyword.Recursive;
                    if (ReadCteHeader(recursive ? i + 2 : i + 1, recursive) is { } body)
                    {
                        frame.InWithList = true;
                        frame.WithRecursive = recursive;
                        frame.List = ListMode.None;
                        return body;
                    }

                    break;
                case Keyword.As when frame.Verb == Verb.Prepare:
                    frame.Verb = Verb.None;
                    break;

                // The body of a trigger or of a BEGIN ATOMIC routine starts with a statement of its own.
                case Keyword.Begin when _hasBody && _depth == 0:
                    frame = default;
                    return Peek(i + 1).Keyword == Keyword.Atomic ? i + 2 : i + 1;
                default:
                    if (EndsFromList(keyword))
                    {
                        frame.List = ListMode.None;
                    }

                    break;
            }

            return i + 1;
        }

        /// <summary>
        /// Whether this word is the verb of its query level. Only the first word is, so the UPDATE of
        /// ON CONFLICT DO UPDATE, FOR UPDATE or ON UPDATE CASCADE is no statement; WITH, EXPLAIN and
        /// PREPARE ... AS only prefix one. Ends the WITH list when the statement it prefixes starts.
        /// </summary>
        private static bool StartsStatement(ref Frame frame, Keyword keyword)
        {
            if (frame.InWithList)
            {
                if (!StartsMainStatement(keyword))
                {
                    return false;
                }

                frame.InWithList = false;
            }

            return frame.Verb switch
            {
                Verb.None => keyword != Keyword.With,
                Verb.Explain => keyword is not (Keyword.With or Keyword.Analyze or Keyword.Analyse or Keyword.Verbose or Keyword.Query or Keyword.Plan),
                _ => false,
            };
        }

        private bool FromNamesTable(int i)
        {
            ref var frame = ref Top;
            if (frame.FromIsArgument || frame.Verb == Verb.FromNamesNoTable)
            {
                return false;
            }

            // IS [NOT] DISTINCT FROM compares two values.
            return !(Peek(i - 1).Keyword == Keyword.Distinct && Peek(i - 2).Keyword is Keyword.Is or Keyword.Not);
        }

        /// <summary>CREATE [modifiers] TABLE | VIEW | INDEX | TRIGGER | FUNCTION ...; <paramref name="i"/> is the word after CREATE.</summary>
        private int ReadCreate(int i)
        {
            while (Peek(i).Keyword is Keyword.Or or Keyword.Replace or Keyword.Temp or Keyword.Temporary or Keyword.Unlogged
                   or Keyword.Global or Keyword.Local or Keyword.Unique or Keyword.Materialized or Keyword.Recursive
                   or Keyword.Virtual or Keyword.Foreign or Keyword.Constraint)
            {
                i++;
            }

            switch (Peek(i).Keyword)
            {
                case Keyword.Table or Keyword.View:
                    return ReadTable(i + 1, Position.DdlTarget);
                case Keyword.Index:
                    return ReadOnTable(i + 1, Position.DdlTarget);
                case Keyword.Trigger:
                    _hasBody = true;
                    return ReadOnTable(i + 1, Position.Named);
                case Keyword.Function or Keyword.Procedure:
                    _hasBody = true;
                    return i + 1;
                default:
                    return i;
            }
        }

        /// <summary>The table after the ON of an index or trigger head, skipping the index name or trigger events before it.</summary>
        private int ReadOnTable(int i, Position position)
        {
            for (var j = i; j < _tokens.Count; j++)
            {
                var token = _tokens[j];
                if (token.Keyword == Keyword.On)
                {
                    return ReadTable(j + 1, position);
                }

                if (token.Kind is TokenKind.Open or TokenKind.Semicolon || token.Keyword == Keyword.Begin)
                {
                    break;
                }
            }

            return i;
        }

        private int ReadAlterOrDrop(int i, bool drop)
        {
            while (Peek(i).Keyword is Keyword.Materialized or Keyword.Foreign)
            {
                i++;
            }

            if (Peek(i).Keyword is not (Keyword.Table or Keyword.View))
            {
                return i;
            }

            if (drop)
            {
                Top.List = ListMode.DdlTargets;
            }

            return ReadTable(i + 1, Position.DdlTarget);
        }

        /// <summary>
        /// Reads WITH [RECURSIVE] name [(columns)] AS [NOT] [MATERIALIZED] ( at <paramref name="i"/>,
        /// records the name and returns the index of the body's '(' (null if this is no WITH query,
        /// as in WITH ORDINALITY or WITH (options)).
        /// </summary>
        private int? ReadCteHeader(int i, bool recursive)
        {
            var name = Peek(i);
            if (!name.IsName)
            {
                return null;
            }

            var j = i + 1;
            if (Peek(j).Kind == TokenKind.Open)
            {
                // Only names and commas: stopping early keeps the look-ahead linear on garbage.
                j++;
                while (Peek(j).Kind is TokenKind.Word or TokenKind.Quoted or TokenKind.Comma)
                {
                    j++;
                }

                if (Peek(j++).Kind != TokenKind.Close)
                {
                    return null;
                }
            }

            if (Peek(j++).Keyword != Keyword.As)
            {
                return null;
            }

            if (Peek(j).Keyword == Keyword.Not)
            {
                j++;
            }

            if (Peek(j).Keyword == Keyword.Materialized)
            {
                j++;
            }

            if (Peek(j).Kind != TokenKind.Open || NameOf(name) is not { Length: > 0 } text)
            {
                return null;
            }

            _ctes ??= [];
            _ctes.Add(new Cte(text, _depth, Active: recursive));
            _cteBodyOpen = j;
            return j;
        }

        /// <summary>Reads a table name at <paramref name="i"/> if there is one, and returns the index after it.</summary>
        private int ReadTable(int i, Position position)
        {
            i = SkipModifiers(i, position);
            var first = Peek(i);
            if (first.Kind == TokenKind.Open)
            {
                if (position == Position.FromItem)
                {
                    _groupOpen = i;
                }

                return i;
            }

            // PostgreSQL's FROM ROWS FROM (f(), g()) joins functions.
            if (!first.IsName || (first.Keyword == Keyword.Rows && Peek(i + 1).Keyword == Keyword.From))
            {
                return i;
            }

            var last = i;
            while (Peek(last + 1).Kind == TokenKind.Dot && Peek(last + 2).Kind is TokenKind.Word or TokenKind.Quoted)
            {
                last += 2;
            }

            var next = last + 1;
            if (Peek(next).Kind == TokenKind.Open && position is Position.FromItem or Position.UsingItem)
            {
                return next; // A table-valued function such as generate_series(1, 3) or json_each(x).
            }

            var name = NameOf(_tokens[last]);
            var schema = last > i ? NameOf(_tokens[last - 2]) : null;
            if (name.Length > 0 && (schema is not null || !IsCte(name)))
            {
                var reference = new TableReference(schema, name, _tokens[last].Kind == TokenKind.Quoted);
                AddOnce(_tables, ref _tableIndex, reference);
                if (position == Position.DdlTarget)
                {
                    AddOnce(_targets, ref _targetIndex, reference);
                }
            }

            return next;
        }

        /// <summary>Skips ONLY, LATERAL, TABLE, IF [NOT] EXISTS, SQLite's OR IGNORE (and the like), and INTO's TEMP.</summary>
        private int SkipModifiers(int i, Position position)
        {
            while (true)
            {
                var keyword = Peek(i).Keyword;
                var next = Peek(i + 1);
                if (keyword is Keyword.Only or Keyword.Lateral or Keyword.Table)
                {
                    i++;
                }
                else if (keyword == Keyword.If && next.Keyword == Keyword.Exists)
                {
                    i += 2;
                }
                else if (keyword == Keyword.If && next.Keyword == Keyword.Not && Peek(i + 2).Keyword == Keyword.Exists)
                {
                    i += 3;
                }
                else if (keyword == Keyword.Or && next.Keyword is Keyword.Rollback or Keyword.Abort or Keyword.Replace or Keyword.Fail or Keyword.Ignore)
                {
                    i += 2;
                }

                // Not reserved, so only a modifier where a name follows: INTO temp.t and INTO temp VALUES name tables.
                else if (position == Position.Into && keyword is Keyword.Temp or Keyword.Temporary or Keyword.Unlogged
                         && (next.IsName || next.Keyword == Keyword.Table))
                {
                    i++;
                }
                else
                {
                    return i;
                }
            }
        }

        private bool IsCte(string name)
        {
            if (_ctes is null)
            {
                return false;
            }

            foreach (var cte in _ctes)
            {
                // Case-insensitive like the catalog lookup: SQLite ignores case even in quoted names.
                if (cte.Active && string.Equals(cte.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }

        private string NameOf(Token token) => SqlTableReferenceScanner.NameOf(sql, token);

        private static void AddOnce(List<TableReference> list, ref HashSet<TableReference>? index, TableReference reference)
        {
            // Most statements name a handful of tables: a linear search is cheaper until the list grows.
            if (index is null && list.Count < 8)
            {
                if (!list.Contains(reference))
                {
                    list.Add(reference);
                }

                return;
            }

            index ??= [.. list];
            if (index.Add(reference))
            {
                list.Add(reference);
            }
        }
    }
}
