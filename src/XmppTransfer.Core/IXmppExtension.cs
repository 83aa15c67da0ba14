namespace XmppTransfer.Core;

/// <summary>A feature plugged into a session: it registers its handlers and disco features on attach.</summary>
public interface IXmppExtension
{
    /// <summary>Called once by <see cref="XmppSession.AddExtension"/>.</summary>
    void Attach(XmppSession session);
}
