using Khonsu.Data.Backends;

namespace Khonsu.Data.Postgres;

/// <summary>
/// A PostgreSQL backend's catalog, plus what row tracking needs: which table OID a result column
/// comes from, and the attribute numbers of each table's key and version columns.
/// </summary>
internal sealed record PostgresCatalog(BackendCatalog Catalog, IReadOnlyDictionary<uint, PostgresTableKey> TablesByOid);

/// <summary>A tracked table's key and version columns, by attribute number (as result metadata gives them).</summary>
internal sealed record PostgresTableKey(TableInfo Table, short[] KeyAttributes, short VersionAttribute);
