package io.braid.cli;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import io.braid.proto.admin.Brick;
import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OptionValue;
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
