using System.Security.Cryptography;
using System.Text;

namespace Khonsu.Engine.Log;

/// <summary>
/// Which commit log this is, stable for the log's whole life and different for every other log:
/// what each database records as the log that governs it (a database belongs to one log, or two
/// logs' recoveries would settle each other's transactions), and, as <see cref="Tag"/>, what
/// PostgreSQL's prepared-transaction ids carry so that recovery settles only its own log's.
/// The embedded log's id is a UUID generated when its file is created (kept in the file);
/// a Kafka log's is its cluster id and topic.
/// </summary>
/// <param name="Id">The identity itself, compared byte for byte.</param>
/// <param name="Description">The log for a human: its kind and where it is.</param>
public sealed record LogIdentity(string Id, string Description)
{
    /// <summary>How many hex digits of the id's hash <see cref="Tag"/> keeps: 64 bits, short enough for a PostgreSQL gid (200 bytes at most).</summary>
    public const int TagLength = 16;

    /// <summary>
    /// A short form of <see cref="Id"/>: the first 16 hex digits of its SHA-256. Ids of any length
    /// (a Kafka topic may have 249 characters) fit in a gid, and two logs share a tag with
    /// probability 2^-64.
    /// </summary>
    public string Tag => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Id)))[..TagLength];

    /// <summary>The log's description and id, for messages.</summary>
    public override string ToString() => $"{Description} (log id {Id})";
}
