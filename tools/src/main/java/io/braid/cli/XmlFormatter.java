package io.braid.cli;

import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

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

/** GlusterFS's {@code --xml} {@code <cliOutput>} documents. */
final class XmlFormatter implements Formatter {

    @Override
    public String success(Success success) {
        XmlDoc doc = header(0, "");
        doc.leaf("output", success.line());
        if (!success.warnings().isEmpty()) {
            doc.open("warnings");
            success.warnings().forEach(w -> doc.leaf("warning", w));
            doc.close();
        }
        return doc.finish();
    }

    @Override
    public String failure(String reason) {
        return header(-1, reason).finish();
    }

    @Override
    public String peers(List<Member> members, boolean poolList) {
        XmlDoc doc = header(0, "").open("peerStatus");
        for (Member m : members) {
            String state = m.getState().isEmpty() ? "Peer in Cluster" : m.getState();
            doc.open("peer")
                    .leaf("uuid", m.getUuid())
                    .leaf("hostname", m.getHostname())
                    .open("hostnames").leaf("hostname", m.getHostname()).close()
                    .leaf("connected", m.getConnected() ? 1 : 0)
                    .leaf("state", peerStateCode(state))
                    .leaf("stateStr", state)
                    .close();
        }
        return doc.finish();
    }

    @Override
    public String volumeInfo(List<Volume> volumes) {
        XmlDoc doc = header(0, "").open("volInfo").open("volumes");
        for (Volume v : volumes) {
            doc.open("volume")
                    .leaf("name", v.getName())
                    .leaf("id", v.getId())
                    .leaf("status", VolumeShape.statusCode(v.getStatus()))
                    .leaf("statusStr", v.getStatus())
                    .leaf("snapshotCount", 0)
                    .leaf("brickCount", VolumeShape.brickCount(v))
                    .leaf("distCount", VolumeShape.replicaSets(v))
                    .leaf("replicaCount", VolumeShape.replicaCount(v))
                    .leaf("arbiterCount", v.getArbiterCount())
                    .leaf("disperseCount", 0)
                    .leaf("redundancyCount", 0)
                    .leaf("type", VolumeShape.typeCode(v))
                    .leaf("typeStr", v.getType())
                    .leaf("transport", 0);
            if (VolumeShape.isBlock(v)) {
                doc.leaf("size", v.getSize());
            }
            doc.open("bricks");
            for (Brick b : v.getBricksList()) {
                doc.mixed("brick", "uuid", b.getHostUuid(), b.getName(),
                        "name", b.getName(), "hostUuid", b.getHostUuid(), "isArbiter", b.getArbiter() ? "1" : "0");
            }
            doc.close();
            doc.leaf("optCount", v.getOptionsCount()).open("options");
            for (Map.Entry<String, String> e : new TreeMap<>(v.getOptionsMap()).entrySet()) {
                doc.open("option").leaf("name", e.getKey()).leaf("value", e.getValue()).close();
            }
            doc.close().close();
        }
        doc.leaf("count", volumes.size());
        return doc.finish();
    }

    @Override
    public String volumeList(List<String> names) {
        XmlDoc doc = header(0, "").open("volList").leaf("count", names.size());
        names.forEach(n -> doc.leaf("volume", n));
        return doc.finish();
    }

    @Override
    public String volumeStatus(List<VolumeStatusEntry> volumes, boolean detail) {
        XmlDoc doc = header(0, "").open("volStatus").open("volumes");
        for (VolumeStatusEntry v : volumes) {
            doc.open("volume").leaf("volName", v.getName()).leaf("nodeCount", v.getBricksCount());
            for (BrickStatus b : v.getBricksList()) {
                String[] hp = VolumeShape.hostAndPath(b.getName());
                String host = b.getHostname().isEmpty() ? hp[0] : b.getHostname();
                String path = b.getPath().isEmpty() ? hp[1] : b.getPath();
                String port = b.getOnline() && b.getPort() > 0 ? Integer.toString(b.getPort()) : "N/A";
                String pid = b.getOnline() && b.getPid() > 0 ? Long.toString(b.getPid()) : "N/A";
                doc.open("node")
                        .leaf("hostname", host)
                        .leaf("path", path)
                        .leaf("peerid", b.getHostUuid())
                        .leaf("status", b.getOnline() ? 1 : 0)
                        .leaf("port", port)
                        .open("ports").leaf("tcp", port).leaf("rdma", "N/A").close()
                        .leaf("pid", pid)
                        .leaf("role", b.getRole())
                        .leaf("state", b.getState())
                        .leaf("splitBrain", b.getSplitBrain() ? 1 : 0)
                        .leaf("outOfSyncBytes", b.getOutOfSyncBytes());
                if (detail) {
                    lastResync(doc, b);
                }
                doc.close();
            }
            doc.close();
        }
        return doc.finish();
    }

