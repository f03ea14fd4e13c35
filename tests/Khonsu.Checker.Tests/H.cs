using Khonsu.Checker.History;

namespace Khonsu.Checker.Tests;

/// <summary>Short-hands for hand-made histories: T("t1", Ok, R("x", 0), W("x", 1, 2)).</summary>
internal static class H
{
    public static Transaction T(string id, Outcome outcome, params MicroOp[] ops) => new(id, 0, outcome, ops);

    public static Transaction Ok(string id, params MicroOp[] ops) => T(id, Outcome.Ok, ops);

    public static MicroOp R(string key, long value, long? version = null) => MicroOp.Read(key, value, version);

    public static MicroOp W(string key, long value, long? version = null) => MicroOp.Write(key, value, version);

    public static RegisterState Reg(string key, long value, long version) => new(key, key.StartsWith('s') ? "sqlite" : "postgres", value, version);

    public static InstalledWrite Installed(string tx, string key, long value, long version) => new(tx, key, key.StartsWith('s') ? "sqlite" : "postgres", value, version);
}
