package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.google.protobuf.ByteString;
import io.braid.proto.file.Attr;
import io.braid.proto.filerep.FileAck;
import io.braid.proto.filerep.HealItem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The heal of hard-linked files between two real brick directories: a name whose inode has other
 * names on the source is linked to one of them on the healed brick, never made a second copy, and
 * never tied to a file the source keeps apart.
 */
@Timeout(60)
class HealLinksTest {
    @TempDir
    Path tmp;
    FileStore source;
    FileStore target;
    HealApplier applier;

    private FileStore brick(String name) throws Exception {
        Path b = Files.createDirectory(tmp.resolve(name));
        Files.createDirectories(b.resolve(".braid/meta"));
        return FileStore.open(b);
    }

    @BeforeEach
    void setUp() throws Exception {
        source = brick("source");
        target = brick("target");
        applier = new HealApplier(target, false);
        source.mkdir("d", 0755, 0, 0);
        source.mkdir("far", 0755, 0, 0);
        source.create("d/a", 0644, true, 0, 0);
        source.write("d/a", 0, ByteString.copyFromUtf8("shared content"));
        source.link("d/a", "d/b");
        source.link("d/a", "far/c");
        source.create("d/alone", 0644, true, 0, 0);
        target.mkdir("d", 0755, 0, 0);
        target.mkdir("far", 0755, 0, 0);
    }

    @AfterEach
    void tearDown() {
        source.close();
        target.close();
    }

    /** Heals path on the target as a whole entry, as a returning brick gets it. */
    private void heal(String path) throws Exception {
        List<HealItem> items = new ArrayList<>();
        HealSource.items(source, path, DirtyIndex.ENTRY, null, true, items::add);
        for (HealItem h : items) applier.apply(h, FileAck.newBuilder());
    }

    @Test
    void theSourceNamesEveryOtherLinkInTheDirectoryAndBeyond() throws Exception {
        Attr a = source.getattr("d/a");
        assertEquals(List.of("d/b", "far/c"), HealSource.otherNames(source, "d/a", a));
        assertEquals(List.of(), HealSource.otherNames(source, "d/alone", source.getattr("d/alone")));
    }

    @Test
    void namesHealedOneAfterAnotherBecomeLinksOfOneFile() throws Exception {
        heal("d/a");
        heal("far/c");
        heal("d/b");
        long ino = target.getattr("d/a").getIno();
        assertEquals(ino, target.getattr("d/b").getIno());
        assertEquals(ino, target.getattr("far/c").getIno());
        assertEquals(3, target.getattr("d/a").getNlink());
        assertEquals("shared content", target.read("far/c", 0, 100).toStringUtf8());

        heal("d/b"); // again: it stays a link of the same file
        assertEquals(ino, target.getattr("d/b").getIno());
        assertEquals(3, target.getattr("d/a").getNlink());
    }

    @Test
    void aNameThatWasACopyBecomesALink() throws Exception {
        heal("d/a");
        target.create("d/b", 0644, true, 0, 0);
        target.write("d/b", 0, ByteString.copyFromUtf8("stale copy"));
        heal("d/b");
        assertEquals(target.getattr("d/a").getIno(), target.getattr("d/b").getIno());
        assertEquals("shared content", target.read("d/b", 0, 100).toStringUtf8());
    }

    @Test
    void aFileLinkedToANameOutsideTheGroupIsNotTiedIn() throws Exception {
        // here far/c is also linked as d/other, which the source keeps apart from d/a
        target.create("far/c", 0644, true, 0, 0);
        target.write("far/c", 0, ByteString.copyFromUtf8("other file"));
        target.link("far/c", "d/other");
        heal("d/a");
        assertNotEquals(target.getattr("d/other").getIno(), target.getattr("d/a").getIno());
        assertEquals("other file", target.read("d/other", 0, 100).toStringUtf8());
        assertEquals("shared content", target.read("d/a", 0, 100).toStringUtf8());
    }
}