    @Override
    public String volumeGet(VolumeGetReply reply) {
        XmlDoc doc = header(0, "").open("volGetopts").leaf("count", reply.getOptionsCount());
        for (OptionValue o : reply.getOptionsList()) {
            doc.open("Opt").leaf("Option", o.getKey()).leaf("Value", o.getValue())
                    .leaf("Default", o.getDefaultValue()).close();
        }
        return doc.finish();
    }

    @Override
    public String optionHelp(List<OptionValue> options) {
        XmlDoc doc = header(0, "").open("volSetHelp").open("options");
        for (OptionValue o : options) {
            doc.open("option").leaf("name", o.getKey()).leaf("defaultValue", o.getDefaultValue())
                    .leaf("description", o.getHelp()).close();
        }
        return doc.finish();
    }

    /**
     * glfsheal's layout: {@code <healInfo><bricks><brick hostUuid="-">} with {@code name}, the
     * {@code file} entries, {@code status} and the counts, then opRet, opErrno and opErrstr.
     * {@code hostUuid} is "-" (as glfsheal prints when it cannot tell): heal replies do not carry it.
     */
    @Override
    public String healInfo(HealReply reply, HealView view) {
        XmlDoc doc = new XmlDoc().open("cliOutput").open("healInfo").open("bricks");
        for (HealBrick b : reply.getBricksList()) {
            doc.open("brick", "hostUuid", "-").leaf("name", b.getName());
            if (view != HealView.SUMMARY) {
                b.getPathsList().forEach(p -> doc.leaf("file", p));
            }
            doc.leaf("status", HealShape.status(b));
            switch (view) {
                case INFO -> {
                    doc.leaf("numberOfEntries", b.getEntries());
                    if (b.getSplitBrain() > 0) {
                        doc.leaf("numberOfEntriesInSplitBrain", b.getSplitBrain());
                    }
                }
                case SUMMARY -> doc.leaf("totalNumberOfEntries", b.getEntries())
                        .leaf("numberOfEntriesInHealPending", HealShape.healPending(b))
                        .leaf("numberOfEntriesInSplitBrain", b.getSplitBrain())
                        .leaf("numberOfEntriesPossiblyHealing", 0);
                case SPLIT_BRAIN -> doc.leaf("numberOfEntries", b.getSplitBrain());
                default -> throw new IllegalStateException(view.name());
            }
            doc.leaf("outOfSyncBytes", b.getOutOfSyncBytes()).close();
        }
        doc.close();
        if (view == HealView.SUMMARY && HealShape.running(reply)) {
            HealProgress p = reply.getProgress();
            doc.open("progress")
                    .leaf("done", plain(HealShape.done(p)))
                    .leaf("bytesRemaining", p.getBytesRemaining())
                    .leaf("etaSeconds", p.getEtaSeconds())
                    .close();
        }
        doc.close();
        return doc.leaf("opRet", 0).leaf("opErrno", 0).leaf("opErrstr", "").finish();
    }

    @Override
    public String verify(VerifyReply reply, boolean repair) {
        XmlDoc doc = header(0, "").open("volVerify")
                .leaf("volName", reply.getVolume())
                .leaf("bytesCompared", reply.getBytesCompared())
                .leaf("differenceCount", reply.getDifferingCount())
                .open("differences");
        for (VerifyDifference d : reply.getDifferingList()) {
            doc.open("difference")
                    .leaf("brick", d.getBrick())
                    .leaf("offset", d.getOffset())
                    .leaf("length", d.getLength())
                    .leaf("file", d.getFile())
                    .close();
        }
        return doc.close().leaf("repair", repair ? 1 : 0).leaf("repaired", reply.getRepaired()).finish();
    }

    /** {@code <lastResync><kind/><bytes/><seconds/></lastResync>}, or an empty element before any. */
    private static void lastResync(XmlDoc doc, BrickStatus b) {
        if (!b.hasLastResync()) {
            doc.leaf("lastResync", "");
            return;
        }
        LastResync r = b.getLastResync();
        doc.open("lastResync")
                .leaf("kind", r.getKind())
                .leaf("bytes", r.getBytes())
                .leaf("seconds", plain(r.getSeconds()))
                .close();
    }

    /** 0.375 → "0.375", 1e-4 → "0.0001" (never an exponent). */
    static String plain(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "0";
        }
        return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }

    private static XmlDoc header(int opRet, String errstr) {
        return new XmlDoc().open("cliOutput")
                .leaf("opRet", opRet)
                .leaf("opErrno", 0)
                .leaf("opErrstr", errstr);
    }

    /** GlusterFS's peer state numbers for the states it shares with Braid. */
    static int peerStateCode(String state) {
        return switch (state.toLowerCase(Locale.ROOT)) {
            case "establishing connection" -> 0;
            case "probe sent to peer" -> 1;
            case "probe received from peer" -> 2;
            case "accepted peer request" -> 4;
            case "sent and received peer request" -> 5;
            case "peer rejected" -> 6;
            case "peer detach in progress" -> 7;
            default -> 3; // Peer in Cluster
        };
    }
}
