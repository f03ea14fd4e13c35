using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// The embedded log's exclusive lock: an OS lock on a sidecar file (<c>&lt;log&gt;.lock</c>), held
/// for as long as the log is open, which the kernel drops when the process dies, however it dies
/// (SIGKILL included): nothing is ever left to clean up, and the file itself carries no state (a
/// lock file that exists is not a lock; only a live process's open handle is).
/// </summary>
/// <remarks>
/// Why a sidecar file and flock(2): SQLite locks the log file itself with POSIX record locks,
/// which a process loses when it closes any descriptor of that file, so Khonsu must not open the
/// log file a second time. flock locks belong to the open file description: a second open, in
/// another process or in this one, cannot take it, and children do not inherit it (.NET opens
/// files close-on-exec). The file is opened with <see cref="FileShare.None"/>, which is .NET's own
/// flock(LOCK_EX | LOCK_NB) on Unix and a sharing lock on Windows; on Unix flock is then also
/// called directly, because .NET skips its lock when told to (DOTNET_SYSTEM_IO_DISABLEFILELOCKING)
/// and ignores flock errors, where Khonsu would rather refuse to run unlocked.
/// </remarks>
internal sealed partial class LogFileLock : IDisposable
{
    private const int LockExclusive = 2; // LOCK_EX
    private const int LockNonBlocking = 4; // LOCK_NB

    // Lock files this process holds: a second runtime naming the same log gets its own message.
    private static readonly ConcurrentDictionary<string, byte> HeldHere = new(StringComparer.Ordinal);

    private readonly FileStream _file;
    private int _released;

    private LogFileLock(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    /// <summary>The lock file: the log's path with ".lock" after it.</summary>
    public string Path { get; }

    public static string PathFor(string logPath) => logPath + ".lock";

    /// <summary>Takes the lock, or says who has it: this process (<see cref="LockResult.HeldInThisProcess"/>) or another one.</summary>
    /// <exception cref="IOException">The lock file cannot be created or locked for another reason (the message says which).</exception>
    public static LockResult TryAcquire(string logPath)
    {
        var path = PathFor(logPath);
        if (!HeldHere.TryAdd(path, 0))
        {
            return LockResult.HeldInThisProcess;
        }

        FileStream? file = null;
        try
        {
            try
            {
                file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.None);
            }
            catch (IOException error) when (IsHeldElsewhere(error))
            {
                HeldHere.TryRemove(path, out _);
                return LockResult.HeldByAnotherProcess;
            }

            if (!OperatingSystem.IsWindows() && !LockExclusively(file.SafeFileHandle, path))
            {
                file.Dispose();
                HeldHere.TryRemove(path, out _);
                return LockResult.HeldByAnotherProcess;
            }

            return new LockResult(new LogFileLock(path, file));
        }
        catch
        {
            file?.Dispose();
            HeldHere.TryRemove(path, out _);
            throw;
        }
    }

    /// <summary>Releases the lock (closing the file is what releases it).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        _file.Dispose();
        HeldHere.TryRemove(Path, out _);
    }

    /// <summary>flock(LOCK_EX | LOCK_NB); false when another open file description holds it.</summary>
    private static bool LockExclusively(SafeFileHandle handle, string path)
    {
        var descriptor = (int)handle.DangerousGetHandle();
        while (Flock(descriptor, LockExclusive | LockNonBlocking) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == WouldBlock)
            {
                return false;
            }

            if (errno != Interrupted)
            {
                // ENOLCK, ENOTSUP...: a file system that cannot lock. Refuse rather than run unprotected.
                throw new IOException($"Cannot lock the commit log's lock file '{path}': flock failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}); put the log on a local file system.");
            }
        }

        return true;
    }

    /// <summary>.NET's own lock failed because another handle holds it (a sharing violation), not for any other reason.</summary>
    private static bool IsHeldElsewhere(IOException error)
        => error.GetType() == typeof(IOException)
           && (OperatingSystem.IsWindows()
               ? error.HResult is SharingViolation or LockViolation
               : error.HResult == WouldBlock);

    // .NET reports a Unix I/O error with the errno as HResult: EWOULDBLOCK is 11 on Linux, 35 on macOS and the BSDs.
    private static int WouldBlock => OperatingSystem.IsLinux() ? 11 : 35;

    private const int Interrupted = 4; // EINTR, on Linux, macOS and the BSDs alike
    private const int SharingViolation = unchecked((int)0x80070020); // HRESULT of ERROR_SHARING_VIOLATION
    private const int LockViolation = unchecked((int)0x80070021); // HRESULT of ERROR_LOCK_VIOLATION

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int descriptor, int operation);

    /// <summary>The lock, or who holds it.</summary>
    public readonly record struct LockResult(LogFileLock? Lock, bool InThisProcess = false)
    {
        public static LockResult HeldInThisProcess => new(null, InThisProcess: true);

        public static LockResult HeldByAnotherProcess => new(null);
    }
}
