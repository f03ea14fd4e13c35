namespace Khonsu.Data.Configuration;

/// <summary>Whether Khonsu installs its schema (version columns, triggers, its own tables) on first open.</summary>
public enum SchemaMode
{
    /// <summary>Install on first open; idempotent.</summary>
    Auto,

    /// <summary>Never touch the schema; the application runs the install explicitly.</summary>
    Manual,
}
