using System.Text;

namespace XmppTransfer.Interop.Tests.Fixtures;

/// <summary>Just enough raw XMPP to poke a server's ports in fixture tests (no parsing: marker search only).</summary>
internal static class RawXmpp
{
    public static async Task WriteAsync(Stream stream, string xml, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(xml), cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <summary>Reads until the text received contains <paramref name="marker"/>; returns all of it.</summary>
    public static Task<string> ReadUntilAsync(Stream stream, string marker, CancellationToken cancellationToken) =>
        ReadUntilAsync(stream, text => text.Contains(marker, StringComparison.Ordinal), cancellationToken);

    /// <summary>Reads until <paramref name="done"/> holds for the text received; returns all of it.</summary>
    public static async Task<string> ReadUntilAsync(Stream stream, Func<string, bool> done, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var decoder = Encoding.UTF8.GetDecoder();
        byte[] buffer = new byte[4096];
        char[] chars = new char[4096];
        while (!done(text.ToString()))
        {
            int n = await stream.ReadAsync(buffer, cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException($"Closed early; received: {text}");
            }

            int c = decoder.GetChars(buffer, 0, n, chars, 0);
            text.Append(chars, 0, c);
        }

        return text.ToString();
    }
}
