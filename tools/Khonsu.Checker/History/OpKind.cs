namespace Khonsu.Checker.History;

/// <summary>What a micro-operation of a transaction does to a register.</summary>
public enum OpKind
{
    Read,
    Write,
}
