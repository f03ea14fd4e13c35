using System.Diagnostics;
using System.Globalization;

namespace Khonsu.TestSupport;

/// <summary>
/// Runs tests/Khonsu.CrashChild, which commits one cross-backend transfer and stops at a step of
/// the commit protocol, and kills it there with SIGKILL: nothing of the child runs after that.
/// </summary>
public static class CrashChild
{
    /// <returns>The id of the transaction the child was committing.</returns>
    public static async Task<string> KillAtAsync(string connectionString, string step, int occurrence, int amount)
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

        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        string? transactionId = null;
        while (await child.StandardOutput.ReadLineAsync() is { } line)
        {
            var parts = line.Split(' ');
            if (parts[0] == "AT")
            {
                transactionId = parts[2];
                child.Kill(entireProcessTree: true);
                break;
            }
        }

        await child.WaitForExitAsync();
        return transactionId ?? throw new InvalidOperationException($"The child never reached {step} #{occurrence}: {await stderr}");
    }
}
