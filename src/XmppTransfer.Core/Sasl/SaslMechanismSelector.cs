namespace XmppTransfer.Core.Sasl;

/// <summary>
/// Picks the strongest mechanism both sides support (PROTOCOLS.md §8): SCRAM-SHA-256-PLUS, SCRAM-SHA-256,
/// SCRAM-SHA-1-PLUS, SCRAM-SHA-1, then PLAIN over TLS only (unless explicitly allowed).
/// </summary>
internal static class SaslMechanismSelector
{
    private const string Plain = "PLAIN";

    /// <summary>The mechanism to use, or null when the server offers nothing acceptable.</summary>
    public static SaslMechanism? Select(IReadOnlyCollection<string> offered, SaslSelectionContext context)
    {
        ArgumentNullException.ThrowIfNull(offered);
        ArgumentNullException.ThrowIfNull(context);

        var endPoint = context.IsTls && context.TlsServerEndPoint is { Length: > 0 } data ? data : null;
        var serverOffersPlus = offered.Any(name => name.EndsWith("-PLUS", StringComparison.Ordinal));
        var typeAcceptable = context.ChannelBindingTypes.Count == 0
            || context.ChannelBindingTypes.Contains(ScramChannelBinding.TlsServerEndPointType, StringComparer.Ordinal);
        var plusBinding = endPoint is not null && typeAcceptable ? ScramChannelBinding.ForTlsServerEndPoint(endPoint) : null;

        // "y" tells the server we could bind but saw no -PLUS; it must never be sent when the server does offer
        // -PLUS (the server would rightly suspect a downgrade), even one with a binding type we cannot do.
        var plainBinding = endPoint is not null && !serverOffersPlus ? ScramChannelBinding.NotOfferedByServer : ScramChannelBinding.None;

        foreach (var algorithm in (ReadOnlySpan<ScramHashAlgorithm>)[ScramHashAlgorithm.Sha256, ScramHashAlgorithm.Sha1])
        {
            if (plusBinding is not null && offered.Contains(ScramPrimitives.MechanismName(algorithm, plus: true), StringComparer.Ordinal))
            {
                return new ScramClient(algorithm, context.Username, context.Password, plusBinding);
            }

            if (offered.Contains(ScramPrimitives.MechanismName(algorithm, plus: false), StringComparer.Ordinal))
            {
                return new ScramClient(algorithm, context.Username, context.Password, plainBinding);
            }
        }

        if ((context.IsTls || context.AllowPlainWithoutTls) && offered.Contains(Plain, StringComparer.Ordinal))
        {
            return new PlainMechanism(context.Username, context.Password);
        }

        return null;
    }
}
