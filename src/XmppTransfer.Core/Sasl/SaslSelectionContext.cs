using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>What <see cref="SaslMechanismSelector"/> needs to choose and build a mechanism.</summary>
/// <param name="Username">The user name (local part of the JID).</param>
/// <param name="Password">The password; never printed by <see cref="ToString"/>.</param>
/// <param name="IsTls">True when the stream is encrypted.</param>
internal sealed record SaslSelectionContext(string Username, string Password, bool IsTls)
{
    /// <summary>Permit PLAIN on an unencrypted stream (tests, loopback only). Default false.</summary>
    public bool AllowPlainWithoutTls { get; init; }

    /// <summary>RFC 5929 <c>tls-server-end-point</c> data from <see cref="TlsChannelBinding"/>, or null when unknown.</summary>
    public byte[]? TlsServerEndPoint { get; init; }

    /// <summary>
    /// The channel-binding types advertised with XEP-0440 <c>&lt;sasl-channel-binding/&gt;</c>. Empty when the server
    /// did not advertise any; -PLUS mechanisms are then assumed to support <c>tls-server-end-point</c>.
    /// </summary>
    public IReadOnlyCollection<string> ChannelBindingTypes { get; init; } = [];

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Username = ").Append(Username)
            .Append(", IsTls = ").Append(IsTls)
            .Append(", AllowPlainWithoutTls = ").Append(AllowPlainWithoutTls)
            .Append(", HasTlsServerEndPoint = ").Append(TlsServerEndPoint is not null)
            .Append(", ChannelBindingTypes = [").AppendJoin(", ", ChannelBindingTypes).Append(']');
        return true;
    }
}
