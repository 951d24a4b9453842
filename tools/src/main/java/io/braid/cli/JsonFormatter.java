package io.braid.cli;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import io.braid.proto.admin.Brick;
import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.HealBrick;
import io.braid.proto.admin.HealProgress;
import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.LastResync;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.VerifyDifference;
import io.braid.proto.admin.VerifyReply;
import io.braid.proto.admin.Volume;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeStatusEntry;

/** The {@code --json} documents (field names fixed by the design brief). */
final class JsonFormatter implements Formatter {
    private final Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();

    @Override
    public String success(Success success) {
        JsonObject o = new JsonObject();
        o.addProperty("opRet", 0);
        o.addProperty("message", success.line());
        if (!success.warnings().isEmpty()) {
            o.add("warnings", strings(success.warnings()));
        }
        return render(o);
    }

    @Override
    public String failure(String reason) {
        JsonObject o = new JsonObject();
        o.addProperty("opRet", -1);
        o.addProperty("opErrstr", reason);
        return render(o);
    }

    @Override
    public String peers(List<Member> members, boolean poolList) {
        JsonArray peers = new JsonArray();
        for (Member m : members) {
            JsonObject p = new JsonObject();
            p.addProperty("uuid", m.getUuid());
            p.addProperty("hostname", m.getHostname());
            p.addProperty("connected", m.getConnected());
            p.addProperty("state", m.getState().isEmpty() ? "Peer in Cluster" : m.getState());
            peers.add(p);
        }
        JsonObject o = new JsonObject();
        o.add("peers", peers);
        return render(o);
    }

    @Override
    public String volumeInfo(List<Volume> volumes) {
        JsonArray array = new JsonArray();
        for (Volume v : volumes) {
            JsonObject o = new JsonObject();
            o.addProperty("name", v.getName());
            o.addProperty("id", v.getId());
            o.addProperty("type", v.getType());
            o.addProperty("status", v.getStatus());
            o.addProperty("replicaCount", VolumeShape.replicaCount(v));
            o.addProperty("arbiterCount", v.getArbiterCount());
            o.addProperty("distCount", VolumeShape.replicaSets(v));
            o.addProperty("brickCount", VolumeShape.brickCount(v));
            o.addProperty("size", v.getSize());
            o.addProperty("kind", VolumeShape.isBlock(v) ? "block" : "file");
            JsonArray bricks = new JsonArray();
            for (Brick b : v.getBricksList()) {
                JsonObject brick = new JsonObject();
                brick.addProperty("name", b.getName());
                brick.addProperty("arbiter", b.getArbiter());
                brick.addProperty("hostUuid", b.getHostUuid());
                bricks.add(brick);
            }
            o.add("bricks", bricks);
            JsonObject options = new JsonObject();
            for (Map.Entry<String, String> e : new TreeMap<>(v.getOptionsMap()).entrySet()) {
                options.addProperty(e.getKey(), e.getValue());
            }
            o.add("options", options);
            array.add(o);
        }
        return render(wrap("volumes", array));
    }

    @Override
    public String volumeList(List<String> names) {
        return render(wrap("volumes", strings(names)));
    }

    @Override
    public String volumeStatus(List<VolumeStatusEntry> volumes, boolean detail) {
        JsonArray array = new JsonArray();
        for (VolumeStatusEntry v : volumes) {
            JsonArray bricks = new JsonArray();
            for (BrickStatus b : v.getBricksList()) {
                String[] hp = VolumeShape.hostAndPath(b.getName());
                JsonObject brick = new JsonObject();
                brick.addProperty("name", b.getName());
                brick.addProperty("online", b.getOnline());
                brick.addProperty("port", b.getPort());
                brick.addProperty("pid", b.getPid());
                brick.addProperty("role", b.getRole());
                brick.addProperty("state", b.getState());
                brick.addProperty("hostname", b.getHostname().isEmpty() ? hp[0] : b.getHostname());
                brick.addProperty("path", b.getPath().isEmpty() ? hp[1] : b.getPath());
                brick.addProperty("hostUuid", b.getHostUuid());
                brick.addProperty("outOfSyncBytes", b.getOutOfSyncBytes());
                brick.addProperty("splitBrain", b.getSplitBrain());
                if (detail) {
                    brick.add("lastResync", b.hasLastResync() ? lastResync(b.getLastResync()) : JsonNull.INSTANCE);
                }
                bricks.add(brick);
            }
            JsonObject o = new JsonObject();
            o.addProperty("name", v.getName());
            o.addProperty("type", v.getType());
            o.add("bricks", bricks);
            array.add(o);
        }
        return render(wrap("volumes", array));
    }

