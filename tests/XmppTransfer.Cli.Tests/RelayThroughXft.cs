using System.Net;
using XmppTransfer.Core;
using XmppTransfer.Testing;

namespace XmppTransfer.Cli.Tests;

/// <summary>
/// A stream relayed for Alice by an xft process's proxy (<c>xft proxy</c> attached to a server, or <c>xft server</c> with
/// its built-in proxy): Alice is connected, the pair is activated and has moved a first chunk, so the proxy has one active
/// stream when a signal comes. Disposing closes the pair and Alice; the process stays its owner's.
/// </summary>
internal sealed class RelayThroughXft : IAsyncDisposable
{
    private readonly XmppClient _alice;

    private RelayThroughXft(XftProcess xft, XmppClient alice, RelayedPair pair)
    {
        Xft = xft;
        _alice = alice;
        Pair = pair;
    }

    public XftProcess Xft { get; }

    public RelayedPair Pair { get; }

    /// <summary>Connects Alice with <paramref name="alice"/> and relays a first <paramref name="chunk"/> through <paramref name="proxy"/>.</summary>
    public static async Task<RelayThroughXft> OpenAsync(XftProcess xft, XmppClientOptions alice, IPEndPoint proxy, string proxyJid, int chunk, TimeSpan cap)
    {
        XmppClient client = new(alice);
        RelayedPair? pair = null;
        try
        {
            await client.ConnectAsync(TestContext.Current.CancellationToken).WaitAsync(cap);
            pair = await RelayedPair.OpenAsync(proxy, proxyJid, client, cap);
            await pair.RelayAsync(chunk);
            return new RelayThroughXft(xft, client, pair);
        }
        catch
        {
            pair?.Dispose();
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends SIGTERM and returns once the process says it is draining the one stream.</summary>
    public async Task TerminateAndAwaitDrainAsync(TimeSpan cap)
    {
        await Xft.TerminateAsync().WaitAsync(cap);
        await Xft.WaitForStderrAsync("draining 1 active streams", cap);
    }

    public async ValueTask DisposeAsync()
    {
        Pair.Dispose();
        await _alice.DisposeAsync();
    }
}
