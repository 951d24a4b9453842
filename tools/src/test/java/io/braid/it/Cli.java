package io.braid.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathFactory;
import org.w3c.dom.Document;

/** Helpers that read braid's output the way GlusterFS's test harness does. */
final class Cli {
    private Cli() {
    }

    /** The value after "FIELD: " in text output, like volume.rc's volinfo_field. */
    static String field(CliResult r, String field) {
        for (String line : r.out().split("\n")) {
            if (line.startsWith(field + ":")) return line.substring(field.length() + 1).trim();
        }
        return null;
    }

    static String xpath(CliResult r, String expr) {
        try {
            Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                    .parse(new ByteArrayInputStream(r.out().getBytes(StandardCharsets.UTF_8)));
            return XPathFactory.newInstance().newXPath().evaluate(expr, d);
        } catch (Exception e) {
            throw new AssertionError("not XML: " + r, e);
        }
    }

    static void assertOk(CliResult r) {
        assertEquals(0, r.exit(), () -> "expected success: " + r);
        String err = r.err().lines().filter(l -> !l.startsWith("Replica 2 volumes are prone to split-brain")).reduce("", String::concat);
        assertEquals("", err, () -> "expected nothing on stderr but the replica 2 warning: " + r);
    }

    /** A failure: non-zero, exactly one line on stderr containing the words, no stack trace. */
    static void assertFails(CliResult r, String... words) {
        assertTrue(r.exit() != 0, () -> "expected failure: " + r);
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), () -> "expected one line on stderr: " + r);
        assertTrue(err.contains("failed"), () -> "expected '... failed: reason': " + r);
        assertTrue(!err.contains("Exception") && !err.contains("\tat "), () -> "stack trace leaked: " + r);
        for (String w : words) {
            assertTrue(err.contains(w), () -> "expected '" + w + "' in: " + r);
        }
    }

    static int connectedPeers(CliResult r) {
        return (int) r.out().lines().filter(l -> l.contains("Peer in Cluster (Connected)")).count();
    }
}
