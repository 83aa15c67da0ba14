using System.Globalization;
using System.Text;

namespace XmppTransfer.Core.Sasl;

/// <summary>
/// SASLprep (RFC 4013), the stringprep (RFC 3454) profile for user names and passwords.
/// </summary>
/// <remarks>
/// <para>Steps: map the non-ASCII spaces of table C.1.2 to U+0020 and drop the "commonly mapped to nothing"
/// characters of table B.1; normalize with NFKC; refuse the prohibited output of tables C.1.2, C.2.1, C.2.2, C.3,
/// C.4, C.5, C.6, C.7, C.8 and C.9; check bidirectional text.</para>
/// <para>Simplifications, deliberate: unassigned code points (table A.1) are allowed, as RFC 3454 §7 permits for
/// "queries". NFKC is <see cref="Nfkc"/> over the Unicode 3.2 tables, not the runtime's normalization, which
/// does nothing under <c>InvariantGlobalization</c>. The bidi rule of RFC 3454 §6 uses an approximation of RandALCat (letters of
/// the right-to-left scripts: Hebrew, Arabic, Syriac, Thaana, N'Ko and their presentation forms) and of LCat
/// (every other letter), because .NET exposes no public bidi-class lookup.</para>
/// <para>Errors are <see cref="ArgumentException"/> whose message names the problem, never the value.</para>
/// </remarks>
internal static class SaslPrep
{
    /// <summary>Prepares <paramref name="value"/>; throws <see cref="ArgumentException"/> (without the value) when it is prohibited.</summary>
    public static string Prepare(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (IsPlainAscii(value))
        {
            return value;
        }

        // Step 1: mapping (RFC 4013 §2.1).
        var mapped = new StringBuilder(value.Length);
        foreach (var rune in Enumerate(value, paramName))
        {
            if (IsCommonlyMappedToNothing(rune.Value))
            {
                continue;
            }

            if (IsNonAsciiSpace(rune.Value))
            {
                mapped.Append(' ');
                continue;
            }

            mapped.Append(rune.ToString());
        }

        // Step 2: normalization (RFC 4013 §2.2), NFKC over Unicode 3.2.
        var normalized = Nfkc.Normalize(mapped.ToString());

        // Steps 3 and 4: prohibited output and bidi (RFC 4013 §2.3, §2.4).
        var hasRandAL = false;
        var hasL = false;
        var index = 0;
        var firstIsRandAL = false;
        var lastIsRandAL = false;
        foreach (var rune in Enumerate(normalized, paramName))
        {
            var reason = ProhibitedReason(rune.Value);
            if (reason is not null)
            {
                throw new ArgumentException($"The value contains a character prohibited by SASLprep (RFC 4013): {reason}.", paramName);
            }

            var randAL = IsRandALCat(rune);
            hasRandAL |= randAL;
            hasL |= !randAL && Rune.IsLetter(rune);
            if (index == 0)
            {
                firstIsRandAL = randAL;
            }

            lastIsRandAL = randAL;
            index++;
        }

        if (hasRandAL && (hasL || !firstIsRandAL || !lastIsRandAL))
        {
            throw new ArgumentException("The value mixes right-to-left and left-to-right text in a way SASLprep (RFC 4013) prohibits.", paramName);
        }

        return normalized;
    }

    private static bool IsPlainAscii(string value)
    {
        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7E)
            {
                return false;
            }
        }

        return true;
    }

    private static List<Rune> Enumerate(string value, string paramName)
    {
        var runes = new List<Rune>(value.Length);
        var span = value.AsSpan();
        while (!span.IsEmpty)
        {
            // RFC 3454 table C.5: surrogate code points, which in UTF-16 means an unpaired surrogate.
            if (Rune.DecodeFromUtf16(span, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                throw new ArgumentException("The value contains an unpaired surrogate, prohibited by SASLprep (RFC 4013).", paramName);
            }

            runes.Add(rune);
            span = span[consumed..];
        }

        return runes;
    }

    // RFC 3454 table B.1.
    private static bool IsCommonlyMappedToNothing(int c) =>
        c is 0x00AD or 0x034F or 0x1806 or (>= 0x180B and <= 0x180D) or (>= 0x200B and <= 0x200D) or 0x2060
            or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF;

    // RFC 3454 table C.1.2.
    private static bool IsNonAsciiSpace(int c) =>
        c is 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000;

    private static string? ProhibitedReason(int c)
    {
        if (IsNonAsciiSpace(c))
        {
            return "non-ASCII space";
        }

        // C.2.1 and C.2.2.
        if (c is < 0x20 or 0x7F or (>= 0x80 and <= 0x9F) or 0x06DD or 0x070F or 0x180E or 0x200C or 0x200D or 0x2028 or 0x2029
            or (>= 0x2060 and <= 0x2063) or (>= 0x206A and <= 0x206F) or 0xFEFF or (>= 0xFFF9 and <= 0xFFFC)
            or (>= 0x1D173 and <= 0x1D17A))
        {
            return "control character";
        }

        // C.3.
        if (c is (>= 0xE000 and <= 0xF8FF) or (>= 0xF0000 and <= 0xFFFFD) or (>= 0x100000 and <= 0x10FFFD))
        {
            return "private-use character";
        }

        // C.4.
        if (c is (>= 0xFDD0 and <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE)
        {
            return "non-character code point";
        }

        // C.6 (FFF9-FFFC are already control characters above) and C.7.
        if (c is 0xFFFD or (>= 0x2FF0 and <= 0x2FFB))
        {
            return "character inappropriate for plain text";
        }

        // C.8.
        if (c is 0x0340 or 0x0341 or 0x200E or 0x200F or (>= 0x202A and <= 0x202E))
        {
            return "character that changes display properties";
        }

        // C.9.
        if (c is 0xE0001 or (>= 0xE0020 and <= 0xE007F))
        {
            return "tagging character";
        }

        return null;
    }

    private static bool IsRandALCat(Rune rune)
    {
        var c = rune.Value;
        var rightToLeftBlock = c is (>= 0x0590 and <= 0x08FF) or (>= 0xFB1D and <= 0xFDFF) or (>= 0xFE70 and <= 0xFEFE)
            or (>= 0x10800 and <= 0x10FFF) or (>= 0x1E800 and <= 0x1EFFF);
        if (!rightToLeftBlock)
        {
            return false;
        }

        // Letters are R/AL; marks, digits and punctuation in these blocks are NSM/AN/ON and do not count.
        var category = Rune.GetUnicodeCategory(rune);
        return category is UnicodeCategory.OtherLetter or UnicodeCategory.ModifierLetter
            or UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter;
    }
}
