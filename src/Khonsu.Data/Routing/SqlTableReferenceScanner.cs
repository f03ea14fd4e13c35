namespace Khonsu.Data.Routing;

/// <summary>
/// Finds the tables a SQL text names: identifiers in table positions (after FROM, JOIN, INTO,
/// UPDATE, TABLE, USING, REFERENCES, CREATE INDEX ... ON, and in FROM lists), skipping names a
/// WITH clause defines, function calls, and FROMs that belong to EXTRACT, SUBSTRING, TRIM,
/// OVERLAY or IS DISTINCT FROM. Only routing uses it; the databases parse for real.
/// </summary>
internal static class SqlTableReferenceScanner
{
    private static readonly HashSet<string> FromFunctions = ["extract", "substring", "trim", "overlay", "position", "substr"];

    private static readonly HashSet<string> NotTableNames =
    [
        "select", "values", "set", "where", "of", "lateral", "only", "nowait", "skip", "on", "using", "natural", "left", "right",
        "inner", "outer", "cross", "full", "join", "group", "order", "limit", "as", "default", "with", "if", "not", "exists", "or",
        "ignore", "replace", "abort", "fail", "rollback", "unnest", "table", "into", "from", "returning", "temp", "temporary", "stdin", "stdout",
    ];

    public static ScanResult Scan(string sql)
    {
        var tokens = SqlTokenizer.Tokenize(sql);
        var tables = new List<TableReference>();
        var targets = new List<TableReference>();
        StatementKind? kind = null;
        var anyDdl = false;
        foreach (var statement in SplitStatements(tokens))
        {
            var statementKind = KindOf(statement);
            kind ??= statementKind;
            anyDdl |= statementKind == StatementKind.Ddl;
            new StatementScanner(statement, tables, targets).Run();
        }

        return new ScanResult(tables, anyDdl ? StatementKind.Ddl : kind ?? StatementKind.Other, targets);
    }

    private static IEnumerable<List<SqlToken>> SplitStatements(List<SqlToken> tokens)
    {
        var current = new List<SqlToken>();
        var depth = 0;
        var inTriggerBody = false;
        foreach (var token in tokens)
        {
            depth += token.IsPunct('(') ? 1 : token.IsPunct(')') ? -1 : 0;
            inTriggerBody |= token.IsWord("begin") && current.Count > 0 && current[0].IsWord("create");
            if (inTriggerBody && token.IsWord("end"))
            {
                inTriggerBody = false;
            }

            if (token.IsPunct(';') && depth <= 0 && !inTriggerBody)
            {
                if (current.Count > 0)
                {
                    yield return current;
                }

                current = [];
                continue;
            }

            current.Add(token);
        }

        if (current.Count > 0)
        {
            yield return current;
        }
    }

    private static StatementKind KindOf(List<SqlToken> statement)
    {
        var first = statement[0].Kind == SqlTokenKind.Word ? statement[0].Text : string.Empty;
        return first switch
        {
            "select" or "with" or "values" or "explain" or "table" => StatementKind.Query,
            "insert" or "update" or "delete" or "replace" or "merge" or "upsert" or "copy" or "truncate" => StatementKind.Dml,
            "create" or "alter" or "drop" or "rename" or "comment" => StatementKind.Ddl,
            "begin" or "commit" or "rollback" or "savepoint" or "release" or "start" or "end" or "prepare" or "abort" => StatementKind.TransactionControl,
            _ => StatementKind.Other,
        };
    }

    /// <summary>Walks one statement's tokens.</summary>
    private sealed class StatementScanner(List<SqlToken> tokens, List<TableReference> tables, List<TableReference> targets)
    {
        private readonly HashSet<string> _cteNames = new(StringComparer.Ordinal);
        private readonly Stack<bool> _functionFromParens = new();
        private int _fromListDepth = -1;
        private int _depth;

