package io.braid.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes as operators type them ({@code 4096}, {@code 64M}, {@code 10G}, {@code 1.5T}, {@code 64MiB};
 * binary units, the daemon's grammar) and as the CLI prints amounts of data ({@code 4.0 KiB}).
 */
final class ByteSizes {
    private static final Pattern SIZE =
            Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(?:([KMGTP])(?:I?B)?)?");
    private static final String[] IEC = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private ByteSizes() {
    }

    /**
     * @return the size in bytes, rounded up to a whole byte
     * @throws IllegalArgumentException with a one-line reason when the text is not a size
     */
    static long parse(String text) {
        String s = text == null ? "" : text.strip().toUpperCase(Locale.ROOT);
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid size '" + text + "' (examples: 64M, 10G, 1T, 4096)");
        }
        int shift = m.group(2) == null ? 0 : 10 * ("KMGTP".indexOf(m.group(2).charAt(0)) + 1);
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(2).pow(shift))
                .setScale(0, RoundingMode.CEILING);
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("size '" + text + "' is too large");
        }
        return bytes.longValueExact();
    }

    /** 0 → "0 B", 512 → "512 B", 4096 → "4.0 KiB", 129394278 → "123.4 MiB". */
    static String iec(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        double value = bytes;
        int unit = 0;
        while (value >= 1023.95 && unit < IEC.length - 1) { // so that it never prints "1024.0 KiB"
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, IEC[unit]);
    }

    /** "4.0 KiB (4096 bytes)". */
    static String withBytes(long bytes) {
        return iec(bytes) + " (" + bytes + (bytes == 1 ? " byte)" : " bytes)");
    }
}
