using System.Text;

namespace XmppTransfer.Bytestreams.Tests.Socks5.Wire;

/// <summary>SOCKS5 frames written out byte for byte, as the RFC draws them.</summary>
internal static class Frames
{
    public const string Hash = "416781edf1ae50bad01cb8509ba35b43952bc345";

    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);

    public static byte[] Greeting => [0x05, 0x01, 0x00];

    public static byte[] Connect(string address = Hash, byte command = 0x01, byte addressType = 0x03, byte port1 = 0, byte port2 = 0) =>
        [0x05, command, 0x00, addressType, (byte)address.Length, .. Encoding.ASCII.GetBytes(address), port1, port2];

    public static byte[] SuccessReply(string address = Hash) =>
        [0x05, 0x00, 0x00, 0x03, (byte)address.Length, .. Encoding.ASCII.GetBytes(address), 0x00, 0x00];

    public static byte[] FailureReply(byte rep) => [0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
}
