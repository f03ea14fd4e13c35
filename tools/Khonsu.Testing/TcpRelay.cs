using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Khonsu.Testing;

/// <summary>
/// A TCP relay in front of a server (PostgreSQL in practice) that clients reach on 127.0.0.1 at
/// <see cref="Port"/> instead. It watches the wire for the benchmarks and the tests alike:
/// <list type="bullet">
/// <item><see cref="RoundTrips"/> counts round trips per connection: one begins each time the
/// client sends after the server has answered, however many segments either side's message takes
/// and whatever the messages are, so the count is the provider's, not a guess from its API.</item>
/// <item><see cref="Delay"/> holds every segment, each way, that long before passing it on: a
/// network's latency, with segments in flight overlapping as on a wire (<see cref="DelayLine"/>).</item>
/// <item><see cref="DropReplies"/> makes the next reply close the client's connection instead of
/// reaching it: the request still reaches the server and runs, as when a network fails right after
/// a COMMIT was sent.</item>
/// </list>
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Connection> _connections = [];
    private readonly Task _accepting;
    private volatile bool _dropReplies;
    private long _delayTicks;
    private DelayLine? _delayLine;

    /// <summary>Listens on a free loopback port and relays every connection to <paramref name="host"/>:<paramref name="port"/>.</summary>
    public TcpRelay(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        (_host, _port) = (host, port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>
    /// How long each segment is held, each way, before it is passed on; zero (the default) passes it
    /// at once. Change it while no traffic flows: segments already held keep their time.
    /// </summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            if (value > TimeSpan.Zero)
            {
                Interlocked.CompareExchange(ref _delayLine, new DelayLine(), null);
            }

            Interlocked.Exchange(ref _delayTicks, value.Ticks);
        }
    }

    /// <summary>The loopback port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Round trips so far, over every connection that went through the relay.</summary>
    public long RoundTrips => _connections.Sum(c => Interlocked.Read(ref c.RoundTrips));

    /// <summary>From now on, a reply from the server closes the client's connection instead of reaching it.</summary>
    public void DropReplies() => _dropReplies = true;

    /// <summary>Relays replies again (dropped connections stay closed).</summary>
    public void RelayReplies() => _dropReplies = false;

    /// <summary>Stops listening, closes every relayed connection and waits for the relay to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        await Task.WhenAll(_connections.Select(c => c.Running));
        _delayLine?.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var server = new TcpClient { NoDelay = true };
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
                client.NoDelay = true;
                await server.ConnectAsync(_host, _port, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                server.Dispose();
                return;
            }

            var connection = new Connection(this, client, server);
            _connections.Add(connection);
            connection.Running = connection.RunAsync(_stop.Token);
        }
    }

    private sealed class Connection(TcpRelay relay, TcpClient client, TcpClient server) : IDisposable
    {
        public long RoundTrips;
        public Task Running = Task.CompletedTask;

        // Whether the server has sent anything since the client last did: the next client bytes start a round trip.
        private volatile bool _answered = true;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                await Task.WhenAll(
                    PumpAsync(client.GetStream(), server.GetStream(), fromClient: true, cancellationToken),
                    PumpAsync(server.GetStream(), client.GetStream(), fromClient: false, cancellationToken));
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // One side closed, a reply was dropped, or the relay is stopping: the other side is closed with it.
            }
            finally
            {
                Dispose();
            }
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, bool fromClient, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var read = await from.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    if (relay._delayLine is { } held && relay.Delay is { Ticks: > 0 } last)
                    {
                        held.Post(to, [], last); // the end, after what is still held
                    }
                    else
                    {
                        to.Socket.Shutdown(SocketShutdown.Send);
                    }

                    return;
                }

                if (fromClient && _answered)
                {
                    _answered = false;
                    Interlocked.Increment(ref RoundTrips);
                }
                else if (!fromClient)
                {
                    if (relay._dropReplies)
                    {
                        Dispose(); // the client never sees this reply
                        return;
                    }

                    _answered = true;
                }

                if (relay._delayLine is { } line && relay.Delay is { Ticks: > 0 } delay)
                {
                    line.Post(to, buffer.AsSpan(0, read), delay);
                }
                else
                {
                    await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
        }

        public void Dispose()
        {
            client.Dispose();
            server.Dispose();
        }
    }

    /// <summary>
    /// Passes held segments on at their time, in the order they came, from a thread of its own that
    /// sleeps with the kernel's high-resolution timer (the runtime's timers and Task.Delay resolve
    /// whole milliseconds at best, which a 0.5 ms delay cannot use). Every segment is held the same
    /// time, so the first in the queue is always the next due.
    /// </summary>
    private sealed class DelayLine : IDisposable
    {
        private readonly BlockingCollection<(long Due, NetworkStream To, byte[] Data)> _queue = [];
        private readonly Thread _thread;

        public DelayLine()
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "TcpRelay delay line" };
            _thread.Start();
        }

        public void Post(NetworkStream to, ReadOnlySpan<byte> data, TimeSpan delay)
            => _queue.Add((Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency), to, data.ToArray()));

        public void Dispose()
        {
            _queue.CompleteAdding();
            _thread.Join();
            _queue.Dispose();
        }

        private void Run()
        {
            foreach (var (due, to, data) in _queue.GetConsumingEnumerable())
            {
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    Sleep(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
                }

                try
                {
                    if (data.Length == 0)
                    {
                        to.Socket.Shutdown(SocketShutdown.Send);
                    }
                    else
                    {
                        to.Write(data);
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
                {
                    // That connection closed: its held segments have nowhere to go.
                }
            }
        }

        private static void Sleep(TimeSpan time)
        {
            var request = new TimeSpec { Seconds = (long)time.TotalSeconds, Nanoseconds = (long)(time.Ticks % TimeSpan.TicksPerSecond * 100) };
            _ = NanoSleep(in request, IntPtr.Zero);
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "nanosleep")]
        private static extern int NanoSleep(in TimeSpec request, IntPtr remaining);

        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }
    }
}
