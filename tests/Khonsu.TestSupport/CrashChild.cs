using System.Diagnostics;
using System.Globalization;
using Khonsu.Testing;

namespace Khonsu.TestSupport;

/// <summary>
/// Runs tests/Khonsu.CrashChild, which commits one cross-backend transfer and stops at a step of
/// the commit protocol, and kills it there with SIGKILL: nothing of the child runs after that.
/// </summary>
public static class CrashChild
{
    /// <returns>The id of the transaction the child was committing.</returns>
    /// <param name="inTransactionScope">The child writes in a TransactionScope, which commits when it is disposed after Complete().</param>
    public static async Task<string> KillAtAsync(string connectionString, string step, int occurrence, int amount, string? extraStatement = null, bool inTransactionScope = false)
    {
        await using var child = await StopAtAsync(connectionString, step, occurrence, amount, extraStatement, inTransactionScope);
        await child.KillAsync();
        return child.TransactionId;
    }

    /// <summary>
    /// Starts the child and returns once it stands still at <paramref name="step"/>, alive: it
    /// holds its runtime (its log, its prepared transactions) until <see cref="StoppedChild.KillAsync"/>.
    /// </summary>
    /// <param name="extraStatement">A statement the transaction runs after its two writes (e.g. an UPDATE of a row it should keep locked).</param>
    /// <param name="inTransactionScope">The child writes in a TransactionScope, which commits when it is disposed after Complete().</param>
    public static async Task<StoppedChild> StopAtAsync(string connectionString, string step, int occurrence, int amount, string? extraStatement = null, bool inTransactionScope = false)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Built.Path("tests", "Khonsu.CrashChild", "Khonsu.CrashChild.dll"));
        start.ArgumentList.Add(connectionString);
        start.ArgumentList.Add(step);
        start.ArgumentList.Add(occurrence.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(amount.ToString(CultureInfo.InvariantCulture));
        if (extraStatement is not null)
        {
            start.ArgumentList.Add(extraStatement);
        }

        if (inTransactionScope)
        {
            start.Environment["KHONSU_CRASH_CHILD_SCOPE"] = "1";
        }

        var child = Process.Start(start)!;
        try
        {
            var stderr = child.StandardError.ReadToEndAsync();
            while (await child.StandardOutput.ReadLineAsync() is { } line)
            {
                var parts = line.Split(' ');
                if (parts[0] == "AT")
                {
                    return new StoppedChild(child, parts[2]);
                }
            }

            await child.WaitForExitAsync();
            throw new InvalidOperationException($"The child never reached {step} #{occurrence}: {await stderr}");
        }
        catch
        {
            child.Kill(entireProcessTree: true);
            child.Dispose();
            throw;
        }
    }
}
