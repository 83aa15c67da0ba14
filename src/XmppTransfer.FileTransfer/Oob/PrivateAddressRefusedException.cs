namespace XmppTransfer.FileTransfer.Oob;

/// <summary>The download's host has only addresses <see cref="OobOptions.AllowPrivateNetworks"/> keeps us from.</summary>
internal sealed class PrivateAddressRefusedException(string host) : IOException(
    $"{host} has only loopback, private or reserved addresses, and downloads from those are off (OobOptions.AllowPrivateNetworks; in xft, receive --allow-private-urls).");
