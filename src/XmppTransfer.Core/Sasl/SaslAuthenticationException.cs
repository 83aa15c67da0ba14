namespace XmppTransfer.Core.Sasl;

/// <summary>
/// A server-side SASL exchange failed; the server answers <c>&lt;failure&gt;&lt;condition/&gt;&lt;/failure&gt;</c>.
/// The message is for logs and never contains credentials or SASL payloads.
/// </summary>
internal sealed class SaslAuthenticationException : Exception
{
    public SaslAuthenticationException(SaslFailureCondition condition, string message)
        : base(message) => Condition = condition;

    public SaslFailureCondition Condition { get; }

    /// <summary>The element name of <see cref="Condition"/> in <c>urn:ietf:params:xml:ns:xmpp-sasl</c>.</summary>
    public string ConditionName => ToElementName(Condition);

    public static string ToElementName(SaslFailureCondition condition) => condition switch
    {
        SaslFailureCondition.Aborted => "aborted",
        SaslFailureCondition.AccountDisabled => "account-disabled",
        SaslFailureCondition.CredentialsExpired => "credentials-expired",
        SaslFailureCondition.EncryptionRequired => "encryption-required",
        SaslFailureCondition.IncorrectEncoding => "incorrect-encoding",
        SaslFailureCondition.InvalidAuthzid => "invalid-authzid",
        SaslFailureCondition.InvalidMechanism => "invalid-mechanism",
        SaslFailureCondition.MalformedRequest => "malformed-request",
        SaslFailureCondition.MechanismTooWeak => "mechanism-too-weak",
        SaslFailureCondition.NotAuthorized => "not-authorized",
        SaslFailureCondition.TemporaryAuthFailure => "temporary-auth-failure",
        _ => throw new ArgumentOutOfRangeException(nameof(condition)),
    };
}
