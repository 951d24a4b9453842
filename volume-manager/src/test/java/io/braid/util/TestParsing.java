package io.braid.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.braid.proto.config.VolumeRecord;
import io.braid.volume.VolumeOptions;
import org.junit.jupiter.api.Test;

class TestParsing {
    @Test
    void sizes() {
        assertEquals(64L << 20, Sizes.parse("64M"));
        assertEquals(10L << 30, Sizes.parse("10G"));
        assertEquals(10L << 30, Sizes.parse("10GiB"));
        assertEquals(4096, Sizes.parse("4096"));
        assertEquals(1536, Sizes.parse("1.5K"));
        assertEquals("64M", Sizes.human(64L << 20));
        for (String bad : new String[] {"", "M", "-1G", "ten", "1X", "99999999999P"}) {
            assertThrows(IllegalArgumentException.class, () -> Sizes.parse(bad), bad);
        }
    }

    @Test
    void hostPorts() {
        assertEquals(HostPort.of("127.0.0.11", 24100), HostPort.parse("127.0.0.11"));
        assertEquals(HostPort.of("127.0.0.11", 24200), HostPort.parse("127.0.0.11:24200"));
        assertEquals("127.0.0.11:24200", HostPort.parse("127.0.0.11:24200").display());
        assertEquals("127.0.0.11", HostPort.parse("127.0.0.11:24100").display());
        for (String bad : new String[] {"", "h:0", "h:70000", "h:x", "a b", "h/x"}) {
            assertThrows(IllegalArgumentException.class, () -> HostPort.parse(bad), bad);
        }
    }

    @Test
    void optionDefaultsFollowTheVolume() {
        VolumeRecord r2 = VolumeRecord.newBuilder().setReplicaCount(2).build();
        VolumeRecord r3 = VolumeRecord.newBuilder().setReplicaCount(3).build();
        VolumeRecord arb = VolumeRecord.newBuilder().setReplicaCount(3).setArbiterCount(1).build();
        assertEquals("none", VolumeOptions.effective(r2, VolumeOptions.QUORUM_TYPE));
        assertEquals("auto", VolumeOptions.effective(r3, VolumeOptions.QUORUM_TYPE));
        assertEquals("auto", VolumeOptions.effective(arb, VolumeOptions.QUORUM_TYPE));
        var count = VolumeOptions.find(VolumeOptions.QUORUM_COUNT).orElseThrow();
        assertEquals("3", count.normalize("3", r3));
        assertThrows(IllegalArgumentException.class, () -> count.normalize("3", r2));
        assertEquals("on", VolumeOptions.find(VolumeOptions.SELF_HEAL_DAEMON).orElseThrow().normalize("enable", r2));
    }
}
