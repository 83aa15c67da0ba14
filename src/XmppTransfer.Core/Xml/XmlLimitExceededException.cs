namespace XmppTransfer.Core.Xml;

/// <summary>The peer sent more than <see cref="XmlLimits"/> allow; the stream is closed with <c>policy-violation</c>.</summary>
internal sealed class XmlLimitExceededException(string message) : IOException(message);
