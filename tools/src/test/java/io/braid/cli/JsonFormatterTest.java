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

    @Test
    void healInfo() {
        JsonObject o = parse(json.healInfo(Heals.info(), HealView.INFO));
        assertEquals("web", o.get("volume").getAsString());
        assertFalse(o.has("progress"));
        JsonArray bricks = o.getAsJsonArray("bricks");
        assertEquals(3, bricks.size());
        JsonObject b2 = bricks.get(1).getAsJsonObject();
        assertEquals("127.0.0.12:/srv/b", b2.get("name").getAsString());
        assertTrue(b2.get("connected").getAsBoolean());
        assertEquals(2, b2.get("entries").getAsLong());
        assertEquals(8192, b2.get("outOfSyncBytes").getAsLong());
        assertEquals(1, b2.get("splitBrain").getAsInt());
        assertEquals("Connected", b2.get("status").getAsString());
        assertEquals("[\"/docs/a.txt\",\"/docs/b.txt\"]", b2.get("paths").toString());
        JsonObject b3 = bricks.get(2).getAsJsonObject();
        assertFalse(b3.get("connected").getAsBoolean());
        assertEquals("Transport endpoint is not connected", b3.get("status").getAsString());
        assertEquals(0, b3.get("entries").getAsLong());
    }

    @Test
    void healInfoSummary() {
        JsonObject idle = parse(json.healInfo(Heals.info(), HealView.SUMMARY));
        assertTrue(idle.has("progress"));
        assertTrue(idle.get("progress").isJsonNull());
        JsonObject b2 = idle.getAsJsonArray("bricks").get(1).getAsJsonObject();
        assertEquals(1, b2.get("healPending").getAsLong());
        assertEquals(1, b2.get("splitBrain").getAsInt());

        JsonObject running = parse(json.healInfo(Heals.running(), HealView.SUMMARY));
        assertEquals("vm", running.get("volume").getAsString());
        JsonObject p = running.getAsJsonObject("progress");
        assertEquals(0.45, p.get("done").getAsDouble(), 1e-12);
        assertEquals(129394278, p.get("bytesRemaining").getAsLong());
        assertEquals(12, p.get("etaSeconds").getAsLong());
        assertEquals(129394278, running.getAsJsonArray("bricks").get(1).getAsJsonObject().get("outOfSyncBytes")
                .getAsLong());
    }

    @Test
    void verify() {
        JsonObject clean = parse(json.verify(Heals.clean(), false));
        assertEquals("vm", clean.get("volume").getAsString());
        assertEquals(67108864, clean.get("bytesCompared").getAsLong());
        assertEquals(0, clean.getAsJsonArray("differing").size());
        assertEquals(0, clean.get("repaired").getAsLong());
        assertFalse(clean.get("repair").getAsBoolean());

        JsonObject diff = parse(json.verify(Heals.differing(2), true));
        JsonArray differing = diff.getAsJsonArray("differing");
        assertEquals(2, differing.size());
        JsonObject block = differing.get(0).getAsJsonObject();
        assertEquals("127.0.0.12:/srv/vm", block.get("brick").getAsString());
        assertEquals(4096, block.get("offset").getAsLong());
        assertEquals(4096, block.get("length").getAsLong());
        assertTrue(block.has("file"));
        assertTrue(block.get("file").isJsonNull());
        assertEquals("/docs/a.txt", differing.get(1).getAsJsonObject().get("file").getAsString());
        assertEquals(2, diff.get("repaired").getAsLong());
        assertTrue(diff.get("repair").getAsBoolean());
    }

    @Test
    void statusDetailHasLastResync() {
        JsonArray detail = parse(json.volumeStatus(List.of(Heals.status()), true)).getAsJsonArray("volumes").get(0)
                .getAsJsonObject().getAsJsonArray("bricks");
        JsonObject primary = detail.get(0).getAsJsonObject();
        assertTrue(primary.has("lastResync"));
        assertTrue(primary.get("lastResync").isJsonNull());
        assertEquals("primary", primary.get("role").getAsString());
        assertEquals("UpToDate", primary.get("state").getAsString());
        assertFalse(primary.get("splitBrain").getAsBoolean());
        JsonObject resynced = detail.get(1).getAsJsonObject().getAsJsonObject("lastResync");
        assertEquals("partial", resynced.get("kind").getAsString());
        assertEquals(4096, resynced.get("bytes").getAsLong());
        assertEquals(0.2, resynced.get("seconds").getAsDouble(), 1e-12);
        JsonObject split = detail.get(2).getAsJsonObject();
        assertTrue(split.get("splitBrain").getAsBoolean());
        assertEquals("Outdated", split.get("state").getAsString());
        assertEquals(1 << 20, split.get("outOfSyncBytes").getAsLong());

        JsonObject plain = parse(json.volumeStatus(List.of(Heals.status()), false)).getAsJsonArray("volumes").get(0)
                .getAsJsonObject().getAsJsonArray("bricks").get(2).getAsJsonObject();
        assertFalse(plain.has("lastResync"));
        assertTrue(plain.get("splitBrain").getAsBoolean());
        assertEquals("Outdated", plain.get("state").getAsString());
    }
}
