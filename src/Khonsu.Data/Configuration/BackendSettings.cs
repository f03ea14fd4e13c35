namespace Khonsu.Data.Configuration;

/// <summary>
/// One backend named in a Khonsu connection string: its kind ("Sqlite", "Postgres"), its name,
/// the connection-string key it came from (for error messages), and the inner connection string.
/// </summary>
internal sealed record BackendSettings(string Kind, string Name, string Key, string ConnectionString);
