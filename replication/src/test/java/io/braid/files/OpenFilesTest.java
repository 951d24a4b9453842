package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.braid.proto.file.FileRequest;
import io.braid.proto.file.Read;
import io.braid.proto.file.Write;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** OpenFiles on a real brick directory: which name a request through a handle is served under. */
@Timeout(60)
class OpenFilesTest {
    @TempDir
    Path tmp;
    FileStore store;
    OpenFiles open;
    final List<String> dropped = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        Path brick = Files.createDirectory(tmp.resolve("brick"));
        Files.createDirectories(brick.resolve(".braid/meta"));
        store = FileStore.open(brick);
        open = new OpenFiles(store, dropped::add);
    }

    @AfterEach
    void tearDown() {
        open.clear();
        store.close();
    }

    static FileRequest write(String client, long fh, String path) {
        return FileRequest.newBuilder().setClient(client).setFh(fh)
                .setWrite(Write.newBuilder().setPath(path).setData(ByteString.copyFromUtf8("x"))).build();
    }

    @Test
    void aRequestThroughAHandleGoesToTheNameItsFileHasNow() throws Exception {
        store.mkdir("d", 0755, 0, 0);
        store.create("d/log", 0644, true, 0, 0);
        open.bind("a", 7, "/d/log");
        FileRequest same = write("a", 7, "/d/log");
        assertSame(same, open.through(same), "nothing renamed: the request as it is");

        store.rename("d/log", "d/log.1", 0);
        store.rename("d", "e", 0);
        assertEquals("/e/log.1", open.through(write("a", 7, "/d/log")).getWrite().getPath());
        FileRequest read = FileRequest.newBuilder().setClient("a").setFh(7)
                .setRead(Read.newBuilder().setPath("/d/log").setSize(1)).build();
        assertEquals("/e/log.1", open.through(read).getRead().getPath());

        // another client's handle number, no handle, an unknown one: by path alone
        FileRequest other = write("b", 7, "/d/log");
        assertSame(other, open.through(other));
        FileRequest none = write("a", 0, "/d/log");
        assertSame(none, open.through(none));

        open.release("a", 7);
        FileRequest after = write("a", 7, "/d/log");
        assertSame(after, open.through(after), "released: by path again");
        assertEquals(0, open.size());
    }

    @Test
    void aFileWhoseLastNameWentIsServedUnderTheNameKeptForItUntilItsLastHandleGoes() throws Exception {
        store.create("f", 0644, true, 0, 0);
        long ino = store.getattr("f").getIno();
        open.bind("a", 1, "/f");
        open.bind("b", 2, "/f");
        assertTrue(java.util.Set.of("a", "b").contains(open.holderOf(ino)));
        Files.createDirectories(store.root().resolve(".braid-unlinked"));
        store.link("f", ".braid-unlinked/0-a-o1");
        open.kept(ino, ".braid-unlinked/0-a-o1");
        store.unlink("f");
        assertEquals("/.braid-unlinked/0-a-o1", open.through(write("a", 1, "/f")).getWrite().getPath());
        assertEquals("/.braid-unlinked/0-a-o1", open.through(write("b", 2, "/f")).getWrite().getPath());
        assertTrue(open.keeps(".braid-unlinked/0-a-o1"));

        open.release("a", 1);
        assertTrue(dropped.isEmpty(), "b still has it open");
        open.release("b", 2);
        assertEquals(List.of(".braid-unlinked/0-a-o1"), dropped);
        assertNull(open.holderOf(ino));
    }

    @Test
    void aDirectoryOrAMissingNameIsNotKept() throws Exception {
        store.mkdir("d", 0755, 0, 0);
        open.bind("a", 1, "/d");
        open.bind("a", 2, "/missing");
        assertEquals(0, open.size());
    }

    @Test
    void aSessionsEndReleasesEveryHandleOfItsClient() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.create("g", 0644, true, 0, 0);
        open.bind("a", 1, "/f");
        open.bind("a", 2, "/g");
        open.bind("b", 1, "/f");
        open.releaseAll("a");
        assertEquals(1, open.size());
        store.rename("f", "f2", 0);
        assertEquals("/f2", open.through(write("b", 1, "/f")).getWrite().getPath());
    }

    @Test
    void aLockIsOnTheFileWhateverNameReachesIt() throws Exception {
        store.create("f", 0644, true, 0, 0);
        store.create("ro", 0644, true, 0, 0);
        open.bind("a", 3, "/f");
        String key = open.lockKey("a", 3, "/f", true);
        assertEquals(key, open.lockKey("b", 0, "/f", true), "another client, by path");

        store.rename("f", "g", 0);
        store.link("g", "h");
        assertEquals(key, open.lockKey("a", 3, "/f", false), "through the handle, under the old name");
        assertEquals(key, open.lockKey("b", 0, "/g", true), "the new name");
        assertEquals(key, open.lockKey("b", 0, "/h", true), "a second name");

        // a handle not kept at its open is kept from its first lock: its unlock finds the file after a rename
        String ro = open.lockKey("a", 4, "/ro", false);
        assertEquals(1, open.size(), "an unlock or a test keeps nothing");
        assertEquals(ro, open.lockKey("a", 4, "/ro", true));
        assertEquals(2, open.size());
        store.rename("ro", "ro2", 0);
        assertEquals(ro, open.lockKey("a", 4, "/ro", false));
        assertTrue(!ro.equals(key));

        assertEquals("path:gone", open.lockKey("b", 0, "/gone", true), "nothing there: the path itself");
    }
}
