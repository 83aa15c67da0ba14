using XmppTransfer.Core.Component;

namespace XmppTransfer.Core.Tests;

public class ComponentHandshakeTests
{
    [Fact]
    public void Handshake_digest_matches_the_xep_0114_example() =>
        Assert.Equal("aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e", ComponentHandshake.Compute("3BF96D32", "test"));
}
