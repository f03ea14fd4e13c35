// Khonsu sample: concurrent money transfers between two databases, with Dapper.
//
//   dotnet run --project samples/MoneyTransfer                      two SQLite files (the embedded default)
//   dotnet run --project samples/MoneyTransfer -- "Host=...;..."    checking in SQLite, savings in PostgreSQL
//   dotnet run --project samples/MoneyTransfer -- --workers 32      more concurrent workers (default 8)
//
// Every transfer debits an account in one database and credits an account in the other, in one
// Khonsu transaction: both happen or neither does, so the total money never changes.
using System.Diagnostics;
using Dapper;
using Khonsu.Data;
using Microsoft.Data.Sqlite;

const int Accounts = 10;
const int OpeningBalance = 1_000;
const int Transfers = 400;

var workers = 8;
string? postgres = Environment.GetEnvironmentVariable("KHONSU_SAMPLE_POSTGRES");
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--workers" && i + 1 < args.Length && int.TryParse(args[i + 1], out var count) && count > 0)
    {
        workers = count;
        i++;
    }
    else if (args[i].StartsWith('-'))
    {
        Console.Error.WriteLine($"unknown option '{args[i]}': the sample takes a PostgreSQL connection string and --workers <count>");
        return 2;
    }
    else
    {
        postgres = args[i];
    }
}

var transfersPerWorker = Math.Max(1, Transfers / workers);
var dataDirectory = Path.GetFullPath("sample-data");
Directory.CreateDirectory(dataDirectory);
var logPath = Path.Combine(dataDirectory, "khonsu-log.db");
var savingsBackend = postgres is null
    ? $"Sqlite.vault=\"Data Source={Path.Combine(dataDirectory, "vault.db")}\""
    : $"Postgres.vault=\"{postgres}\"";
// Route.* says where tables that do not exist yet are to be created.
var connectionString = $"Khonsu:Sqlite.bank=\"Data Source={Path.Combine(dataDirectory, "bank.db")}\";{savingsBackend};Log=\"{logPath}\";Route.checking=bank;Route.savings=vault";

Console.WriteLine("Khonsu money-transfer sample");
Console.WriteLine($"  checking accounts: SQLite {Path.Combine(dataDirectory, "bank.db")}");
Console.WriteLine($"  savings accounts:  {(postgres is null ? "SQLite " + Path.Combine(dataDirectory, "vault.db") : "PostgreSQL")}");
Console.WriteLine($"  commit log and transaction_log: {logPath}");

await using (var setup = new KhonsuConnection(connectionString))
{
    await setup.OpenAsync();
    await CreateAccountsAsync(setup, "checking");
    await CreateAccountsAsync(setup, "savings");
}

var before = await TotalAsync(connectionString);
Console.WriteLine($"total before: {before}");

var stopwatch = Stopwatch.StartNew();
var outcomes = await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => RunWorkerAsync(connectionString, worker, transfersPerWorker)));
stopwatch.Stop();

var committed = outcomes.Sum(o => o.Committed);
var retries = outcomes.Sum(o => o.Retries);
var declined = outcomes.Sum(o => o.Declined);
Console.WriteLine($"ran {workers * transfersPerWorker} transfers on {workers} workers in {stopwatch.Elapsed.TotalSeconds:0.0} s: {committed} committed, {declined} declined (insufficient funds), {retries} retried after a serialization conflict");

var after = await TotalAsync(connectionString);
Console.WriteLine($"total after:  {after}   {(after == before ? "invariant holds: no money created or lost" : "INVARIANT BROKEN")}");

await using (var log = new SqliteConnection($"Data Source={logPath};Mode=ReadOnly"))
{
    Console.WriteLine("transaction_log (as a DBA sees it with: sqlite3 sample-data/khonsu-log.db \"SELECT ... FROM transaction_log\"):");
    foreach (var row in await log.QueryAsync<(string Participant, string Status, long Count)>(
        "SELECT participant, status, count(*) FROM transaction_log GROUP BY participant, status ORDER BY participant, status"))
    {
        Console.WriteLine($"  {row.Participant,-8} {row.Status,-10} {row.Count,6} rows");
    }

    foreach (var row in await log.QueryAsync<(string TxId, string Participant, string Status, string DecidedAt, string Operation)>(
        "SELECT tx_id, participant, status, decided_at, operation FROM transaction_log ORDER BY decided_at DESC LIMIT 2"))
    {
        Console.WriteLine($"  latest: {row.TxId} {row.Participant} {row.Status} decided {row.DecidedAt}");
        Console.WriteLine($"          {row.Operation}");
    }
}

return after == before ? 0 : 1;

static async Task CreateAccountsAsync(KhonsuConnection connection, string table)
{
    // Plain SQL that both SQLite and PostgreSQL accept; Khonsu adds the version column and triggers.
    await connection.ExecuteAsync($"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL)");
    for (var id = 1; id <= Accounts; id++)
    {
        await connection.ExecuteAsync(
            $"INSERT INTO {table} (id, owner, balance) SELECT @id, @owner, @balance WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE id = @id)",
            new { id, owner = $"{table}-{id}", balance = OpeningBalance });
    }
}

static async Task<long> TotalAsync(string connectionString)
{
    await using var connection = new KhonsuConnection(connectionString);
    await connection.OpenAsync();
    await using var transaction = await connection.BeginTransactionAsync();
    var checking = await connection.ExecuteScalarAsync<long>("SELECT coalesce(sum(balance), 0) FROM checking", transaction: transaction);
    var savings = await connection.ExecuteScalarAsync<long>("SELECT coalesce(sum(balance), 0) FROM savings", transaction: transaction);
    await transaction.CommitAsync();
    return checking + savings;
}

static async Task<(int Committed, int Declined, int Retries)> RunWorkerAsync(string connectionString, int worker, int transfers)
{
    var random = new Random(worker);
    var (committed, declined, attempts) = (0, 0, 0);
    await using var connection = new KhonsuConnection(connectionString);
    await connection.OpenAsync();
    for (var i = 0; i < transfers; i++)
    {
        var (from, to) = random.Next(2) == 0 ? ("checking", "savings") : ("savings", "checking");
        var (debit, credit, amount) = (random.Next(1, Accounts + 1), random.Next(1, Accounts + 1), random.Next(1, 200));

        // The whole transfer is retried after a serialization conflict, with backoff; never half done.
        var moved = await connection.RunInTransactionAsync(async (transaction, token) =>
        {
            attempts++;

            // Debit only if the money is there: one statement, no read-then-write race.
            var debited = await connection.ExecuteAsync($"UPDATE {from} SET balance = balance - @amount WHERE id = @id AND balance >= @amount", new { amount, id = debit }, transaction);
            if (debited == 0)
            {
                return false;
            }

            await connection.ExecuteAsync($"UPDATE {to} SET balance = balance + @amount WHERE id = @id", new { amount, id = credit }, transaction);
            return true;
        });

        (committed, declined) = moved ? (committed + 1, declined) : (committed, declined + 1);
    }

    return (committed, declined, attempts - transfers);
}