        public void Run()
        {
            CollectCteNames();
            var head = string.Join(' ', tokens.Take(4).Where(t => t.Kind == SqlTokenKind.Word).Select(t => t.Text));
            var createsIndexOrTrigger = head.StartsWith("create", StringComparison.Ordinal) && (head.Contains("index", StringComparison.Ordinal) || head.Contains("trigger", StringComparison.Ordinal));
            var isDdl = KindOf(tokens) == StatementKind.Ddl;
            var isCopy = tokens[0].IsWord("copy"); // COPY t FROM 'file' reads a file, not a table

            for (var i = 0; i < tokens.Count; i++)
            {
                var token = tokens[i];
                if (token.IsPunct('('))
                {
                    _functionFromParens.Push(i > 0 && tokens[i - 1].Kind == SqlTokenKind.Word && FromFunctions.Contains(tokens[i - 1].Text));
                    _depth++;
                    continue;
                }

                if (token.IsPunct(')'))
                {
                    _functionFromParens.TryPop(out _);
                    _depth--;
                    if (_fromListDepth > _depth)
                    {
                        _fromListDepth = -1;
                    }

                    continue;
                }

                if (token.IsPunct(',') && _fromListDepth == _depth)
                {
                    ReadTable(i + 1, functionsAreTables: false, ddl: false);
                    continue;
                }

                if (token.Kind != SqlTokenKind.Word)
                {
                    continue;
                }

                switch (token.Text)
                {
                    case "from" when !IsFunctionFrom(i) && !(isCopy && _depth == 0):
                        _fromListDepth = tokens.Skip(i + 1).FirstOrDefault().IsPunct('(') ? -1 : _depth;
                        ReadTable(i + 1, functionsAreTables: false, ddl: false);
                        break;
                    case "join":
                        ReadTable(i + 1, functionsAreTables: false, ddl: false);
                        break;
                    case "using":
                        ReadTable(i + 1, functionsAreTables: false, ddl: false);
                        break;
                    case "into" or "references" or "update":
                        ReadTable(i + 1, functionsAreTables: true, ddl: false);
                        break;
                    case "table" or "truncate" or "lock" or "copy" when i == 0 || token.Text == "table":
                        ReadTable(i + 1, functionsAreTables: true, ddl: isDdl);
                        break;
                    case "view" when isDdl:
                        ReadTable(i + 1, functionsAreTables: true, ddl: true, record: false);
                        break;
                    case "on" when createsIndexOrTrigger:
                        ReadTable(i + 1, functionsAreTables: true, ddl: isDdl && head.Contains("index", StringComparison.Ordinal));
                        break;
                    case "where" or "group" or "order" or "limit" or "having" or "window" or "union" or "intersect" or "except" or "returning" or "set" or "on":
                        if (_fromListDepth == _depth)
                        {
                            _fromListDepth = -1;
                        }

                        break;
                }
            }
        }

        private bool IsFunctionFrom(int i)
            => (_functionFromParens.TryPeek(out var inFunction) && inFunction)
               || (i > 0 && tokens[i - 1].IsWord("distinct") && i > 1 && (tokens[i - 2].IsWord("is") || tokens[i - 2].IsWord("not")));

        /// <summary>Reads a possibly qualified table name starting at <paramref name="i"/>, skipping modifiers.</summary>
        private void ReadTable(int i, bool functionsAreTables, bool ddl, bool record = true)
        {
            while (i < tokens.Count && tokens[i].Kind == SqlTokenKind.Word && tokens[i].Text is "only" or "if" or "not" or "exists" or "or" or "ignore" or "replace" or "abort" or "fail" or "rollback" or "table" or "lateral")
            {
                i++;
            }

            if (i >= tokens.Count || !tokens[i].IsIdentifier || (tokens[i].Kind == SqlTokenKind.Word && NotTableNames.Contains(tokens[i].Text)))
            {
                return;
            }

            var first = tokens[i];
            string? schema = null;
            var name = first;
            while (i + 2 < tokens.Count && tokens[i + 1].IsPunct('.') && tokens[i + 2].IsIdentifier)
            {
                schema = name.Text;
                name = tokens[i + 2];
                i += 2;
            }

            var isCall = i + 1 < tokens.Count && tokens[i + 1].IsPunct('(');
            if (isCall && !functionsAreTables)
            {
                return;
            }

            if (schema is null && _cteNames.Contains(name.Text))
            {
                return;
            }

            var reference = new TableReference(schema, name.Text, name.Kind == SqlTokenKind.QuotedIdentifier);
            if (record && !tables.Contains(reference))
            {
                tables.Add(reference);
            }

            if (ddl && !targets.Contains(reference))
            {
                targets.Add(reference);
            }
        }

        /// <summary>Names defined by WITH: an identifier after WITH, RECURSIVE or a comma, followed by [(columns)] AS [NOT] [MATERIALIZED] (.</summary>
        private void CollectCteNames()
        {
            var sawWith = false;
            for (var i = 0; i < tokens.Count; i++)
            {
                sawWith |= tokens[i].IsWord("with");
                if (!sawWith || !tokens[i].IsIdentifier || i == 0)
                {
                    continue;
                }

                var before = tokens[i - 1];
                if (!(before.IsWord("with") || before.IsWord("recursive") || before.IsPunct(',')))
                {
                    continue;
                }

                var j = i + 1;
                if (j < tokens.Count && tokens[j].IsPunct('('))
                {
                    j = SkipParens(j);
                }

                if (j < tokens.Count && tokens[j].IsWord("as"))
                {
                    _cteNames.Add(tokens[i].Text);
                }
            }
        }

        private int SkipParens(int open)
        {
            var depth = 0;
            for (var j = open; j < tokens.Count; j++)
            {
                depth += tokens[j].IsPunct('(') ? 1 : tokens[j].IsPunct(')') ? -1 : 0;
                if (depth == 0)
                {
                    return j + 1;
                }
            }

            return tokens.Count;
        }
    }
}
