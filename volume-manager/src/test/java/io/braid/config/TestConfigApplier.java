package io.braid.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.proto.config.AddPeer;
import io.braid.proto.config.BrickRecord;
import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.CreateVolume;
import io.braid.proto.config.DeleteVolume;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.RemovePeer;
import io.braid.proto.config.SetOption;
import io.braid.proto.config.SetVolumeStatus;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeStatus;
import org.junit.jupiter.api.Test;

class TestConfigApplier {
    private static PoolState apply(PoolState s, ConfigCommand c) {
        ConfigApplier.Outcome o = ConfigApplier.apply(s, c, s.appliedIndex() + 1);
        assertNull(o.error(), o.error());
        return o.state();
    }

    private static String refused(PoolState s, ConfigCommand c) {
        ConfigApplier.Outcome o = ConfigApplier.apply(s, c, s.appliedIndex() + 1);
        assertTrue(o.writes().isEmpty());
        return o.error();
    }

    private static ConfigCommand addPeer(String uuid) {
        return ConfigCommand.newBuilder().setAddPeer(AddPeer.newBuilder().setPeer(
                PeerRecord.newBuilder().setUuid(uuid).setHostname("h-" + uuid).setAddress("127.0.0.1:" + uuid.length()))).build();
    }

    private static ConfigCommand create(String name, String node, String path) {
        return ConfigCommand.newBuilder().setCreateVolume(CreateVolume.newBuilder().setVolume(VolumeRecord.newBuilder()
                .setName(name).setId(name + "-id").setReplicaCount(1)
                .addBricks(BrickRecord.newBuilder().setHost("h-" + node).setNodeUuid(node).setPath(path)))).build();
    }

    @Test
    void racingRequestsCannotBothWin() {
        PoolState s = apply(PoolState.EMPTY, addPeer("a"));
        s = apply(s, create("web", "a", "/srv/b"));
        assertEquals("Volume web already exists", refused(s, create("web", "a", "/srv/c")));
        assertEquals("brick h-a:/srv/b is already part of volume web", refused(s, create("docs", "a", "/srv/b")));
        assertTrue(refused(s, create("docs", "a", "/srv/b/inner")).contains("already part of volume web"));
        assertTrue(refused(s, create("docs", "z", "/srv/x")).contains("not in 'Peer in Cluster' state"));
        s = apply(s, create("docs", "a", "/srv/bb")); // a sibling whose name shares a prefix is fine
        assertEquals(2, s.volumes().size());
    }

    @Test
    void lifecycleRules() {
        PoolState s = apply(apply(PoolState.EMPTY, addPeer("a")), create("web", "a", "/srv/b"));
        ConfigCommand start = ConfigCommand.newBuilder().setSetVolumeStatus(
                SetVolumeStatus.newBuilder().setName("web").setStatus(VolumeStatus.STARTED)).build();
        ConfigCommand stop = ConfigCommand.newBuilder().setSetVolumeStatus(
                SetVolumeStatus.newBuilder().setName("web").setStatus(VolumeStatus.STOPPED)).build();
        ConfigCommand delete = ConfigCommand.newBuilder().setDeleteVolume(DeleteVolume.newBuilder().setName("web")).build();
        assertTrue(refused(s, stop).contains("not in the started state"));
        s = apply(s, start);
        assertTrue(refused(s, delete).contains("stopped before deletion"));
        assertTrue(refused(s, ConfigCommand.newBuilder().setRemovePeer(RemovePeer.newBuilder().setUuid("a")).build())
                .contains("hosts bricks"));
        s = apply(apply(s, stop), delete);
        assertTrue(s.volumes().isEmpty());
        s = apply(s, ConfigCommand.newBuilder().setRemovePeer(RemovePeer.newBuilder().setUuid("a")).build());
        assertTrue(s.peers().isEmpty());
    }

    @Test
    void optionsAreCheckedAgainWhenApplied() {
        PoolState s = apply(apply(PoolState.EMPTY, addPeer("a")), create("web", "a", "/srv/b"));
        ConfigCommand bad = ConfigCommand.newBuilder().setSetOption(
                SetOption.newBuilder().setName("web").setKey("network.ping-timeout").setValue("never")).build();
        assertTrue(refused(s, bad).contains("network.ping-timeout"));
        ConfigCommand good = ConfigCommand.newBuilder().setSetOption(
                SetOption.newBuilder().setName("web").setKey("replication.protocol").setValue("b")).build();
        assertEquals("B", apply(s, good).volume("web").orElseThrow().getOptionsMap().get("replication.protocol"));
    }
}
