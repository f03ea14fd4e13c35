using Khonsu.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>The SQLite backend's model.</summary>
public sealed class LedgerContext(DbContextOptions<LedgerContext> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var account = modelBuilder.Entity<Account>();
        account.ToTable("accounts");
        account.Property(a => a.Id).HasColumnName("id").ValueGeneratedNever();
        account.Property(a => a.Owner).HasColumnName("owner");
        account.Property(a => a.Balance).HasColumnName("balance");
        account.HasKhonsuVersion();
    }
}
