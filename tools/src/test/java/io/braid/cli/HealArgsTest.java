package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.braid.proto.admin.HealRequest;

class HealArgsTest {

    private static HealArgs parse(String line) {
        return HealArgs.parse(List.of(line.split(" ")));
    }

    private static void fails(String line, String reason) {
        CliFailure f = assertThrows(CliFailure.class, () -> parse(line), line);
        assertEquals(CliFailure.USAGE, f.exitCode());
        assertTrue(f.line().startsWith("volume heal: failed: " + reason), f.line());
        assertTrue(f.line().endsWith("Usage: " + Usage.VOLUME_HEAL), f.line());
        assertFalse(f.line().contains("\n"));
    }

    @Test
    void actions() {
        assertEquals("", parse("web").action());
        assertNull(parse("web").view());
        assertEquals("full", parse("web full").action());
        assertNull(parse("web full").view());
        assertEquals("info", parse("web info").action());
        assertEquals(HealView.INFO, parse("web info").view());
        assertEquals("info-summary", parse("web info summary").action());
        assertEquals(HealView.SUMMARY, parse("web info summary").view());
        assertEquals("info-split-brain", parse("web info split-brain").action());
        assertEquals(HealView.SPLIT_BRAIN, parse("web info split-brain").view());
        // a volume may be called "info"
        assertEquals("info", parse("info info").name());
    }

    @Test
    void splitBrainResolutions() {
        HealRequest source = parse("web split-brain source-brick 127.0.0.12:/srv/b").toRequest();
        assertEquals("web", source.getName());
        assertEquals("split-brain", source.getAction());
        assertEquals("source-brick", source.getResolution());
        assertEquals("127.0.0.12:/srv/b", source.getSourceBrick());
        assertEquals("", source.getFile());
        HealRequest sourceFile = parse("web split-brain source-brick 127.0.0.12:/srv/b /docs/a.txt").toRequest();
        assertEquals("/docs/a.txt", sourceFile.getFile());
        HealRequest bigger = parse("web split-brain bigger-file /docs/a.txt").toRequest();
        assertEquals("bigger-file", bigger.getResolution());
        assertEquals("/docs/a.txt", bigger.getFile());
        assertEquals("", bigger.getSourceBrick());
        HealRequest latest = parse("web split-brain latest-mtime gfid:0b9c").toRequest();
        assertEquals("latest-mtime", latest.getResolution());
        assertEquals("gfid:0b9c", latest.getFile());
        assertNull(parse("web split-brain latest-mtime /f").view());
    }

    @Test
    void badGrammar() {
        fails("web frob", "unknown heal command 'frob'");
        fails("web full now", "unexpected 'now'");
        fails("web info frob", "unknown heal info report 'frob'");
        fails("web info summary now", "unexpected 'now'");
        fails("web split-brain", "'split-brain' needs");
        fails("web split-brain bigger-file", "'bigger-file' needs exactly one <FILE>");
        fails("web split-brain latest-mtime a b", "'latest-mtime' needs exactly one <FILE>");
        fails("web split-brain source-brick", "'source-brick' needs");
        fails("web split-brain source-brick nobrick", "wrong brick type: nobrick");
        fails("web split-brain source-brick :/b", "wrong brick type: :/b");
        fails("web split-brain source-brick h:/b f g", "'source-brick' needs");
        fails("web split-brain newest f", "unknown split-brain policy 'newest'");
        CliFailure empty = assertThrows(CliFailure.class, () -> HealArgs.parse(List.of()));
        assertEquals("volume heal: failed: Usage: " + Usage.VOLUME_HEAL, empty.line());
    }

    @Test
    void defaultMessages() {
        assertEquals("Launching heal operation to perform index self heal on volume web has been successful",
                parse("web").defaultMessage());
        assertEquals("Launching heal operation to perform full self heal on volume web has been successful",
                parse("web full").defaultMessage());
        assertEquals("Split-brain resolution on volume web has been successful",
                parse("web split-brain bigger-file /f").defaultMessage());
    }
}
