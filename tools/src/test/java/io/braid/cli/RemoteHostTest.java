package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

class RemoteHostTest {

    @Test
    void parses() {
        assertEquals(new RemoteHost("127.0.0.12", 24100), RemoteHost.parse("127.0.0.12"));
        assertEquals(new RemoteHost("127.0.0.12", 24111), RemoteHost.parse("127.0.0.12:24111"));
        assertEquals(new RemoteHost("node1.example", 24100), RemoteHost.parse("node1.example"));
        assertEquals(new RemoteHost("::1", 24100), RemoteHost.parse("::1"));
        assertEquals(new RemoteHost("::1", 7), RemoteHost.parse("[::1]:7"));
        assertEquals(new RemoteHost("fe80::2", 24100), RemoteHost.parse("[fe80::2]"));
    }

    @Test
    void printsHostAndPort() {
        assertEquals("127.0.0.1:24100", RemoteHost.parse("127.0.0.1").toString());
        assertEquals("[::1]:9", RemoteHost.parse("[::1]:9").toString());
    }

    @Test
    void rejectsNonsense() {
        for (String bad : new String[] {"", " ", "host:", "host:x", "host:0", "host:65536", ":24100",
                "[::1", "[::1]x", "a b", "host:/path"}) {
            assertThrows(IllegalArgumentException.class, () -> RemoteHost.parse(bad), bad);
        }
    }

    @Test
    void defaults() {
        assertEquals(new RemoteHost("127.0.0.1", 24100), RemoteHost.resolve(null, Map.of()));
        assertEquals(new RemoteHost("127.0.0.13", 24100),
                RemoteHost.resolve(null, Map.of("BRAID_HOST", "127.0.0.13")));
        assertEquals(new RemoteHost("127.0.0.14", 5),
                RemoteHost.resolve("127.0.0.14:5", Map.of("BRAID_HOST", "127.0.0.13")));
        assertEquals(new RemoteHost("127.0.0.1", 24100), RemoteHost.resolve(null, Map.of("BRAID_HOST", " ")));
    }
}
