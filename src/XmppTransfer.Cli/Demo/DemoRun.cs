using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using XmppTransfer.Bytestreams.Socks5;
using XmppTransfer.Core;
using XmppTransfer.FileTransfer;
using XmppTransfer.FileTransfer.Oob;
using XmppTransfer.Server;

namespace XmppTransfer.Cli.Demo;

/// <summary>
/// The whole product in one process on loopback: an embedded server (ephemeral ports, temporary folder),
/// two accounts, one random file sent by every method, each verified by SHA-256.
/// </summary>
internal sealed class DemoRun(long size, ILoggerFactory logging, TextWriter log)
{
    public async Task<IReadOnlyList<DemoRow>> RunAsync(CancellationToken cancellationToken)
    {
        var root = Directory.CreateTempSubdirectory("xft-demo-").FullName;
        try
        {
            await log.WriteLineAsync($"demo: starting an embedded server on loopback (data in {root})");
            var server = await EmbeddedXmppServer.StartAsync(
                ServerOptions.Default with
                {
                    Domain = "demo.test",
                    DataDirectory = Path.Combine(root, "server"),
                    ClientEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                    ProxyEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                    ScramIterations = 4096,
                    LoggerFactory = logging,
                },
                cancellationToken);
            await using (server)
            {
                var alicePassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
                var bobPassword = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
                await server.AddUserAsync("alice", alicePassword, cancellationToken);
                await server.AddUserAsync("bob", bobPassword, cancellationToken);
                await log.WriteLineAsync(
                    $"demo: server {server.Domain} on {server.ClientEndPoint}, proxy {server.ProxyJid} on {server.ProxyEndPoint}, certificate sha256 {server.CertificateSha256}");

                var file = Path.Combine(root, "demo.bin");
                await log.WriteLineAsync($"demo: writing a {size / 1048576.0:0.#} MiB random file");
                await WriteRandomFileAsync(file, size, cancellationToken);
                var expected = await Sha256Async(file, cancellationToken);

                var loopbackOnly = Socks5BytestreamOptions.Default with { Hosts = ["127.0.0.1"], LoopbackOnly = true };
                var lan = OobOptions.Default with { AllowPrivateNetworks = true };
                await using var bob = await ConnectAsync(server, "bob", bobPassword, loopbackOnly, lan, cancellationToken);
                await using var aliceDirect = await ConnectAsync(server, "alice", alicePassword, loopbackOnly, lan, cancellationToken);
                var viaProxy = loopbackOnly with { DirectCandidates = false, Proxies = [Jid.Parse(server.ProxyJid!)], DiscoverProxies = false };
                await using var aliceProxy = await ConnectAsync(server, "alice", alicePassword, viaProxy, lan, cancellationToken);

                var rows = new List<DemoRow>();
                var inbox = Path.Combine(root, "inbox");
                rows.Add(await TransferAsync("IBB (in-band, window 64)", aliceDirect, bob, file, expected, TransferMethodPreference.Ibb, inbox, cancellationToken));
                rows.Add(await TransferAsync("SOCKS5 direct", aliceDirect, bob, file, expected, TransferMethodPreference.Socks5, inbox, cancellationToken));
                rows.Add(await TransferAsync("SOCKS5 via built-in proxy", aliceProxy, bob, file, expected, TransferMethodPreference.Socks5, inbox, cancellationToken));
                rows.Add(await TransferAsync("Out-of-band (HTTP)", aliceDirect, bob, file, expected, TransferMethodPreference.Oob, inbox, cancellationToken));
                return rows;
            }
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the OS cleans temporary folders too.
            }
        }
    }

    private async Task<DemoRow> TransferAsync(
        string label, XmppClient sender, XmppClient receiver, string file, string expected, TransferMethodPreference method, string inbox, CancellationToken cancellationToken)
    {
        await log.WriteLineAsync($"demo: sending by {label}...");
        var senderFiles = sender.GetExtension<FileTransferManager>()!;
        var receiverFiles = receiver.GetExtension<FileTransferManager>()!;
        var clock = Stopwatch.StartNew();
        var send = senderFiles.SendFileAsync(receiver.BoundJid, file, new FileSendOptions { Method = method }, null, cancellationToken);
        FileTransferResult received;
        try
        {
            var offer = await NextOfferAsync(receiverFiles, send, cancellationToken);
            received = await offer.AcceptAsync(inbox, new FileReceiveOptions { Overwrite = true }, null, cancellationToken);
            await send;
        }
        catch (XmppException ex)
        {
            await log.WriteLineAsync($"demo: {label} failed: {ex.Message}");
            return new DemoRow(label, "-", new FileInfo(file).Length, clock.Elapsed, false, ex.Message);
        }

        clock.Stop();
        var actual = await Sha256Async(received.Path!, cancellationToken);
        File.Delete(received.Path!);
        return new DemoRow(label, received.Method.ToShortName(), received.Size, received.Duration, actual == expected && received.Sha256 == expected, null);
    }

    private static async Task<IncomingFileOffer> NextOfferAsync(FileTransferManager files, Task<FileTransferResult> send, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var offers = files.ReceiveOffersAsync(stop.Token).GetAsyncEnumerator(stop.Token);
        try
        {
            var next = offers.MoveNextAsync().AsTask();
            if (await Task.WhenAny(next, send) == send)
            {
                await send; // Throws the sender's failure.
            }

            return await next ? offers.Current : throw new InvalidOperationException("No offer arrived.");
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await offers.DisposeAsync();
            }
            catch (NotSupportedException)
            {
                // The pending MoveNext was cancelled above; disposing then is fine to skip.
            }
        }
    }

    private async Task<XmppClient> ConnectAsync(
        EmbeddedXmppServer server, string user, string password, Socks5BytestreamOptions socks5, OobOptions oob, CancellationToken cancellationToken)
    {
        var client = new XmppClient(new XmppClientOptions
        {
            Jid = Jid.Create(user, server.Domain),
            Password = password,
            Host = server.ClientEndPoint.Address.ToString(),
            Port = server.ClientEndPoint.Port,
            TrustedCertificateSha256 = server.CertificateSha256,
            LoggerFactory = logging,
        });
        client.AddExtension(new FileTransferManager(new FileTransferOptions { Socks5 = socks5, Oob = oob }));
        await client.ConnectAsync(cancellationToken);
        return client;
    }

    private static async Task WriteRandomFileAsync(string path, long size, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024 * 1024];
        var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await using (output)
        {
            for (long written = 0; written < size; written += buffer.Length)
            {
                RandomNumberGenerator.Fill(buffer);
                await output.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - written)), cancellationToken);
            }
        }
    }

    private static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (input)
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(input, cancellationToken));
        }
    }
}
