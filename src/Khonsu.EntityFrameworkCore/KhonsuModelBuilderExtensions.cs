using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Khonsu.EntityFrameworkCore;

/// <summary>Maps Khonsu's row-version column in an EF model.</summary>
public static class KhonsuModelBuilderExtensions
{
    /// <summary>
    /// Maps Khonsu's version column (default "version") as a shadow property that the database
    /// generates and EF uses as a concurrency token. Queries then select it, which lets Khonsu
    /// track each row a query reads on PostgreSQL (row-level read tracking needs the key and the
    /// version in the result), and updates check it as optimistic concurrency.
    /// </summary>
    public static EntityTypeBuilder HasKhonsuVersion(this EntityTypeBuilder entity, string column = "version")
    {
        ArgumentNullException.ThrowIfNull(entity);
        entity.Property<long>(column).HasColumnName(column).IsConcurrencyToken().ValueGeneratedOnAddOrUpdate();
        return entity;
    }
}
