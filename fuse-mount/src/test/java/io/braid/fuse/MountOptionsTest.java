package io.braid.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MountOptionsTest {
    private static MountOptions parse(String line) {
        return MountOptions.parse(Arrays.asList(line.split(" ")));
    }

    @Test
    void specAndDefaults() {
        MountOptions o = parse("127.0.0.11:/web /mnt/x");
        assertEquals(new ServerAddress("127.0.0.11", 24100), o.server());
        assertEquals("web", o.volume());
        assertEquals("/mnt/x", o.dir());
        assertFalse(o.foreground());
        assertFalse(o.readOnly());
        assertEquals(1.0, o.attrTimeout());
        assertEquals(1.0, o.entryTimeout());
        assertNull(o.logFile());
        assertEquals(List.of(), o.backups());
        assertEquals("127.0.0.11:/web", o.source());
        assertEquals(List.of(new ServerAddress("127.0.0.11", 24100)), o.layoutServers());
    }

    @Test
    void portInSpecAndOptionsAnywhere() {
        MountOptions o = parse("-f server.example:24200:/docs /srv -o ro,attr-timeout=0.5,entry-timeout=3,log-file=/tmp/m.log");
        assertEquals(new ServerAddress("server.example", 24200), o.server());
        assertEquals("docs", o.volume());
        assertTrue(o.foreground());
        assertTrue(o.readOnly());
        assertEquals(0.5, o.attrTimeout());
        assertEquals(3.0, o.entryTimeout());
        assertEquals(Path.of("/tmp/m.log"), o.logFile());
        MountOptions joined = MountOptions.parse(List.of("-oro", "[::1]:24101:/v", "/m"));
        assertTrue(joined.readOnly());
        assertEquals(new ServerAddress("::1", 24101), joined.server());
        assertEquals("[::1]:/v", joined.source());
    }

    @Test
    void backupServers() {
        assertEquals(List.of(new ServerAddress("h2", 24100), new ServerAddress("h3", 24100)),
                MountOptions.backupServers("h2:h3", 24100));
        assertEquals(List.of(new ServerAddress("h2", 24101), new ServerAddress("h3", 24100),
                        new ServerAddress("127.0.0.13", 9)),
                MountOptions.backupServers("h2:24101:h3:127.0.0.13:9", 24100));
        // A host without a port takes the port of the spec's server.
        MountOptions o = parse("-o backup-servers=127.0.0.12:127.0.0.13:24100 127.0.0.11:24300:/web /mnt");
        assertEquals(List.of(new ServerAddress("127.0.0.12", 24300), new ServerAddress("127.0.0.13", 24100)), o.backups());
        assertEquals(3, o.layoutServers().size());
        assertEquals(new ServerAddress("127.0.0.11", 24300), o.layoutServers().get(0));
        // GlusterFS's name works too.
        assertEquals(1, parse("-o backup-volfile-servers=h2 h1:/v /m").backups().size());
        for (String bad : List.of("h2::h3", ":h2", "24100", "h2:99999", "h2:1:2")) {
            MountException e = assertThrows(MountException.class, () -> MountOptions.backupServers(bad, 24100), bad);
            assertEquals(2, e.exitCode());
            assertTrue(e.getMessage().startsWith("invalid backup-servers '" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void genericMountOptionsAreAcceptedAndKernelFlagsPassedOn() {
        MountOptions o = parse("-o defaults,_netdev,auto,noauto,rw,nofail,user,nouser,exec,noexec,suid,nosuid,dev,nodev,"
                + "x-systemd.automount,x-gvfs-hide,noatime,comment=x h:/v /m");
        assertFalse(o.readOnly());
        assertEquals(List.of("noexec", "nosuid", "nodev"), o.kernelFlags());
        assertTrue(parse("-o ro,_netdev h:/v /m").readOnly());
        assertFalse(parse("-o ro,rw h:/v /m").readOnly());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "h:/v", "h:/v /m extra", "-o", "-x h:/v /m", "--frob h:/v /m", "h:v /m", "h /m",
        ":/v /m", "h:/ /m", "h:/a/b /m", "h:99999:/v /m", "h:x:/v /m", "-o frob h:/v /m", "-o attr-timeout=x h:/v /m",
        "-o attr-timeout=-1 h:/v /m", "-o entry-timeout h:/v /m", "-o log-file= h:/v /m", "-o backup-servers h:/v /m",
        "-o ro=1 h:/v /m", "-o defaults=1 h:/v /m"})
    void malformedLinesAreUsageErrors(String line) {
        List<String> args = line.isEmpty() ? List.of() : Arrays.asList(line.split(" "));
        MountException e = assertThrows(MountException.class, () -> MountOptions.parse(args));
        assertEquals(MountException.USAGE, e.exitCode());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void unknownOptionMessage() {
        MountException e = assertThrows(MountException.class, () -> parse("-o ro,frobnicate=3 h:/v /m"));
        assertEquals("unknown option 'frobnicate=3'", e.getMessage());
    }

    @Test
    void argumentsForTheChildRoundTrip() {
        MountOptions o = parse("-o backup-servers=b:24101:c,ro,attr-timeout=2,entry-timeout=0,log-file=/l,nosuid h:24102:/v /m");
        MountOptions again = MountOptions.parse(o.toArgs(true));
        assertTrue(again.foreground());
        assertEquals(o.server(), again.server());
        assertEquals(o.backups(), again.backups());
        assertEquals(o.readOnly(), again.readOnly());
        assertEquals(o.attrTimeout(), again.attrTimeout());
        assertEquals(o.entryTimeout(), again.entryTimeout());
        assertEquals(o.logFile(), again.logFile());
        assertEquals(o.kernelFlags(), again.kernelFlags());
        assertEquals(o.dir(), again.dir());
    }

    @Test
    void fuseOptions() {
        List<String> opts = FuseOptions.of(parse("-o ro,attr-timeout=2.5,nodev h:/web /m"));
        assertEquals("-o", opts.get(0));
        List<String> items = Arrays.asList(opts.get(1).split(","));
        assertTrue(items.containsAll(List.of("fsname=h:/web", "subtype=braid", "default_permissions",
                "big_writes", "max_write=131072", "max_read=131072", "ro", "nodev")), items.toString());
        MountOptions o = parse("-o ro,attr-timeout=2.5,nodev h:/web /m");
        assertEquals(2.5, o.attrTimeout()); // LowLevelFs answers the kernel with it
        assertEquals(1.0, o.entryTimeout());
    }

    @Test
    void serverAddresses() {
        assertEquals(new ServerAddress("h", 1), ServerAddress.parse("h:1", 24100));
        assertEquals(new ServerAddress("h", 24100), ServerAddress.parse("h", 24100));
        assertEquals("[::1]:5", ServerAddress.parse("[::1]:5", 24100).target());
        assertThrows(IllegalArgumentException.class, () -> ServerAddress.parse("::1", 24100));
        assertThrows(IllegalArgumentException.class, () -> ServerAddress.parse("h:0", 24100));
    }
}
