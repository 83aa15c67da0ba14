using System.Net;

namespace XmppTransfer.Server.Internal;

/// <summary>
/// An address's last success for an account; <see cref="SealedSince"/>: the window start of its failure record, when that
/// was forgotten at its threshold (see <see cref="KnownGoodAddresses.Seal"/>).
/// </summary>
internal readonly record struct KnownGoodAddress(IPAddress Address, long LastSuccess, long? SealedSince);
