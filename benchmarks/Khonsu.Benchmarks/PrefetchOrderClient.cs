using Khonsu.Data;

namespace Khonsu.Benchmarks;

/// <summary>
/// The N+1 read transaction an ORM makes of an order page: the order, its lines and its customer,
/// then the stock of each line, one statement each, in one serializable transaction. Orders and
/// lines are in SQLite, customers and stock in PostgreSQL (see <see cref="PrefetchSection"/>).
/// </summary>
internal sealed class PrefetchOrderClient(KhonsuConnection connection, int orders) : ILoadClient
{
    public const string OrderById = "SELECT id, customer_id FROM orders WHERE id = @id";
    public const string LinesOfOrder = "SELECT id, product_id, qty FROM order_lines WHERE order_id = @id";
    public const string CustomerById = "SELECT id, name FROM customers WHERE id = @id";
    public const string StockOfProduct = "SELECT product_id, qty FROM stock WHERE product_id = @id";

    public static async Task<ILoadClient> ConnectAsync(string connectionString, int orders, CancellationToken cancellationToken)
    {
        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new PrefetchOrderClient(connection, orders);
    }

    public async Task RunOnceAsync(Random random, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var order = await ReadAsync(OrderById, random.Next(1, orders + 1), cancellationToken);
        var lines = await ReadAsync(LinesOfOrder, order[0][0], cancellationToken);
        await ReadAsync(CustomerById, order[0][1], cancellationToken);
        foreach (var line in lines)
        {
            await ReadAsync(StockOfProduct, line[1], cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();

    private async Task<List<object[]>> ReadAsync(string sql, object id, CancellationToken cancellationToken)
    {
        await using var command = new KhonsuCommand(sql, connection);
        command.Parameters.Add(new KhonsuParameter("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<object[]>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(values);
        }

        return rows;
    }
}
