namespace XmppTransfer.Testing.Prosody;

/// <summary>An external component (XEP-0114) the test server accepts on its component port.</summary>
/// <param name="Name">The component's domain, e.g. <c>files.example.test</c>.</param>
/// <param name="Secret">The shared secret of the handshake (a test value).</param>
public sealed record ProsodyComponent(string Name, string Secret)
{
    /// <inheritdoc/>
    public override string ToString() => $"ProsodyComponent {{ Name = {Name} }}";
}
