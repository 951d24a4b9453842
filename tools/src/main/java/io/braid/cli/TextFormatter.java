package io.braid.cli;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.braid.proto.admin.Brick;
import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.HealBrick;
import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.VerifyDifference;
import io.braid.proto.admin.VerifyReply;
import io.braid.proto.admin.Volume;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeStatusEntry;

/** GlusterFS's human-readable layouts. */
final class TextFormatter implements Formatter {
    static final String STATUS_HEADER = String.format("%-44s%-10s%-8s%-8s%-11s%s",
            "Braid process", "TCP Port", "Online", "Pid", "Role", "State");
    private static final String STATUS_ROW = "%-44s%-10s%-8s%-8s%-11s%s";
    private static final String LONG_DASHES = "-".repeat(91);
    private static final String DASHES = "-".repeat(78);
    private static final String GET_ROW = "%-40s %-40s %s";

    @Override
    public String success(Success success) {
        StringBuilder sb = new StringBuilder();
        for (String warning : success.warnings()) {
            sb.append(warning).append('\n');
        }
        return sb.append(success.line()).append('\n').toString();
    }

    @Override
    public String failure(String reason) {
        return "";
    }

    @Override
    public String peers(List<Member> members, boolean poolList) {
        StringBuilder sb = new StringBuilder();
        if (poolList) {
            sb.append("UUID\t\t\t\t\tHostname \tState\n");
            for (Member m : members) {
                sb.append(m.getUuid()).append('\t').append(m.getHostname()).append(" \t")
                        .append(m.getConnected() ? "Connected " : "Disconnected ").append('\n');
            }
            return sb.toString();
        }
        sb.append("Number of Peers: ").append(members.size()).append('\n');
        for (Member m : members) {
            String state = m.getState().isEmpty() ? "Peer in Cluster" : m.getState();
            sb.append('\n')
                    .append("Hostname: ").append(m.getHostname()).append('\n')
                    .append("Uuid: ").append(m.getUuid()).append('\n')
                    .append("State: ").append(state)
                    .append(m.getConnected() ? " (Connected)" : " (Disconnected)").append('\n');
        }
        return sb.toString();
    }

    @Override
    public String volumeInfo(List<Volume> volumes) {
        if (volumes.isEmpty()) {
            return "No volumes present\n";
        }
        StringBuilder sb = new StringBuilder();
        for (Volume v : volumes) {
            sb.append('\n')
                    .append("Volume Name: ").append(v.getName()).append('\n')
                    .append("Type: ").append(v.getType()).append('\n')
                    .append("Volume ID: ").append(v.getId()).append('\n')
                    .append("Status: ").append(v.getStatus()).append('\n');
            if (VolumeShape.isBlock(v)) {
                sb.append("Size: ").append(v.getSize()).append(" (").append(VolumeShape.humanSize(v.getSize()))
                        .append(")\n");
            }
            sb.append("Snapshot Count: 0\n")
                    .append("Number of Bricks: ").append(VolumeShape.numberOfBricks(v)).append('\n')
                    .append("Transport-type: tcp\n")
                    .append("Bricks:\n");
            int i = 1;
            for (Brick b : v.getBricksList()) {
                sb.append("Brick").append(i++).append(": ").append(b.getName())
                        .append(b.getArbiter() ? " (arbiter)" : "").append('\n');
            }
            if (!v.getOptionsMap().isEmpty()) {
                sb.append("Options Reconfigured:\n");
                for (Map.Entry<String, String> e : new TreeMap<>(v.getOptionsMap()).entrySet()) {
                    sb.append(e.getKey()).append(": ").append(e.getValue()).append('\n');
                }
            }
        }
        return sb.toString();
    }

    @Override
    public String volumeList(List<String> names) {
        if (names.isEmpty()) {
            return "No volumes present in cluster\n";
        }
        StringBuilder sb = new StringBuilder();
        names.forEach(n -> sb.append(n).append('\n'));
        return sb.toString();
    }

    @Override
    public String volumeStatus(List<VolumeStatusEntry> volumes, boolean detail) {
        if (volumes.isEmpty()) {
            return "No volumes present\n";
        }
        StringBuilder sb = new StringBuilder();
        for (VolumeStatusEntry v : volumes) {
            if (detail) {
                statusDetail(sb, v);
                continue;
            }
            sb.append("Status of volume: ").append(v.getName()).append('\n')
                    .append(STATUS_HEADER).append('\n')
                    .append(LONG_DASHES).append('\n');
            for (BrickStatus b : v.getBricksList()) {
                // One line per brick even for long names (GlusterFS wraps them; scripts prefer not).
                String process = "Brick " + b.getName();
                if (process.length() >= 44) {
                    process += " ";
                }
                String state = b.getSplitBrain() ? "split-brain" : orNa(b.getState());
                sb.append(String.format(STATUS_ROW, process, port(b), b.getOnline() ? "Y" : "N", pid(b),
                        orNa(b.getRole()), state).stripTrailing()).append('\n');
            }
            sb.append(" \n")
                    .append("Task Status of Volume ").append(v.getName()).append('\n')
                    .append(DASHES).append('\n')
                    .append("There are no active volume tasks\n")
                    .append(" \n");
        }
        return sb.toString();
    }

