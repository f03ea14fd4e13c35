namespace Khonsu.Engine.Log;

/// <summary>
/// Opens a commit log that lives outside the process's files (e.g. <c>kafka://host:9092/topic</c>).
/// A provider ships in its own assembly (Khonsu.Log.&lt;Scheme&gt;, e.g. Khonsu.Log.Kafka) that
/// names it with <see cref="CommitLogProviderAttribute"/>, so that applications without that log
/// never load its client library; Khonsu.Data finds it by name at run time.
/// </summary>
internal interface ICommitLogProvider
{
    /// <summary>
    /// Opens the log at <paramref name="location"/>, a URI of the provider's scheme, with client
    /// settings passed through from the connection string (<c>Kafka.&lt;setting&gt;=value</c>).
    /// Returns once the log can answer decisions for everything already in it.
    /// </summary>
    /// <param name="warning">
    /// Where the log reports trouble it works around (a checkpoint it had to skip), already
    /// scrubbed of secrets; null to drop them.
    /// </param>
    /// <exception cref="ArgumentException">The location or a setting is invalid.</exception>
    /// <exception cref="CommitLogUnavailableException">The log cannot be reached now.</exception>
    Task<ICommitLog> OpenAsync(string location, IReadOnlyDictionary<string, string> settings, string nodeId, Action<string>? warning, CancellationToken cancellationToken);
}
