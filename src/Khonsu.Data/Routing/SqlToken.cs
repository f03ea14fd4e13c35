namespace Khonsu.Data.Routing;

/// <summary>A token of SQL text as routing sees it: words, quoted identifiers, punctuation, and everything else.</summary>
internal readonly record struct SqlToken(SqlTokenKind Kind, string Text)
{
    public bool IsWord(string word) => Kind == SqlTokenKind.Word && Text == word;

    public bool IsPunct(char c) => Kind == SqlTokenKind.Punct && Text[0] == c;

    public bool IsIdentifier => Kind is SqlTokenKind.Word or SqlTokenKind.QuotedIdentifier;
}

internal enum SqlTokenKind
{
    /// <summary>An unquoted word (keyword or identifier), in lower case.</summary>
    Word,

    /// <summary>A "quoted", [bracketed] or `backticked` identifier, case kept.</summary>
    QuotedIdentifier,

    /// <summary>One of ( ) , . ;</summary>
    Punct,

    /// <summary>Literals, numbers, parameters and operators: never table names.</summary>
    Other,
}