    private static void statusDetail(StringBuilder sb, VolumeStatusEntry v) {
        sb.append("Status of volume: ").append(v.getName()).append('\n').append(DASHES).append('\n');
        boolean first = true;
        for (BrickStatus b : v.getBricksList()) {
            if (!first) {
                sb.append(DASHES).append('\n');
            }
            first = false;
            detailLine(sb, "Brick", "Brick " + b.getName());
            detailLine(sb, "TCP Port", port(b));
            detailLine(sb, "Online", b.getOnline() ? "Y" : "N");
            detailLine(sb, "Pid", pid(b));
            detailLine(sb, "Role", orNa(b.getRole()));
            detailLine(sb, "State", orNa(b.getState()));
            detailLine(sb, "Split-brain", b.getSplitBrain() ? "Y" : "N");
            detailLine(sb, "Last Resync", b.hasLastResync() ? HealShape.lastResync(b.getLastResync()) : "none");
            detailLine(sb, "Out of Sync", ByteSizes.withBytes(b.getOutOfSyncBytes()));
        }
        sb.append(" \n");
    }

    private static void detailLine(StringBuilder sb, String key, String value) {
        sb.append(String.format("%-20s : %s", key, value)).append('\n');
    }

    @Override
    public String volumeGet(VolumeGetReply reply) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(GET_ROW, "Option", "Value", "Default").stripTrailing()).append('\n');
        sb.append(String.format(GET_ROW, "------", "-----", "-------").stripTrailing()).append('\n');
        for (OptionValue o : reply.getOptionsList()) {
            sb.append(String.format(GET_ROW, o.getKey(), o.getValue(), o.getDefaultValue()).stripTrailing())
                    .append('\n');
        }
        return sb.toString();
    }

    @Override
    public String optionHelp(List<OptionValue> options) {
        StringBuilder sb = new StringBuilder();
        for (OptionValue o : options) {
            sb.append("Option: ").append(o.getKey()).append('\n')
                    .append("Default Value: ").append(o.getDefaultValue()).append('\n')
                    .append("Description: ").append(o.getHelp()).append("\n\n");
        }
        return sb.toString();
    }

    @Override
    public String healInfo(HealReply reply, HealView view) {
        StringBuilder sb = new StringBuilder();
        for (HealBrick b : reply.getBricksList()) {
            sb.append("Brick ").append(b.getName()).append('\n');
            if (view != HealView.SUMMARY) {
                b.getPathsList().forEach(p -> sb.append(p).append('\n'));
            }
            sb.append("Status: ").append(HealShape.status(b)).append('\n');
            switch (view) {
                case INFO -> {
                    sb.append("Number of entries: ").append(b.getEntries()).append('\n');
                    if (b.getSplitBrain() > 0) {
                        sb.append("Number of entries in split-brain: ").append(b.getSplitBrain()).append('\n');
                    }
                    sb.append("Out of sync: ").append(ByteSizes.withBytes(b.getOutOfSyncBytes())).append('\n');
                }
                case SUMMARY -> {
                    sb.append("Total Number of entries: ").append(b.getEntries()).append('\n')
                            .append("Number of entries in heal pending: ").append(HealShape.healPending(b))
                            .append('\n')
                            .append("Number of entries in split-brain: ").append(b.getSplitBrain()).append('\n')
                            .append("Number of entries possibly healing: 0\n")
                            .append("Out of sync: ").append(ByteSizes.withBytes(b.getOutOfSyncBytes()))
                            .append('\n');
                }
                case SPLIT_BRAIN -> sb.append("Number of entries in split-brain: ").append(b.getSplitBrain())
                        .append('\n');
                default -> throw new IllegalStateException(view.name());
            }
            sb.append('\n');
        }
        if (view == HealView.SUMMARY && HealShape.running(reply)) {
            sb.append(HealShape.progressLine(reply.getProgress())).append('\n');
        }
        return sb.toString();
    }

    @Override
    public String verify(VerifyReply reply, boolean repair) {
        StringBuilder sb = new StringBuilder();
        int n = reply.getDifferingCount();
        sb.append("Verified ").append(reply.getBytesCompared()).append(" bytes of volume ").append(reply.getVolume())
                .append(": ").append(n == 0 ? "no differences" : n == 1 ? "1 difference" : n + " differences")
                .append('\n');
        for (VerifyDifference d : reply.getDifferingList()) {
            sb.append(d.getBrick()).append(" offset ").append(d.getOffset()).append(" length ").append(d.getLength());
            if (!d.getFile().isEmpty()) {
                sb.append(" file ").append(d.getFile());
            }
            sb.append('\n');
        }
        if (repair && (n > 0 || reply.getRepaired() > 0)) {
            sb.append("Repaired ").append(reply.getRepaired()).append(reply.getRepaired() == 1 ? " block" : " blocks")
                    .append('\n');
        }
        return sb.toString();
    }

    private static String port(BrickStatus b) {
        return b.getOnline() && b.getPort() > 0 ? Integer.toString(b.getPort()) : "N/A";
    }

    private static String pid(BrickStatus b) {
        return b.getOnline() && b.getPid() > 0 ? Long.toString(b.getPid()) : "N/A";
    }

    private static String orNa(String s) {
        return s.isEmpty() ? "N/A" : s;
    }
}
