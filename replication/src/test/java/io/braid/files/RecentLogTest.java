package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.proto.filerep.DirtyEntry;
import io.braid.store.KeyValueStore;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The recent log of a file brick: what a restarted process finds in it, whatever it was cut off in. */
class RecentLogTest {
    @TempDir
    Path dir;
    KeyValueStore kv;

    @BeforeEach
    void open() throws Exception {
        kv = KeyValueStore.open(dir.resolve("meta"));
    }

    @AfterEach
    void close() {
        kv.close();
    }

    static DirtyEntry entry(String path) {
        return DirtyEntry.newBuilder().setPath(path).setFlags(DirtyIndex.DATA).addRanges(0).addRanges(4096).build();
    }

    static List<String> paths(RecentLog log) {
        return log.before(Long.MAX_VALUE).stream().map(e -> e.getPath() + "@" + e.getEpoch() + "." + e.getSeq()).sorted().toList();
    }

    @Test
    void entriesAndPrunesSurviveARestart() throws Exception {
        try (RecentLog log = new RecentLog(dir, kv)) {
            log.update(-1, 0, false, List.of(entry("a")), 3, 1);
            log.update(-1, 0, false, List.of(entry("b"), entry("c")), 3, 2);
            log.update(3, 1, false, List.of(entry("d")), 3, 3); // a settled: pruned with d's record
        }
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of("b@3.2", "c@3.2", "d@3.3"), paths(log));
            log.prune(4, 0, true); // a new primary's view: every entry of an older epoch goes
            assertEquals(List.of(), paths(log));
            log.update(-1, 0, false, List.of(entry("e")), 4, 1);
        }
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of("e@4.1"), paths(log));
            assertEquals(1, log.before(5).size());
            assertEquals(0, log.before(4).size());
        }
    }

    @Test
    void aTornOrDamagedTailIsCutOffAndTheLogGoesOn() throws Exception {
        Path file = dir.resolve(RecentLog.FILE);
        try (RecentLog log = new RecentLog(dir, kv)) {
            log.update(-1, 0, false, List.of(entry("kept")), 1, 1);
        }
        long good = Files.size(file);
        try (RecentLog log = new RecentLog(dir, kv)) {
            log.update(-1, 0, false, List.of(entry("torn")), 1, 2);
        }
        // the process died in the middle of the second frame: only part of it reached the file
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(good + 11);
        }
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of("kept@1.1"), paths(log));
            assertEquals(good, Files.size(file), "the torn frame is cut off");
            log.update(-1, 0, false, List.of(entry("after")), 1, 3);
        }
        // a frame whose bytes changed fails its check: it and what follows are dropped
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xff}), good + 20);
        }
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of("kept@1.1"), paths(log));
        }
    }

    @Test
    void aRingTheMetadataStoreKeptMovesIntoTheFile() throws Exception {
        try (KeyValueStore.Batch b = kv.newBatch()) {
            b.put("frecent/0007", entry("old").toBuilder().setEpoch(2).setSeq(9).build().toByteArray());
            b.put("frecent-next", "8".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            b.commit();
        }
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of("old@2.9"), paths(log));
            log.update(-1, 0, false, List.of(entry("new")), 2, 10);
        }
        assertTrue(kv.scan("frecent/").isEmpty());
        assertNull(kv.getString("frecent-next"));
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of("new@2.10", "old@2.9"), paths(log));
        }
    }

    @Test
    void aLongLogIsRewrittenWithTheLiveEntriesOnly() throws Exception {
        Path file = dir.resolve(RecentLog.FILE);
        String longName = "d/".repeat(1000) + "f";
        try (RecentLog log = new RecentLog(dir, kv)) {
            long seq = 0;
            // each mutation settles the one before it, as on a primary whose peers keep up
            while (seq < 20_000) {
                seq++;
                log.update(5, seq - 1, false, List.of(entry(longName + seq)), 5, seq);
                assertTrue(Files.size(file) <= RecentLog.COMPACT_BYTES + 8192, "rewritten once past the limit");
            }
        }
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of(longName + "20000@5.20000"), paths(log));
            log.update(5, 20_000, false, List.of(), 5, 0);
            assertEquals(List.of(), paths(log));
        }
        try (RecentLog log = new RecentLog(dir, kv)) {
            assertEquals(List.of(), paths(log));
        }
    }
}
