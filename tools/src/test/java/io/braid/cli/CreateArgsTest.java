package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.braid.proto.admin.VolumeCreateRequest;

class CreateArgsTest {

    private static CreateArgs parse(String line) {
        return CreateArgs.parse(List.of(line.split(" ")));
    }

    private static CliFailure fails(String line) {
        CliFailure f = assertThrows(CliFailure.class, () -> parse(line));
        assertEquals(CliFailure.USAGE, f.exitCode());
        assertTrue(f.line().startsWith("volume create: failed: "), f.line());
        assertTrue(f.line().contains("Usage: volume create <NAME>"), f.line());
        assertFalse(f.line().contains("\n"));
        return f;
    }

    @Test
    void plainDistribute() {
        CreateArgs a = parse("web 127.0.0.11:/srv/b");
        assertEquals("web", a.name());
        assertEquals(0, a.replica());
        assertEquals(0, a.arbiter());
        assertEquals("", a.type());
        assertEquals("", a.size());
        assertEquals(List.of("127.0.0.11:/srv/b"), a.bricks());
        assertFalse(a.force());
    }

    @Test
    void replicaThreeWithForce() {
        CreateArgs a = parse("web replica 3 h1:/b h2:/b h3:/b force");
        assertEquals(3, a.replica());
        assertEquals(List.of("h1:/b", "h2:/b", "h3:/b"), a.bricks());
        assertTrue(a.force());
        assertFalse(a.replicaTwoWithoutArbiter());
    }

    @Test
    void arbiter() {
        CreateArgs a = parse("web replica 3 arbiter 1 h1:/b h2:/b h3:/b");
        assertEquals(3, a.replica());
        assertEquals(1, a.arbiter());
        assertFalse(parse("web replica 2 arbiter 1 h1:/b h2:/b h3:/b").replicaTwoWithoutArbiter());
        assertTrue(parse("web replica 2 h1:/b h2:/b").replicaTwoWithoutArbiter());
    }

    @Test
    void keywordsInAnyOrder() {
        CreateArgs a = parse("vm size 64M type block replica 3 h1:/b h2:/b h3:/b");
        assertEquals("block", a.type());
        assertEquals("64M", a.size());
        assertEquals(3, a.replica());
        CreateArgs b = parse("vm type block size 10G h1:/b");
        assertEquals("block", b.type());
        assertEquals("10G", b.size());
        assertEquals("file", parse("docs type file h1:/b").type());
        assertEquals("block", parse("vm type BLOCK size 1G h1:/b").type());
    }

    @Test
    void request() {
        VolumeCreateRequest r = parse("vm replica 3 arbiter 1 type block size 64M a:/1 b:/2 c:/3 force").toRequest();
        assertEquals("vm", r.getName());
        assertEquals(3, r.getReplica());
        assertEquals(1, r.getArbiter());
        assertEquals("block", r.getType());
        assertEquals("64M", r.getSize());
        assertEquals(List.of("a:/1", "b:/2", "c:/3"), r.getBricksList());
        assertTrue(r.getForce());
        VolumeCreateRequest plain = parse("web a:/1").toRequest();
        assertEquals(0, plain.getReplica());
        assertEquals(0, plain.getArbiter());
        assertEquals("", plain.getType());
        assertEquals("", plain.getSize());
        assertFalse(plain.getForce());
    }

    @Test
    void badWords() {
        assertThrows(CliFailure.class, () -> CreateArgs.parse(List.of()));
        assertTrue(fails("web replica x a:/b").reason().contains("not a number"));
        assertTrue(fails("web replica 0 a:/b").reason().contains("at least 1"));
        assertTrue(fails("web replica 3 arbiter 2 a:/b b:/b c:/b").reason().contains("arbiter"));
        fails("web arbiter 1 a:/b b:/b c:/b");
        fails("web replica 3");
        fails("web replica");
        fails("web replica 3 force");
        fails("web");
        assertTrue(fails("web replica 2 a:/b nocolon").reason().contains("wrong brick type: nocolon"));
        fails("web a:relative");
        fails("web :/nohost");
        fails("web type weird a:/b");
        fails("web size");
        fails("web replica 2 replica 3 a:/b");
        fails("replica 3 a:/b b:/b c:/b");
        fails("a:/b c:/d");
        fails("web a:/b replica 2");
    }
}
