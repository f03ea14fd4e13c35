using Khonsu.Data;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// The Khonsu connection a context's options opened for it (<c>UseKhonsu(dataSource, backend)</c>),
/// and the service that disposes it with the context (<see cref="OwnedConnectionDisposal"/>). Every
/// context with one shares EF's service provider: the connection is read from each context's options.
/// </summary>
internal sealed class OwnedConnectionExtension(KhonsuConnection connection) : IDbContextOptionsExtension
{
    private DbContextOptionsExtensionInfo? _info;

    public KhonsuConnection Connection => connection;

    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    public void ApplyServices(IServiceCollection services) => services.AddScoped<IInterceptor, OwnedConnectionDisposal>();

    public void Validate(IDbContextOptions options)
    {
    }

    private sealed class ExtensionInfo(IDbContextOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        public override bool IsDatabaseProvider => false;

        public override string LogFragment => "OwnsKhonsuConnection ";

        public override int GetServiceProviderHashCode() => 0;

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) => other is ExtensionInfo;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo) => debugInfo["Khonsu:OwnsConnection"] = "1";
    }
}
