namespace Khonsu.Engine.Commit;

/// <summary>What a captured write did to a row.</summary>
public enum WriteKind : byte
{
    /// <summary>The transaction inserted the row.</summary>
    Insert = 1,

    /// <summary>The transaction updated a row that existed before it.</summary>
    Update = 2,

    /// <summary>The transaction deleted a row that existed before it.</summary>
    Delete = 3,
}
