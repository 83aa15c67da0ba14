namespace XmppTransfer.Core.Sasl;

/// <summary>
/// The client side of one SASL exchange (RFC 6120 §6). The caller base64-encodes what this returns and sends
/// an empty response as <c>=</c>. Failures are <see cref="XmppConnectionException"/> with
/// <see cref="XmppErrorKind.Authentication"/>; their messages never carry credentials or SASL payloads.
/// </summary>
internal abstract class SaslMechanism
{
    /// <summary>The IANA mechanism name as it appears in <c>&lt;mechanism/&gt;</c>.</summary>
    public abstract string Name { get; }

    /// <summary>True once the exchange has been verified (the server is authenticated where the mechanism can tell).</summary>
    public abstract bool IsComplete { get; }

    /// <summary>The raw bytes of the initial response sent with <c>&lt;auth/&gt;</c>.</summary>
    public abstract byte[] GetInitialResponse();

    /// <summary>Answers a server <c>&lt;challenge/&gt;</c> (already base64-decoded).</summary>
    public abstract byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge);

    /// <summary>Checks the additional data of <c>&lt;success/&gt;</c> (already base64-decoded, empty when absent).</summary>
    public abstract void VerifySuccess(ReadOnlySpan<byte> additionalData);

    /// <inheritdoc/>
    public override string ToString() => Name;
}
