package io.braid.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.config.PoolState;
import io.braid.proto.admin.VolumeCreateRequest;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.proto.config.VolumeType;
import io.braid.util.BraidException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TestVolumePlanner {
    private final PoolState pool = new PoolState(Map.of(
            "u1", PeerRecord.newBuilder().setUuid("u1").setHostname("h1").setAddress("127.0.0.11:24100").build(),
            "u2", PeerRecord.newBuilder().setUuid("u2").setHostname("h2").setAddress("127.0.0.12:24100").build(),
            "u3", PeerRecord.newBuilder().setUuid("u3").setHostname("h3").setAddress("127.0.0.13:24100").build()),
            Map.of(), 3);

    private VolumeRecord plan(VolumeCreateRequest.Builder b) {
        return VolumePlanner.plan(b.build(), pool, h -> null);
    }

    private String refusal(VolumeCreateRequest.Builder b) {
        return assertThrows(BraidException.class, () -> plan(b)).getMessage();
    }

    @Test
    void arbiterLayouts() {
        VolumeRecord v = plan(VolumeCreateRequest.newBuilder().setName("a").setReplica(2).setArbiter(1)
                .addBricks("h1:/b").addBricks("h2:/b").addBricks("h3:/b"));
        assertEquals(3, v.getReplicaCount());
        assertEquals(1, v.getArbiterCount());
        assertTrue(v.getBricks(2).getArbiter());
        assertEquals(1, v.getSetsCount());
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").setReplica(4).setArbiter(1)
                .addBricks("h1:/b").addBricks("h2:/b").addBricks("h3:/b").addBricks("h1:/c")).contains("arbiter"));
    }

    @Test
    void refusals() {
        assertEquals("Incorrect number of bricks supplied 2 with count 3",
                refusal(VolumeCreateRequest.newBuilder().setName("a").setReplica(3).addBricks("h1:/b").addBricks("h2:/b")));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").addBricks("h9:/b")).contains("Peer in Cluster"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").addBricks("h1:b")).contains("HOST:/ABSOLUTE/PATH"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").addBricks("h1:/x/../etc")).contains(".."));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").addBricks("h1:/")).contains("root"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").setReplica(2).addBricks("h1:/b").addBricks("h1:/c"))
                .contains("same server"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").addBricks("h1:/b").addBricks("h1:/b/c"))
                .contains("overlap"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").addBricks("h1:/b").addBricks("h1://b/"))
                .contains("duplicate"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").setType("block").addBricks("h1:/b"))
                .contains("needs a size"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").setType("block").setSize("1000").addBricks("h1:/b"))
                .contains("at least"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("../x").addBricks("h1:/b")).contains("invalid"));
        assertTrue(refusal(VolumeCreateRequest.newBuilder().setName("a").setReplica(1).addBricks("h1:/b")).contains("replica"));
    }

    @Test
    void forceAllowsOneServerPerSetAndBlockSizes() {
        VolumeRecord v = plan(VolumeCreateRequest.newBuilder().setName("d").setReplica(2).setType("block").setSize("64M")
                .addBricks("h1:/b").addBricks("h1:/c").setForce(true));
        assertEquals(VolumeType.BLOCK, v.getType());
        assertEquals(64L << 20, v.getSize());
        assertEquals("/b", v.getBricks(0).getPath());
    }
}
