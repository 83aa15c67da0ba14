using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace XmppTransfer.Core;

/// <summary>
/// An XMPP address (RFC 7622): <c>[local@]domain[/resource]</c>. The local part and domain are
/// compared case-insensitively (they are case-mapped by their PRECIS profiles); the resource is
/// compared exactly. Each part is limited to 1023 bytes of UTF-8, counted as kept (after NFC and case mapping).
/// </summary>
public sealed class Jid : IEquatable<Jid>
{
    private const int MaxPartBytes = 1023;
    private static readonly System.Buffers.SearchValues<char> s_localForbidden = System.Buffers.SearchValues.Create("\"&'/:<>@");

    private Jid(string? local, string domain, string? resource)
    {
        Local = local;
        Domain = domain;
        Resource = resource;
    }

    /// <summary>The local part (before <c>@</c>), lower-cased; null for a server or component address.</summary>
    public string? Local { get; }

    /// <summary>The domain part, lower-cased, without a trailing dot.</summary>
    public string Domain { get; }

    /// <summary>The resource part (after <c>/</c>), exactly as given; null for a bare JID.</summary>
    public string? Resource { get; }

    /// <summary>True when there is no resource.</summary>
    public bool IsBare => Resource is null;

    /// <summary>This address without its resource.</summary>
    public Jid Bare => Resource is null ? this : new Jid(Local, Domain, null);

    /// <summary>Parses a JID, throwing <see cref="ArgumentException"/> with the reason when it is invalid.</summary>
    public static Jid Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryParseCore(value, out var jid, out var error) ? jid : throw new ArgumentException($"Invalid JID '{Shorten(value)}': {error}.", nameof(value));
    }

    /// <summary>Parses a JID, returning false when it is invalid.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out Jid? jid)
    {
        jid = null;
        return value is not null && TryParseCore(value, out jid, out _);
    }

    /// <summary>Builds a JID from parts, validating each.</summary>
    public static Jid Create(string? local, string domain, string? resource = null)
    {
        var text = (local is null ? string.Empty : local + "@") + domain + (resource is null ? string.Empty : "/" + resource);
        var jid = Parse(text);
        return jid.Local == local?.ToLowerInvariant() && jid.Resource == resource
            ? jid
            : throw new ArgumentException($"Invalid JID parts for '{Shorten(text)}'.", nameof(local));
    }

    /// <summary>The same address with another resource.</summary>
    public Jid WithResource(string resource) => Create(Local, Domain, resource);

    public bool Equals(Jid? other) =>
        other is not null && string.Equals(Local, other.Local, StringComparison.Ordinal)
        && string.Equals(Domain, other.Domain, StringComparison.Ordinal)
        && string.Equals(Resource, other.Resource, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Jid other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Local, Domain, Resource);

    public override string ToString()
    {
        var builder = new StringBuilder();
        if (Local is not null)
        {
            builder.Append(Local).Append('@');
        }

        builder.Append(Domain);
        if (Resource is not null)
        {
            builder.Append('/').Append(Resource);
        }

        return builder.ToString();
    }

    public static bool operator ==(Jid? left, Jid? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Jid? left, Jid? right) => !(left == right);

    public static implicit operator string(Jid jid) => jid?.ToString() ?? throw new ArgumentNullException(nameof(jid));

    private static bool TryParseCore(string value, [NotNullWhen(true)] out Jid? jid, [NotNullWhen(false)] out string? error)
    {
        jid = null;
        if (value.Length == 0)
        {
            error = "it is empty";
            return false;
        }

        // RFC 7622 §3.1: the resource starts at the first '/', the local part ends at the first '@' before it.
        string? resource = null;
        var rest = value;
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            resource = value[(slash + 1)..];
            rest = value[..slash];
        }

        string? local = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        var domain = rest;
        if (at >= 0)
        {
            local = rest[..at];
            domain = rest[(at + 1)..];
        }

        if (domain.EndsWith('.'))
        {
            domain = domain[..^1];
        }

        // The parts are checked as they will be kept, after normalisation and case mapping, which can make a part longer
        // (U+023A is 2 bytes of UTF-8, its lower case U+2C65 is 3). Checked before, a JID could hold a part over the limit
        // that its own text does not parse back from, and code re-reading it (the server's account lookup, Create,
        // WithResource) threw on a peer's address.
        var normalLocal = local?.Normalize(NormalizationForm.FormC).ToLowerInvariant();
        var normalResource = resource?.Normalize(NormalizationForm.FormC);
        domain = domain.ToLowerInvariant();
        if (!ValidateDomain(domain, out error) || !ValidateLocal(normalLocal, out error) || !ValidateResource(normalResource, out error))
        {
            return false;
        }

        jid = new Jid(normalLocal, domain, normalResource);
        return true;
    }

    private static bool ValidateDomain(string domain, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (domain.Length == 0)
        {
            error = "the domain is empty";
        }
        else if (Encoding.UTF8.GetByteCount(domain) > MaxPartBytes)
        {
            error = "the domain is longer than 1023 bytes";
        }
        else if (domain.StartsWith('[') && domain.EndsWith(']'))
        {
            if (!System.Net.IPAddress.TryParse(domain.AsSpan(1, domain.Length - 2), out var address)
                || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = "the domain is not a valid IPv6 literal";
            }
        }
        else
        {
            foreach (var label in domain.Split('.'))
            {
                if (label.Length == 0 || label.Length > 63)
                {
                    error = "the domain has an empty or over-long label";
                    return false;
                }

                foreach (var c in label)
                {
                    if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '@' or '/' or '[' or ']' or ':' or '"' or '<' or '>' or '\'' or '&')
                    {
                        error = $"the domain contains the character U+{(int)c:X4}";
                        return false;
                    }
                }
            }
        }

        return error is null;
    }

    private static bool ValidateLocal(string? local, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (local is null)
        {
            return true;
        }

        if (local.Length == 0)
        {
            error = "the local part is empty";
        }
        else if (Encoding.UTF8.GetByteCount(local) > MaxPartBytes)
        {
            error = "the local part is longer than 1023 bytes";
        }
        else if (local.AsSpan().ContainsAny(s_localForbidden))
        {
            error = "the local part contains a character that RFC 7622 forbids (\" & ' / : < > @)";
        }
        else if (HasSpaceOrControl(local))
        {
            error = "the local part contains a space or control character";
        }

        return error is null;
    }

    private static bool ValidateResource(string? resource, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (resource is null)
        {
            return true;
        }

        if (resource.Length == 0)
        {
            error = "the resource is empty";
        }
        else if (Encoding.UTF8.GetByteCount(resource) > MaxPartBytes)
        {
            error = "the resource is longer than 1023 bytes";
        }
        else
        {
            foreach (var c in resource)
            {
                if (char.IsControl(c))
                {
                    error = "the resource contains a control character";
                    break;
                }
            }
        }

        return error is null;
    }

    private static bool HasSpaceOrControl(string text)
    {
        foreach (var c in text)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                return true;
            }
        }

        return false;
    }

    private static string Shorten(string value) => value.Length <= 64 ? value : value[..61] + "...";
}
