using System.Collections.Concurrent;
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

    /// <summary>Listens on a free loopback port and relays every connection to <paramref name="host"/>:<paramref name="port"/>.</summary>
    public TcpRelay(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        (_host, _port) = (host, port);
        _listener.Start();
        _accepting = AcceptAsync();
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
                    to.Socket.Shutdown(SocketShutdown.Send);
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

                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }

        public void Dispose()
        {
            client.Dispose();
            server.Dispose();
        }
    }
}
