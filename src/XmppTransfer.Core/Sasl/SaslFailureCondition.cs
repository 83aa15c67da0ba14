namespace XmppTransfer.Core.Sasl;

/// <summary>The SASL failure conditions of RFC 6120 §6.5, sent as children of <c>&lt;failure/&gt;</c>.</summary>
internal enum SaslFailureCondition
{
    /// <summary><c>aborted</c></summary>
    Aborted,

    /// <summary><c>account-disabled</c></summary>
    AccountDisabled,

    /// <summary><c>credentials-expired</c></summary>
    CredentialsExpired,

    /// <summary><c>encryption-required</c></summary>
    EncryptionRequired,

    /// <summary><c>incorrect-encoding</c>: bad base64.</summary>
    IncorrectEncoding,

    /// <summary><c>invalid-authzid</c></summary>
    InvalidAuthzid,

    /// <summary><c>invalid-mechanism</c></summary>
    InvalidMechanism,

    /// <summary><c>malformed-request</c></summary>
    MalformedRequest,

    /// <summary><c>mechanism-too-weak</c></summary>
    MechanismTooWeak,

    /// <summary><c>not-authorized</c>: wrong credentials, unknown user, failed channel binding.</summary>
    NotAuthorized,

    /// <summary><c>temporary-auth-failure</c></summary>
    TemporaryAuthFailure,
}
