namespace Khonsu.Data;

/// <summary>
/// Khonsu's settings as they appear in configuration (appsettings.json), e.g. the section
/// <c>"Khonsu": { "ConnectionString": "Khonsu:Sqlite.ledger=\"Data Source=ledger.db\";..." }</c>.
/// </summary>
public sealed class KhonsuOptions
{
    /// <summary>The Khonsu connection string (see the README's configuration reference).</summary>
    public string? ConnectionString { get; set; }
}
