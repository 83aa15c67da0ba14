using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>The GS2 header a SCRAM client sends and the channel-binding data that goes into <c>c=</c>.</summary>
internal sealed class ScramChannelBinding
{
    /// <summary>The channel-binding type name of RFC 5929 §4.</summary>
    public const string TlsServerEndPointType = "tls-server-end-point";

    private readonly byte[] _data;

    private ScramChannelBinding(ScramChannelBindingKind kind, byte[] data, string gs2Header)
    {
        Kind = kind;
        _data = data;
        Gs2Header = gs2Header;
    }

    /// <summary><c>n,,</c>: no channel binding.</summary>
    public static ScramChannelBinding None { get; } = new(ScramChannelBindingKind.None, [], "n,,");

    /// <summary><c>y,,</c>: we could bind but the server offered no -PLUS mechanism.</summary>
    public static ScramChannelBinding NotOfferedByServer { get; } = new(ScramChannelBindingKind.NotOfferedByServer, [], "y,,");

    public ScramChannelBindingKind Kind { get; }

    /// <summary>True for the -PLUS mechanisms.</summary>
    public bool IsPlus => Kind == ScramChannelBindingKind.TlsServerEndPoint;

    /// <summary>The GS2 header, e.g. <c>n,,</c> (no authorization identity is ever sent).</summary>
    public string Gs2Header { get; }

    /// <summary><c>p=tls-server-end-point,,</c> with the hash computed by <see cref="TlsChannelBinding"/>.</summary>
    public static ScramChannelBinding ForTlsServerEndPoint(ReadOnlySpan<byte> tlsServerEndPoint)
    {
        if (tlsServerEndPoint.IsEmpty)
        {
            throw new ArgumentException("Channel-binding data must not be empty.", nameof(tlsServerEndPoint));
        }

        return new(ScramChannelBindingKind.TlsServerEndPoint, tlsServerEndPoint.ToArray(), "p=" + TlsServerEndPointType + ",,");
    }

    /// <summary>The bytes whose base64 form is the <c>c=</c> attribute: GS2 header followed by the binding data.</summary>
    public byte[] GetChannelBindingInput()
    {
        var header = Encoding.ASCII.GetBytes(Gs2Header);
        var input = new byte[header.Length + _data.Length];
        header.CopyTo(input, 0);
        _data.CopyTo(input, header.Length);
        return input;
    }

    /// <inheritdoc/>
    public override string ToString() => Gs2Header;
}
