using System.Globalization;

namespace XmppTransfer.Cli;

/// <summary>How every service setting that is a duration is written: seconds (<c>30</c>, <c>2.5</c>) or <c>hh:mm:ss</c>.</summary>
internal static class SettingDuration
{
    /// <summary>Reads <paramref name="text"/> as seconds or a TimeSpan; false when it is neither (the caller words the error).</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }
}
