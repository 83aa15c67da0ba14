using System.Net;

namespace XmppTransfer.Server.Internal;

/// <summary>Open connections in total and per remote address, for every listener of the server together.</summary>
internal sealed class ConnectionLimiter(int maxTotal, int maxPerAddress)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private int _total;

    /// <summary>Takes a slot; null when allowed, else why not.</summary>
    public string? TryAcquire(IPAddress address)
    {
        lock (_lock)
        {
            if (_total >= maxTotal)
            {
                return "too many connections";
            }

            var count = _perAddress.GetValueOrDefault(address);
            if (count >= maxPerAddress)
            {
                return "too many connections from this address";
            }

            _perAddress[address] = count + 1;
            _total++;
            return null;
        }
    }

    public void Release(IPAddress address)
    {
        lock (_lock)
        {
            _total--;
            var count = _perAddress.GetValueOrDefault(address) - 1;
            if (count <= 0)
            {
                _perAddress.Remove(address);
            }
            else
            {
                _perAddress[address] = count;
            }
        }
    }
}
