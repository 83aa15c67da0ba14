using XmppTransfer.Core;

namespace XmppTransfer.Proxy.Internal;

/// <summary>
/// Who may use the proxy: local domains (default: our domain and its parent), allowed domains and users; with
/// <c>usersOnly</c>, never a JID without a local part (a server or a component).
/// </summary>
internal sealed class ProxyAccessPolicy
{
    private readonly HashSet<string>? _localDomains;
    private readonly HashSet<string> _allowedDomains;
    private readonly HashSet<Jid> _allowedJids;
    private readonly bool _allowAnyone;
    private readonly bool _usersOnly;

    public ProxyAccessPolicy(BytestreamProxyOptions options, bool usersOnly = false)
    {
        _localDomains = options.LocalDomains is null ? null : [.. options.LocalDomains.Select(NormalizeDomain)];
        _allowedDomains = [.. options.AllowedDomains.Select(NormalizeDomain)];
        _allowedJids = [.. options.AllowedJids.Select(j => Jid.Parse(j).Bare)];
        _allowAnyone = options.AllowAnyone;
        _usersOnly = usersOnly;
    }

    public bool IsAllowed(Jid requester, Jid? local)
    {
        if (_usersOnly && requester.Local is null)
        {
            return false;
        }

        if (_allowAnyone || _allowedJids.Contains(requester.Bare) || _allowedDomains.Contains(requester.Domain))
        {
            return true;
        }

        if (_localDomains is not null)
        {
            return _localDomains.Contains(requester.Domain);
        }

        if (local is null)
        {
            return false;
        }

        // The session's own domain and, for a component such as proxy.example.org, its parent example.org.
        if (requester.Domain == local.Domain)
        {
            return true;
        }

        int dot = local.Domain.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && local.Domain.IndexOf('.', dot + 1) > 0 && requester.Domain == local.Domain[(dot + 1)..];
    }

    private static string NormalizeDomain(string domain) => Jid.Parse(domain).Domain;
}