    @Override
    public String volumeGet(VolumeGetReply reply) {
        JsonObject o = new JsonObject();
        o.addProperty("volume", reply.getVolume());
        o.add("options", options(reply.getOptionsList()));
        return render(o);
    }

    @Override
    public String optionHelp(List<OptionValue> options) {
        return render(wrap("options", options(options)));
    }

    @Override
    public String healInfo(HealReply reply, HealView view) {
        JsonArray bricks = new JsonArray();
        for (HealBrick b : reply.getBricksList()) {
            JsonObject brick = new JsonObject();
            brick.addProperty("name", b.getName());
            brick.addProperty("connected", b.getConnected());
            brick.addProperty("status", HealShape.status(b));
            brick.addProperty("entries", b.getEntries());
            brick.addProperty("outOfSyncBytes", b.getOutOfSyncBytes());
            brick.addProperty("splitBrain", b.getSplitBrain());
            if (view == HealView.SUMMARY) {
                brick.addProperty("healPending", HealShape.healPending(b));
            } else {
                brick.add("paths", strings(b.getPathsList()));
            }
            bricks.add(brick);
        }
        JsonObject o = new JsonObject();
        o.addProperty("volume", reply.getVolume());
        o.add("bricks", bricks);
        if (view == HealView.SUMMARY) {
            o.add("progress", HealShape.running(reply) ? progress(reply.getProgress()) : JsonNull.INSTANCE);
        }
        return render(o);
    }

    @Override
    public String verify(VerifyReply reply, boolean repair) {
        JsonArray differing = new JsonArray();
        for (VerifyDifference d : reply.getDifferingList()) {
            JsonObject o = new JsonObject();
            o.addProperty("brick", d.getBrick());
            o.addProperty("offset", d.getOffset());
            o.addProperty("length", d.getLength());
            if (d.getFile().isEmpty()) {
                o.add("file", JsonNull.INSTANCE);
            } else {
                o.addProperty("file", d.getFile());
            }
            differing.add(o);
        }
        JsonObject o = new JsonObject();
        o.addProperty("volume", reply.getVolume());
        o.addProperty("bytesCompared", reply.getBytesCompared());
        o.add("differing", differing);
        o.addProperty("repair", repair);
        o.addProperty("repaired", reply.getRepaired());
        return render(o);
    }

    private static JsonObject lastResync(LastResync r) {
        JsonObject o = new JsonObject();
        o.addProperty("kind", r.getKind());
        o.addProperty("bytes", r.getBytes());
        o.addProperty("seconds", r.getSeconds());
        return o;
    }

    private static JsonObject progress(HealProgress p) {
        JsonObject o = new JsonObject();
        o.addProperty("done", HealShape.done(p));
        o.addProperty("bytesRemaining", p.getBytesRemaining());
        o.addProperty("etaSeconds", p.getEtaSeconds());
        return o;
    }

    private static JsonArray options(List<OptionValue> options) {
        JsonArray array = new JsonArray();
        for (OptionValue v : options) {
            JsonObject o = new JsonObject();
            o.addProperty("name", v.getKey());
            o.addProperty("value", v.getValue());
            o.addProperty("default", v.getDefaultValue());
            o.addProperty("help", v.getHelp());
            if (!v.getType().isEmpty()) {
                o.addProperty("type", v.getType());
            }
            array.add(o);
        }
        return array;
    }

    private static JsonArray strings(List<String> values) {
        JsonArray array = new JsonArray();
        values.forEach(array::add);
        return array;
    }

    private static JsonObject wrap(String key, JsonElement value) {
        JsonObject o = new JsonObject();
        o.add(key, value);
        return o;
    }

    private String render(JsonElement e) {
        return gson.toJson(e) + "\n";
    }
}
