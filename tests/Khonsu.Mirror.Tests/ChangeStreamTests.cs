using Apache.Arrow;
using Apache.Arrow.Types;
using Khonsu.Mirror.Changes;

namespace Khonsu.Mirror.Tests;

/// <summary>The commit log read as a change stream: commit order across backends, typed Arrow batches, only followed tables.</summary>
public sealed class ChangeStreamTests
{
    [Fact]
    public async Task Committed_transactions_on_both_backends_stream_in_commit_order_as_typed_batches_of_the_followed_tables()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.TransferAsync(connection, account: 1, wallet: 2, amount: 7);

            // One backend alone: a followed table's write must not commit in one phase, which logs nothing.
            await MirrorDatabases.ExecuteAsync(connection, null, "INSERT INTO wallets (id, owner, balance, score) VALUES (3, 'ed', 0, 2.5)");
            await MirrorDatabases.ExecuteAsync(connection, null, "DELETE FROM accounts WHERE id = 2");

            // Not followed: it never reaches the stream.
            await MirrorDatabases.ExecuteAsync(connection, null, "INSERT INTO orders VALUES (101, 1, 9)");
        }

        await using var stream = await KhonsuChangeStream.OpenAsync(databases.Followed);
        var groups = new List<ChangeGroup>();
        await foreach (var group in stream.ReadAsync(0))
        {
            groups.Add(group);
        }

        var group1 = Assert.Single(groups);
        Assert.Equal(3, group1.Transactions.Count);
        Assert.True(group1.Transactions[0].Position < group1.Transactions[1].Position && group1.Transactions[1].Position < group1.Transactions[2].Position);

        var wallets = Batch(group1, "shop", "wallets");
        Assert.Equal(["update", "insert"], Strings(wallets, ChangeColumns.Operation));
        Assert.Equal(["2", "3"], Strings(wallets, ChangeColumns.Key));
        Assert.IsType<Int64Type>(wallets.Schema.GetFieldByName("balance").DataType);
        Assert.IsType<StringType>(wallets.Schema.GetFieldByName("owner").DataType);
        Assert.IsType<DoubleType>(wallets.Schema.GetFieldByName("score").DataType);
        Assert.IsType<BooleanType>(wallets.Schema.GetFieldByName("active").DataType);
        Assert.Equal([1007L, 0L], ((Int64Array)wallets.Column("balance")).Values.ToArray());
        Assert.Equal(2.5, ((DoubleArray)wallets.Column("score")).GetValue(1));
        Assert.True(((BooleanArray)wallets.Column("active")).GetValue(1));
        Assert.Equal(["id"], ChangeGroup.KeyColumnsOf(wallets));

        var accounts = Batch(group1, "ledger", "accounts");
        Assert.Equal(["update", "delete"], Strings(accounts, ChangeColumns.Operation));
        Assert.Equal(93L, ((Int64Array)accounts.Column("balance")).GetValue(0));

        // The transfer's two rows carry one transaction id and one position: one cut.
        Assert.Equal(Strings(accounts, ChangeColumns.TransactionId)[0], Strings(wallets, ChangeColumns.TransactionId)[0]);
        Assert.Equal(((Int64Array)accounts.Column(ChangeColumns.Position)).GetValue(0), ((Int64Array)wallets.Column(ChangeColumns.Position)).GetValue(0));
        Assert.DoesNotContain(group1.Batches, b => ChangeGroup.TableOf(b) == "orders");
    }

    [Fact]
    public async Task A_table_no_mirror_follows_keeps_no_row_image_in_the_capture_table()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.ExecuteAsync(connection, null, "SELECT 1");
        }

        Assert.Equal("khonsu_capture", await databases.PostgresScalarAsync("SELECT string_agg(tgname, ',') FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND tgname LIKE 'khonsu_capture%'"));
        Assert.Equal("khonsu_capture_image", await databases.PostgresScalarAsync("SELECT string_agg(tgname, ',') FROM pg_trigger WHERE tgrelid = 'wallets'::regclass AND tgname LIKE 'khonsu_capture%'"));
    }

    [Fact]
    public async Task A_reader_behind_the_truncation_point_is_told_where_the_log_starts()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.TransferAsync(connection, account: 1, wallet: 1, amount: 1);
        }

        await databases.ClearPoolsAsync();
        await Khonsu.TestSupport.DirectSql.SqliteAsync(databases.LogPath, "INSERT INTO khonsu_log_truncated (position) VALUES (1)");
        await using var stream = await KhonsuChangeStream.OpenAsync(databases.Followed);
        var gap = await Assert.ThrowsAsync<ChangeStreamTruncatedException>(async () =>
        {
            await foreach (var group in stream.ReadAsync(0))
            {
            }
        });
        Assert.Equal(2, gap.FirstAvailable);
        Assert.Contains("build it again from the sources", gap.Message);
    }

    [Fact]
    public async Task A_row_written_before_its_table_was_followed_stops_the_stream_naming_table_and_position_instead_of_streaming_nulls()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var connection = await databases.OpenAsync(databases.ConnectionString()))
        {
            await MirrorDatabases.TransferAsync(connection, account: 1, wallet: 1, amount: 3);
        }

        await using var stream = await KhonsuChangeStream.OpenAsync(databases.Followed);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var group in stream.ReadAsync(0))
            {
            }
        });
        Assert.Matches(@"^The commit record at position \d+ holds a row of table 'wallets' of backend 'shop' without its image", error.Message);
    }

    private static RecordBatch Batch(ChangeGroup group, string backend, string table)
        => Assert.Single(group.Batches, b => ChangeGroup.BackendOf(b) == backend && ChangeGroup.TableOf(b) == table);

    private static string[] Strings(RecordBatch batch, string column)
    {
        var array = (StringArray)batch.Column(column);
        return Enumerable.Range(0, array.Length).Select(i => array.GetString(i)).ToArray();
    }
}
