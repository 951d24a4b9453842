package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FdCacheTest {
    @TempDir
    Path tmp;
    byte[] file;
    Path path;

    @BeforeEach
    void setUp() throws Exception {
        path = Files.writeString(tmp.resolve("f"), "x").toRealPath();
        file = Brick.cString(path.toString());
    }

    @Test
    void anFdOpenedBeforeAnInvalidationIsNeverCached() {
        FdCache cache = new FdCache(4);
        long epoch = cache.epoch();
        FdCache.Handle fresh = open();
        cache.invalidate("a", false); // a rename of "a" finished while the fd was being opened
        FdCache.Handle held = cache.offer("a", fresh, epoch);
        assertSame(fresh, held);
        assertEquals(0, cache.size());
        assertNull(cache.acquire("a"));
        held.release();
        assertFalse(isOpen(fresh.fd));

        epoch = cache.epoch();
        fresh = open();
        held = cache.offer("a", fresh, epoch);
        assertEquals(1, cache.size());
        held.release();
        assertTrue(isOpen(fresh.fd), "the cache keeps it open");
        cache.close();
        assertFalse(isOpen(fresh.fd));
    }

    @Test
    void aSecondOpenerGetsTheCachedHandle() {
        FdCache cache = new FdCache(4);
        FdCache.Handle first = cache.offer("a", open(), cache.epoch());
        FdCache.Handle second = open();
        FdCache.Handle held = cache.offer("a", second, cache.epoch());
        assertSame(first, held);
        assertFalse(isOpen(second.fd));
        first.release();
        held.release();
        assertTrue(isOpen(first.fd));
        cache.close();
    }

    @Test
    void evictionAndInvalidationWaitForHoldersToRelease() {
        FdCache cache = new FdCache(2);
        FdCache.Handle a = cache.offer("a", open(), cache.epoch());
        cache.offer("b", open(), cache.epoch()).release();
        cache.offer("c", open(), cache.epoch()).release(); // evicts "a", which a reader still holds
        assertEquals(2, cache.size());
        assertNull(cache.acquire("a"));
        assertTrue(isOpen(a.fd));
        a.release();
        assertFalse(isOpen(a.fd));

        FdCache.Handle b = cache.acquire("b");
        assertNotNull(b);
        cache.invalidate("b", false);
        assertTrue(isOpen(b.fd));
        b.release();
        assertFalse(isOpen(b.fd));
        cache.close();
    }

    @Test
    void invalidatingADirectoryDropsWhatIsUnderIt() {
        FdCache cache = new FdCache(8);
        for (String k : new String[] {"d", "d/x", "d/sub/y", "dx", "e/d"}) cache.offer(k, open(), cache.epoch()).release();
        cache.invalidate("d", true);
        assertEquals(2, cache.size());
        assertNull(cache.acquire("d/sub/y"));
        FdCache.Handle dx = cache.acquire("dx");
        assertNotNull(dx);
        dx.release();
        cache.invalidate("", true);
        assertEquals(0, cache.size());
    }

    @Test
    void theDirectDescriptorIsOpenedOnceAndClosedOnlyWithItsHandle() {
        FdCache.Handle h = open();
        int[] opens = {0};
        java.util.function.IntSupplier opener = () -> {
            opens[0]++;
            return LibC.INSTANCE.openat(LibC.AT_FDCWD, file, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        };
        int direct = h.directFd(opener);
        assertTrue(direct > 0);
        assertEquals(direct, h.directFd(opener));
        assertEquals(1, opens[0]);
        h.noDirect(); // a write through it was refused: no more direct writes...
        assertEquals(-1, h.directFd(opener));
        assertEquals(1, opens[0]);
        assertTrue(isOpen(direct), "...but a write on another thread may still be using it");
        h.release();
        assertFalse(isOpen(direct));
        assertFalse(isOpen(h.fd));

        FdCache.Handle refused = open();
        assertEquals(-1, refused.directFd(() -> -1));
        assertEquals(-1, refused.directFd(opener), "asked once only");
        assertEquals(1, opens[0]);
        refused.release();
    }

    private FdCache.Handle open() {
        int fd = LibC.INSTANCE.openat(LibC.AT_FDCWD, file, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0);
        return new FdCache.Handle(fd, true);
    }

    /**
     * Whether fd is still open on the test's file. Only the number would not do: once closed, it
     * may be reused at once by another thread of this JVM (seen under load).
     */
    private boolean isOpen(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).equals(path);
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
