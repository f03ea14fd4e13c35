using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// For a context set up with <c>UseKhonsu(dataSource, backend)</c>, which owns its Khonsu connection:
/// disposed with the context (a service of the context's own scope in EF's service provider, which
/// EF creates with the context's interceptors), it disposes that connection. EF's own ownership of a
/// connection (<c>contextOwnsConnection</c>) would not do: EF then closes the provider connection
/// directly, behind Khonsu's back, which inside a TransactionScope is the connection the scope's
/// Khonsu transaction runs on.
/// </summary>
internal sealed class OwnedConnectionDisposal(IDbContextOptions options) : IInterceptor, IDisposable, IAsyncDisposable
{
    public void Dispose() => options.FindExtension<OwnedConnectionExtension>()?.Connection.Dispose();

    public ValueTask DisposeAsync() => options.FindExtension<OwnedConnectionExtension>()?.Connection.DisposeAsync() ?? ValueTask.CompletedTask;
}
