namespace Khonsu.Engine.Commit;

/// <summary>What a captured write did to a row.</summary>
public enum WriteKind : byte
{
    Insert = 1,
    Update = 2,
    Delete = 3,
}
