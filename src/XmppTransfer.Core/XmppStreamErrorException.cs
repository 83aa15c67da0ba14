namespace XmppTransfer.Core;

/// <summary>The stream ended with a stream error (RFC 6120 §4.9); the connection is gone.</summary>
public sealed class XmppStreamErrorException : XmppException
{
    public XmppStreamErrorException(string condition, string? text, bool sentByUs)
        : base(XmppErrorKind.StreamError, sentByUs
            ? $"Closed the stream with error '{condition}'{(text is null ? "" : ": " + text.TrimEnd('.'))}."
            : $"The server closed the stream with error '{condition}'{(text is null ? "" : ": " + text.TrimEnd('.'))}.")
    {
        Condition = condition;
        Text = text;
        SentByUs = sentByUs;
    }

    /// <summary>The defined condition, e.g. <c>conflict</c> or <c>policy-violation</c>.</summary>
    public string Condition { get; }

    /// <summary>The optional human-readable text.</summary>
    public string? Text { get; }

    /// <summary>True when we closed the stream because the peer misbehaved.</summary>
    public bool SentByUs { get; }
}
