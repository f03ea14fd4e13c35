using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Khonsu.Benchmarks;

/// <summary>
/// A TCP relay in front of PostgreSQL that counts round trips per client connection: a round trip
/// begins each time the client sends after the server has answered (however many segments either
/// side's message takes, and whatever the messages are, so the count is the provider's, not a guess
/// from its API). Clients connect to <see cref="Port"/> on 127.0.0.1 instead of the server.
/// </summary>
internal sealed class RoundTripProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Relay> _relays = [];
    private readonly Task _accepting;

    public RoundTripProxy(string host, int port)
    {
        (_host, _port) = (host, port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Round trips so far, over every connection that went through the relay.</summary>
    public long Total => _relays.Sum(r => Interlocked.Read(ref r.RoundTrips));

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var server = new TcpClient { NoDelay = true };
            await server.ConnectAsync(_host, _port, _stop.Token);
            client.NoDelay = true;
            var relay = new Relay(client, server);
            _relays.Add(relay);
            _ = relay.RunAsync(_stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        foreach (var relay in _relays)
        {
            relay.Dispose();
        }
    }

    private sealed class Relay(TcpClient client, TcpClient server) : IDisposable
    {
        public long RoundTrips;

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
            catch (Exception error) when (error is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // One side closed: the other is closed with it.
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
