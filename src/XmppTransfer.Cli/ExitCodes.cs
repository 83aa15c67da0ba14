namespace XmppTransfer.Cli;

/// <summary>Process exit codes of xft (documented in docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Declined = 3;
    public const int Cancelled = 130;
}
