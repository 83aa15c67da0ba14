namespace XmppTransfer.Server.Internal;

/// <summary>
/// One <see cref="AuthFailureTable"/> entry: failures in the window that began at <see cref="WindowStart"/>;
/// <see cref="SealedSince"/>: see <see cref="AuthFailureTable.MakeRoom"/>.
/// </summary>
internal readonly record struct AuthFailureEntry(int Failures, long WindowStart, long LastFailure, long? SealedSince);
