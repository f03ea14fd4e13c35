using Khonsu.Data.Backends;
using Khonsu.Data.Routing;
using Khonsu.Engine;

namespace Khonsu.Data.Configuration;

/// <summary>
/// The write-write conflict policy of each table, checked against the backends' catalogs when the
/// runtime opens: a policy for a table no backend has, or one the table's backend cannot honour,
/// is a configuration error then, not a surprise at the first conflict.
/// </summary>
internal sealed class ConflictPolicies
{
    private readonly Dictionary<ItemId, KhonsuConflictPolicy> _byTable;

    private ConflictPolicies(Dictionary<ItemId, KhonsuConflictPolicy> byTable)
    {
        _byTable = byTable;
        LastWriterWinsTables = [.. byTable.Where(p => p.Value == KhonsuConflictPolicy.Replace).Select(p => p.Key)];
    }

    /// <summary>Tables with the Replace policy, as certifier items (see <see cref="Engine.Coordination.TransactionInfo.LastWriterWinsTables"/>).</summary>
    public IReadOnlyCollection<ItemId> LastWriterWinsTables { get; }

    /// <summary>Parses the value of key <paramref name="key"/> (<c>Conflict.&lt;table&gt;</c>).</summary>
    public static KhonsuConflictPolicy Parse(string key, string value)
    {
        if (key.Length <= "Conflict.".Length)
        {
            throw new KhonsuException("Key 'Conflict.' names no table: write Conflict.<table>=Fail|Ignore|Replace|Append.");
        }

        if (!Enum.TryParse<KhonsuConflictPolicy>(value.Trim(), ignoreCase: true, out var policy) || !Enum.IsDefined(policy) || value.Trim().All(char.IsDigit))
        {
            throw new KhonsuException($"Key '{key}' must be Fail, Ignore, Replace or Append.");
        }

        return policy;
    }

    /// <summary>Resolves each configured table to the one backend that owns it, as the router would.</summary>
    public static ConflictPolicies Resolve(KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends, TableMap tables)
    {
        var byTable = new Dictionary<ItemId, KhonsuConflictPolicy>();
        foreach (var (table, policy) in settings.ConflictPolicies)
        {
            var key = $"Conflict.{table}";
            var owner = Owner(settings, backends, tables, table, key);
            if (policy == KhonsuConflictPolicy.Ignore && !owner.ResolvesWriteConflicts)
            {
                throw new KhonsuException(
                    $"Key '{key}': backend '{owner.Name}' ({owner.Kind}) cannot Ignore a conflicting write: it reports a stale snapshot for the whole database, not a row, " +
                    "so Khonsu cannot tell which write lost and drop only that one. Use Fail or Replace.");
            }

            if (policy == KhonsuConflictPolicy.Append)
            {
                CheckAppend(key, owner, tables, table);
            }

            byTable[ItemId.Of(owner.Name, table)] = policy;
        }

        return new ConflictPolicies(byTable);
    }

    /// <summary>
    /// The policy of a statement's tables: the one they share, or Fail when they differ (a
    /// conflict PostgreSQL reports does not say which table it was on).
    /// </summary>
    public KhonsuConflictPolicy PolicyOf(RouteDecision route)
    {
        KhonsuConflictPolicy? shared = null;
        foreach (var table in route.Tables)
        {
            var policy = _byTable.GetValueOrDefault(ItemId.Of(route.Backend.Name, table));
            if (shared is not null && shared != policy)
            {
                return KhonsuConflictPolicy.Fail;
            }

            shared = policy;
        }

        return shared ?? KhonsuConflictPolicy.Fail;
    }

    /// <summary>Append gives a conflicting insert a new key: the table's key must be one the database generates, on a backend that reports the duplicate on the statement.</summary>
    private static void CheckAppend(string key, KhonsuBackend owner, TableMap tables, string table)
    {
        if (!owner.ResolvesWriteConflicts)
        {
            throw new KhonsuException(
                $"Key '{key}': backend '{owner.Name}' ({owner.Kind}) cannot Append: it reports a stale snapshot for the whole database, not a duplicate key, " +
                "and cannot give a row being inserted a new key. Use Fail or Replace.");
        }

        var info = tables.TableOf(owner, Reference(table))
            ?? throw new KhonsuException(
                $"Key '{key}': backend '{owner.Name}' has no table '{table}', or several of that name in different schemas: name the table as <schema>.<table>.");
        if (!info.KeyIsGenerated)
        {
            throw new KhonsuException(
                $"Key '{key}': table '{table}' on backend '{owner.Name}' cannot Append: its primary key ({(info.KeyColumns.Count == 0 ? "none" : string.Join(", ", info.KeyColumns))}) " +
                "is not one column the database generates (an identity column, or a default of nextval(...) or gen_random_uuid()), so a conflicting insert has no new key to take. Use Fail, Ignore or Replace.");
        }
    }

    private static TableReference Reference(string table)
    {
        var dot = table.LastIndexOf('.');
        return new TableReference(dot > 0 ? table[..dot] : null, dot > 0 ? table[(dot + 1)..] : table, Quoted: false);
    }

    private static KhonsuBackend Owner(KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends, TableMap tables, string table, string key)
    {
        if (settings.Routes.TryGetValue(table, out var routed))
        {
            return backends.First(b => b.Name.Equals(routed, StringComparison.OrdinalIgnoreCase));
        }

        var owners = tables.OwnersOf(Reference(table));
        return owners.Count switch
        {
            1 => owners[0],
            0 => throw new KhonsuException(
                $"Key '{key}': no backend has a table '{table}' (looked in {string.Join(", ", backends.Select(b => $"'{b.Name}'"))}). Create the table first, or fix the name."),
            _ => throw new KhonsuException(
                $"Key '{key}': table '{table}' exists in backends {string.Join(" and ", owners.Select(o => $"'{o.Name}'"))}: add Route.{table}=<backend> to say which one."),
        };
    }
}
