package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeStatusEntry;

class JsonFormatterTest {
    private final JsonFormatter json = new JsonFormatter();

    private static JsonObject parse(String s) {
        return JsonParser.parseString(s).getAsJsonObject();
    }

    @Test
    void volumeInfo() {
        JsonObject root = parse(json.volumeInfo(List.of(Volumes.replicated("web", 3, 2, true).toBuilder()
                .putOptions("network.ping-timeout", "10").build())));
        JsonObject v = root.getAsJsonArray("volumes").get(0).getAsJsonObject();
        assertEquals("web", v.get("name").getAsString());
        assertEquals("Distributed-Replicate", v.get("type").getAsString());
        assertEquals("Started", v.get("status").getAsString());
        assertEquals(3, v.get("replicaCount").getAsInt());
        assertEquals(1, v.get("arbiterCount").getAsInt());
        assertEquals(2, v.get("distCount").getAsInt());
        assertEquals(6, v.get("brickCount").getAsInt());
        assertEquals(0, v.get("size").getAsLong());
        assertTrue(v.has("id"));
        JsonArray bricks = v.getAsJsonArray("bricks");
        assertEquals(6, bricks.size());
        assertEquals("127.0.0.11:/srv/web0", bricks.get(0).getAsJsonObject().get("name").getAsString());
        assertFalse(bricks.get(0).getAsJsonObject().get("arbiter").getAsBoolean());
        assertTrue(bricks.get(2).getAsJsonObject().get("arbiter").getAsBoolean());
        assertEquals("10", v.getAsJsonObject("options").get("network.ping-timeout").getAsString());
    }

    @Test
    void statusPeersListGetOps() {
        JsonObject s = parse(json.volumeStatus(List.of(VolumeStatusEntry.newBuilder().setName("web")
                .addBricks(BrickStatus.newBuilder().setName("h:/b").setOnline(true).setPort(24100).setPid(9)
                        .setRole("primary").setState("UpToDate")).build()), false));
        JsonObject b = s.getAsJsonArray("volumes").get(0).getAsJsonObject().getAsJsonArray("bricks").get(0)
                .getAsJsonObject();
        assertEquals("h:/b", b.get("name").getAsString());
        assertTrue(b.get("online").getAsBoolean());
        assertEquals(24100, b.get("port").getAsInt());
        assertEquals(9, b.get("pid").getAsLong());
        assertEquals("primary", b.get("role").getAsString());
        assertEquals("UpToDate", b.get("state").getAsString());

        JsonObject p = parse(json.peers(List.of(Member.newBuilder().setUuid("u").setHostname("localhost")
                .setConnected(true).setState("Peer in Cluster").build()), true));
        JsonObject peer = p.getAsJsonArray("peers").get(0).getAsJsonObject();
        assertEquals("u", peer.get("uuid").getAsString());
        assertEquals("localhost", peer.get("hostname").getAsString());
        assertTrue(peer.get("connected").getAsBoolean());
        assertEquals("Peer in Cluster", peer.get("state").getAsString());

        assertEquals("[\"a\",\"b\"]", parse(json.volumeList(List.of("a", "b"))).get("volumes").toString());

        JsonObject g = parse(json.volumeGet(VolumeGetReply.newBuilder().setVolume("web").addOptions(
                OptionValue.newBuilder().setKey("k").setValue("v").setDefaultValue("d").setHelp("h")).build()));
        assertEquals("web", g.get("volume").getAsString());
        JsonObject o = g.getAsJsonArray("options").get(0).getAsJsonObject();
        assertEquals("k", o.get("name").getAsString());
        assertEquals("v", o.get("value").getAsString());
        assertEquals("d", o.get("default").getAsString());
        assertEquals("h", o.get("help").getAsString());

        JsonObject ok = parse(json.success(new Success("volume set: success")));
        assertEquals(0, ok.get("opRet").getAsInt());
        assertEquals("volume set: success", ok.get("message").getAsString());
        JsonObject bad = parse(json.failure("Volume web does not exist"));
        assertEquals(-1, bad.get("opRet").getAsInt());
        assertEquals("Volume web does not exist", bad.get("opErrstr").getAsString());
    }
}
