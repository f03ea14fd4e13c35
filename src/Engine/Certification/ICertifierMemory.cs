namespace Khonsu.Engine.Certification;

/// <summary>What a certifier holds in memory, for the <c>khonsu.certifier.*</c> gauges.</summary>
internal interface ICertifierMemory
{
    /// <summary>Committed transactions remembered in full.</summary>
    int RememberedTransactions { get; }

    /// <summary>Read and written items of those transactions.</summary>
    long RememberedItems { get; }
}
