using System.Net;
using System.Net.Sockets;

namespace Khonsu.Data.Tests;

/// <summary>
/// A TCP relay in front of the PostgreSQL server that can stop relaying the server's replies: the
/// next request still reaches the server and runs, but the client's connection is closed before
/// the answer arrives, as when a network fails right after a COMMIT was sent.
/// </summary>
internal sealed class ReplyDroppingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly Task _accepting;
    private volatile bool _dropReplies;

    public ReplyDroppingProxy(string host, int port)
    {
        (_host, _port) = (host, port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>From now on, a reply from the server closes the client's connection instead of reaching it.</summary>
    public void DropReplies() => _dropReplies = true;

    /// <summary>Relays replies again (to connections opened from now on; dropped ones stay closed).</summary>
    public void RelayReplies() => _dropReplies = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll([_accepting, .. _relays]).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new TcpClient();
            await server.ConnectAsync(_host, _port, _stop.Token);
            lock (_relays)
            {
                _relays.Add(RelayAsync(client, server));
            }
        }
    }

    private async Task RelayAsync(TcpClient client, TcpClient server)
    {
        using (client)
        using (server)
        {
            var up = PumpAsync(client.GetStream(), server.GetStream(), replies: false);
            var down = PumpAsync(server.GetStream(), client.GetStream(), replies: true);
            await Task.WhenAny(up, down);
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool replies)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (replies && _dropReplies)
                {
                    return; // closes both sides: the client never sees this reply
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The other side went away, or the proxy is stopping.
        }
    }
}
