// A process that commits one cross-backend transaction and stops dead at a chosen step of the
// commit protocol, so that a test can kill it there with SIGKILL and check recovery.
// Usage: Khonsu.CrashChild <connection string> <CommitStep> <occurrence> <amount> [<extra statement>]
// (the extra statement runs in the transaction after its two writes, e.g. to hold a row lock).
// It prints "AT <step> <tx id>" when it reaches the step, then waits to be killed; it prints
// "DONE <tx id>" if the step never comes.
// With KHONSU_CRASH_CHILD_SCOPE=1 it makes the same writes in a TransactionScope, on a connection it
// closes before completing the scope, and the scope's Dispose commits them.
using System.Transactions;
using Khonsu.Data;
using Khonsu.Engine.Coordination;

var (connectionString, step, occurrence, amount) = (args[0], Enum.Parse<CommitStep>(args[1]), int.Parse(args[2]), int.Parse(args[3]));
var extraStatement = args.Length > 4 ? args[4] : null;
await using var connection = new KhonsuConnection(connectionString);
await connection.OpenAsync();

var seen = 0;
var stopped = new TaskCompletionSource();
connection.Runtime.Coordinator.StepObserver = async (reached, transactionId) =>
{
    if (reached == step && ++seen == occurrence)
    {
        Console.WriteLine($"AT {reached} {transactionId}");
        await Console.Out.FlushAsync();
        await stopped.Task; // never completes: the test kills this process here
    }
};

if (Environment.GetEnvironmentVariable("KHONSU_CRASH_CHILD_SCOPE") == "1")
{
    using (var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
    {
        await using (var enlisted = new KhonsuConnection(connectionString))
        {
            await enlisted.OpenAsync();
            await Execute(enlisted, $"UPDATE accounts SET balance = balance - {amount} WHERE id = 1");
            await Execute(enlisted, $"INSERT INTO orders (id, account_id, amount) VALUES ({1000 + amount}, 1, {amount})");
        }

        scope.Complete();
    }

    Console.WriteLine("DONE scope");
    return;
}

await using var transaction = await connection.BeginTransactionAsync();
await Execute(connection, $"UPDATE accounts SET balance = balance - {amount} WHERE id = 1");
await Execute(connection, $"INSERT INTO orders (id, account_id, amount) VALUES ({1000 + amount}, 1, {amount})");
if (extraStatement is not null)
{
    await Execute(connection, extraStatement);
}

Console.WriteLine($"BEGIN {transaction.TransactionId}");
await transaction.CommitAsync();
Console.WriteLine($"DONE {transaction.TransactionId}");

static async Task Execute(KhonsuConnection connection, string sql)
{
    await using var command = connection.CreateCommand();
    command.CommandText = sql;
    await command.ExecuteNonQueryAsync();
}
