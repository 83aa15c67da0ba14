namespace XmppTransfer.FileTransfer;

/// <summary>Stable short names for <see cref="TransferMethod"/> (used in JSON output and logs).</summary>
public static class TransferMethodExtensions
{
    public static string ToShortName(this TransferMethod method) => method switch
    {
        TransferMethod.Ibb => "ibb",
        TransferMethod.Socks5Direct => "s5b-direct",
        TransferMethod.Socks5Proxy => "s5b-proxy",
        TransferMethod.Oob => "oob",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };
}
