package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

class OpenProbeTest {
    private final OpenProbe probe = OpenProbe.forThisMachine();

    @Test
    void readsTheOpenFromASyscallLine() {
        assumeTrue(System.getProperty("os.arch").matches("amd64|x86_64"), "x86-64 syscall numbers");
        // openat(AT_FDCWD, 0x7ffd1000, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644)
        OpenProbe.Call c = probe.exclusiveCreateCall("257 0xffffff9c 0x7ffd1000 0x800c1 0x1a4 0x0 0x0 0x7ffd0f00 0x7f00aa");
        assertEquals(new OpenProbe.Call(-100, 0x7ffd1000L), c);
        assertEquals(new OpenProbe.Call(-100, 0x7ffd1000L),
                probe.exclusiveCreateCall("257 0xffffffffffffff9c 0x7ffd1000 0xc1 0x1a4 0x0 0x0 0x7ffd0f00 0x7f00aa"));
        assertEquals(new OpenProbe.Call(5, 0x5000L), probe.exclusiveCreateCall("257 0x5 0x5000 0xc1 0x1a4 0x0 0x0 0x1 0x2"));
        assertEquals(new OpenProbe.Call(-100, 0x6000L), probe.exclusiveCreateCall("2 0x6000 0xc1 0x1a4 0x0 0x0 0x0 0x1 0x2"));
        assertNull(probe.exclusiveCreateCall("257 0xffffff9c 0x7ffd1000 0x41 0x1a4 0x0 0x0 0x1 0x2"), "O_CREAT without O_EXCL");
        assertNull(probe.exclusiveCreateCall("257 0xffffff9c 0x7ffd1000 0x0 0x0 0x0 0x0 0x1 0x2"), "a plain open");
        assertNull(probe.exclusiveCreateCall("83 0x6000 0x1ed 0x0 0x0 0x0 0x0 0x1 0x2"), "mkdir");
        assertNull(probe.exclusiveCreateCall("running"));
        assertNull(probe.exclusiveCreateCall("-1 0x7ffd0f00 0x7f00aa"));
        assertNull(probe.exclusiveCreateCall("257 zz 0x1 0xc1 0x0 0x0 0x0 0x1 0x2"));
    }

    @Test
    void keepsOnlyPlainNames() {
        assertEquals("/mnt/web/a/b", OpenProbe.lexical("/mnt//web/a/b/"));
        assertEquals("/", OpenProbe.lexical("///"));
        assertNull(OpenProbe.lexical("/mnt/web/./a"));
        assertNull(OpenProbe.lexical("/mnt/web/../web/a"));
        assertEquals("/mnt/web/..a/.b", OpenProbe.lexical("/mnt/web/..a/.b"));
    }

    @Test
    void aThreadNotCreatingSaysNo() {
        assertNull(probe.exclusiveCreate(ProcessHandle.current().pid()));
        assertNull(probe.exclusiveCreate(0));
        assertNull(probe.exclusiveCreateCall("257 0xffffff9c 0x0 0xc1 0x1a4 0x0 0x0 0x1 0x2"), "no name");
    }
}
