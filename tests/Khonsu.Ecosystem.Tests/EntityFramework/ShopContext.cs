using Khonsu.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>The PostgreSQL backend's model.</summary>
public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var order = modelBuilder.Entity<Order>();
        order.ToTable("orders");
        order.Property(o => o.Id).HasColumnName("id").ValueGeneratedNever();
        order.Property(o => o.AccountId).HasColumnName("account_id");
        order.Property(o => o.Amount).HasColumnName("amount");
        order.HasKhonsuVersion();
    }
}
