using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Khonsu.EntityFrameworkCore;

/// <summary>Maps Khonsu's row-version column in an EF model.</summary>
public static class KhonsuModelBuilderExtensions
{
    /// <summary>
    /// Maps Khonsu's version column (default "version") as a shadow property that the database
    /// generates. Queries then select it, which lets Khonsu track each row a query reads on
    /// PostgreSQL (row-level read tracking needs the key and the version in the result; without
    /// it a query's rows are not validated at commit there). It is deliberately not a concurrency
    /// token: Khonsu validates reads and writes at commit itself, and on SQLite the version is
    /// bumped by an AFTER trigger, so the value RETURNING hands EF after an update is the old one.
    /// </summary>
    public static EntityTypeBuilder HasKhonsuVersion(this EntityTypeBuilder entity, string column = "version")
    {
        ArgumentNullException.ThrowIfNull(entity);
        entity.Property<long>(column).HasColumnName(column).ValueGeneratedOnAddOrUpdate();
        return entity;
    }
}
