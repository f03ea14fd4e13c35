namespace Khonsu.Checker.History;

/// <summary>A register's value and row version as read from its database (initially or after the run), and which backend holds it.</summary>
public sealed record RegisterState(string Key, string Backend, long Value, long Version);
