namespace XmppTransfer.Interop.Tests.Fixtures;

/// <summary>Interop tests need real peers (Prosody, slixmpp) and run only when <c>XMPPTRANSFER_INTEROP=1</c> (test.sh sets it).</summary>
public static class InteropGate
{
    public const string Variable = "XMPPTRANSFER_INTEROP";

    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>Skips the calling test (xunit v3 dynamic skip) unless interop tests are enabled.</summary>
    public static void SkipUnlessEnabled()
    {
        if (!Enabled)
        {
            Assert.Skip($"Interop tests need Prosody and slixmpp; set {Variable}=1 to run them (test.sh does).");
        }
    }
}
