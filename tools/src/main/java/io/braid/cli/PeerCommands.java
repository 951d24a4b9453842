package io.braid.cli;

import java.util.ArrayList;
import java.util.List;

import io.braid.proto.admin.Empty;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OpReply;
import io.braid.proto.admin.PeerDetachRequest;
import io.braid.proto.admin.PeerProbeReply;
import io.braid.proto.admin.PeerProbeRequest;
import io.braid.proto.admin.PoolReply;

/** {@code peer probe|detach|status|help} and {@code pool list}. */
final class PeerCommands {
    private final Session session;

    PeerCommands(Session session) {
        this.session = session;
    }

    /** @param words the words after {@code peer} */
    int peer(List<String> words) {
        if (words.isEmpty()) {
            throw CliFailure.usage("peer", "missing peer command", "peer probe|detach|status|help");
        }
        String sub = words.get(0);
        List<String> rest = words.subList(1, words.size());
        return switch (sub) {
            case "probe" -> probe(rest);
            case "detach" -> detach(rest);
            case "status" -> status(rest);
            case "help" -> help(rest);
            default -> throw CliFailure.usage("peer", "unknown command 'peer " + sub + "'",
                    "peer probe|detach|status|help");
        };
    }

    /** @param words the words after {@code pool} */
    int pool(List<String> words) {
        if (words.size() != 1 || !words.get(0).equals("list")) {
            throw CliFailure.usage("pool list", Usage.POOL_LIST);
        }
        List<Member> all = poolList("pool list");
        List<Member> shown = new ArrayList<>();
        Member self = null;
        for (Member m : all) {
            if (m.getSelf()) {
                self = m.toBuilder().setHostname("localhost").build();
            } else {
                shown.add(m);
            }
        }
        if (self != null) {
            shown.add(self); // GlusterFS lists localhost last
        }
        session.print(session.formatter().peers(shown, true));
        return 0;
    }

    private int probe(List<String> args) {
        String command = "peer probe";
        if (args.size() != 1 || args.get(0).isBlank()) {
            throw CliFailure.usage(command, Usage.PEER_PROBE);
        }
        PeerProbeRequest request = PeerProbeRequest.newBuilder().setHost(args.get(0)).build();
        PeerProbeReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.peerProbe(request));
        }
        String line = command + ": success" + (reply.getMessage().isEmpty() ? "" : ". " + reply.getMessage());
        session.print(session.formatter().success(new Success(line)));
        return 0;
    }

    private int detach(List<String> args) {
        String command = "peer detach";
        boolean force = args.size() == 2 && args.get(1).equals("force");
        if (args.isEmpty() || args.size() > 2 || (args.size() == 2 && !force) || args.get(0).isBlank()) {
            throw CliFailure.usage(command, Usage.PEER_DETACH);
        }
        PeerDetachRequest request = PeerDetachRequest.newBuilder().setHost(args.get(0)).setForce(force).build();
        OpReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.peerDetach(request));
        }
        session.print(session.formatter().success(new Success(command + ": success", reply.getWarningsList())));
        return 0;
    }

    private int status(List<String> args) {
        if (!args.isEmpty()) {
            throw CliFailure.usage("peer status", Usage.PEER_STATUS);
        }
        List<Member> others = new ArrayList<>();
        for (Member m : poolList("peer status")) {
            if (!m.getSelf()) {
                others.add(m);
            }
        }
        session.print(session.formatter().peers(others, false));
        return 0;
    }

    private int help(List<String> args) {
        if (!args.isEmpty()) {
            throw CliFailure.usage("peer help", "peer help");
        }
        session.print(Usage.peer());
        return 0;
    }

    private List<Member> poolList(String command) {
        PoolReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.poolList(Empty.getDefaultInstance()));
        }
        return reply.getMembersList();
    }
}
