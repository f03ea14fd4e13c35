// An application process sharing a Kafka commit log and the same databases with others.
//   work <connection string> <transactions per worker> <workers> <first order id> <accounts>
//     Runs transfers (SQLite accounts -1, PostgreSQL orders +1 row) on <workers> connections at
//     once, printing "OUTCOME <tx id> <order id> COMMIT|ABORT". Then prints "DONE" and waits for a
//     line on stdin (the test has every process done by then), prints "VIEW <tx id> COMMIT|ABORT"
//     for every transaction in its own reading of the log, and "END".
//   crash <connection string> <CommitStep> <occurrence> <amount>
//     Commits one transfer and stops dead at that step of the commit protocol ("AT <step> <tx id>"),
//     waiting to be killed with SIGKILL.
using System.Data.Common;
using System.Globalization;
using Khonsu.Data;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;

var output = new Lock();
void Say(string line)
{
    lock (output)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }
}

static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

if (args[0] == "work")
{
    var (connectionString, count, workers, firstOrder, accounts) = (args[1], Int(args[2]), Int(args[3]), Int(args[4]), Int(args[5]));
    await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
    {
        await using var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync();
        for (var i = 0; i < count; i++)
        {
            var order = firstOrder + (worker * count) + i;
            var account = (order % accounts) + 1;
            var transaction = await connection.BeginTransactionAsync();
            var id = ((KhonsuTransaction)transaction).TransactionId;
            try
            {
                await Execute(connection, $"UPDATE accounts SET balance = balance - 1 WHERE id = {account}");
                await Execute(connection, $"INSERT INTO orders (id, account_id, amount) VALUES ({order}, {account}, 1)");
                await transaction.CommitAsync();
                Say($"OUTCOME {id} {order} COMMIT");
            }
            catch (DbException error)
            {
                Say($"OUTCOME {id} {order} ABORT {error.GetType().Name}");
                await transaction.DisposeAsync();
            }
        }
    })));

    Say("DONE");
    await Console.In.ReadLineAsync();
    await using var viewer = new KhonsuConnection(connectionString);
    await viewer.OpenAsync();
    var log = viewer.Runtime.Log;
    var seen = new HashSet<Khonsu.Engine.TransactionId>();
    await foreach (var logged in log.ReadFromAsync(LogPosition.Start))
    {
        if (seen.Add(logged.Record.TransactionId))
        {
            var decision = await log.GetDecisionAsync(logged.Record.TransactionId);
            Say($"VIEW {logged.Record.TransactionId} {decision?.Record.Kind.ToString().ToUpperInvariant() ?? "NONE"}");
        }
    }

    Say("END");
    return 0;
}

if (args[0] == "crash")
{
    var (connectionString, step, occurrence, amount) = (args[1], Enum.Parse<CommitStep>(args[2]), Int(args[3]), Int(args[4]));
    await using var connection = new KhonsuConnection(connectionString);
    await connection.OpenAsync();
    var seen = 0;
    var never = new TaskCompletionSource();
    connection.Runtime.Coordinator.StepObserver = async (reached, transactionId) =>
    {
        if (reached == step && ++seen == occurrence)
        {
            Say($"AT {reached} {transactionId}");
            await never.Task; // the test kills this process here
        }
    };

    await using var transaction = await connection.BeginTransactionAsync();
    await Execute(connection, $"UPDATE accounts SET balance = balance - {amount} WHERE id = 1");
    await Execute(connection, $"INSERT INTO orders (id, account_id, amount) VALUES ({1000 + amount}, 1, {amount})");
    await transaction.CommitAsync();
    Say($"DONE {((KhonsuTransaction)transaction).TransactionId}");
    return 0;
}

await Console.Error.WriteLineAsync("usage: work ... | crash ... (see Program.cs)");
return 2;

static async Task Execute(KhonsuConnection connection, string sql)
{
    await using var command = connection.CreateCommand();
    command.CommandText = sql;
    await command.ExecuteNonQueryAsync();
}
