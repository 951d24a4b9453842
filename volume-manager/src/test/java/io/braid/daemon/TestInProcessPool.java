package io.braid.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.proto.admin.Empty;
import io.braid.proto.admin.PeerProbeRequest;
import io.braid.proto.admin.VolumeCreateRequest;
import io.braid.proto.admin.VolumeInfoRequest;
import io.braid.proto.admin.VolumeRequest;
import io.braid.proto.admin.VolumeSetRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(180)
class TestInProcessPool {
    @TempDir
    Path dir;

    @Test
    void probeCreateRestart() throws Exception {
        try (InProcessCluster c = new InProcessCluster(dir, 3)) {
            for (int i = 1; i < 3; i++) {
                assertEquals("", c.admin(0).peerProbe(PeerProbeRequest.newBuilder().setHost(c.address(i).display()).build()).getMessage());
            }
            assertEquals(3, c.admin(2).poolList(Empty.getDefaultInstance()).getMembersCount());
            VolumeCreateRequest.Builder req = VolumeCreateRequest.newBuilder().setName("web").setReplica(3);
            for (int i = 0; i < 3; i++) req.addBricks(c.address(i).display() + ":" + dir.resolve("b" + i));
            c.admin(1).volumeCreate(req.build());
            StatusRuntimeException dup = assertThrows(StatusRuntimeException.class, () -> c.admin(2).volumeCreate(req.build()));
            assertEquals(Status.Code.ALREADY_EXISTS, dup.getStatus().getCode());
            c.admin(0).volumeStart(VolumeRequest.newBuilder().setName("web").build());
            c.admin(0).volumeSet(VolumeSetRequest.newBuilder().setName("web").setKey("network.ping-timeout").setValue("7").build());

            c.stop(2);
            c.start(2);
            var info = c.admin(2).volumeInfo(VolumeInfoRequest.getDefaultInstance()).getVolumes(0);
            assertEquals("Started", info.getStatus());
            assertEquals("7", info.getOptionsMap().get("network.ping-timeout"));
            assertTrue(dir.resolve("b2").resolve(".braid").toFile().isDirectory());
        }
    }
}
