package io.braid.util;

import java.util.Locale;

/** Sizes as operators write them: {@code 4096}, {@code 64M}, {@code 10G}, {@code 1.5T} (binary units). */
public final class Sizes {
    private Sizes() {
    }

    public static long parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty size");
        String s = text.trim().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) s = s.substring(0, s.length() - 2);
        else if (s.endsWith("B") && s.length() > 1 && Character.isLetter(s.charAt(s.length() - 2))) s = s.substring(0, s.length() - 1);
        long mult = 1;
        char last = s.charAt(s.length() - 1);
        int shift = switch (last) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            case 'P' -> 50;
            default -> 0;
        };
        if (shift > 0) {
            s = s.substring(0, s.length() - 1);
            mult = 1L << shift;
        }
        try {
            if (!s.matches("[0-9]+(\\.[0-9]+)?")) throw new NumberFormatException();
            java.math.BigDecimal v = new java.math.BigDecimal(s).multiply(java.math.BigDecimal.valueOf(mult));
            if (v.compareTo(java.math.BigDecimal.valueOf(Long.MAX_VALUE)) > 0) throw new NumberFormatException();
            return v.setScale(0, java.math.RoundingMode.CEILING).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("invalid size '" + text + "' (examples: 64M, 10G, 1T)");
        }
    }

    /** Human form with binary units: 67108864 → "64M", 1536 → "1.5K". */
    public static String human(long bytes) {
        String[] units = {"", "K", "M", "G", "T", "P"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        if (v == Math.rint(v)) return String.format(Locale.ROOT, "%d%s", (long) v, units[u]);
        return String.format(Locale.ROOT, "%.1f%s", v, units[u]);
    }
}
