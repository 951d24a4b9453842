package io.braid.cli;

import java.util.List;

import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.HealRequest;
import io.braid.proto.admin.VerifyReply;
import io.braid.proto.admin.VerifyRequest;

/** {@code volume heal} and {@code volume verify}: keeping the replicas of a volume identical. */
final class HealCommands {
    static final String VERIFY = "volume verify";

    private final Session session;

    HealCommands(Session session) {
        this.session = session;
    }

    /** @param args the words after {@code volume heal} */
    int heal(List<String> args) {
        HealArgs heal = HealArgs.parse(args);
        HealRequest request = heal.toRequest();
        // Resolving a split-brain copies data before it answers; the other actions answer at once.
        long deadline = heal.action().equals("split-brain") ? ManagementClient.LONG_DEADLINE_SECONDS
                : ManagementClient.DEADLINE_SECONDS;
        HealReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(HealArgs.COMMAND, heal.name(), deadline, stub -> stub.volumeHeal(request));
        }
        if (heal.view() == null) {
            String message = reply.getMessage().strip();
            session.print(session.formatter().success(new Success(message.isEmpty() ? heal.defaultMessage()
                    : message)));
            return 0;
        }
        if (reply.getVolume().isEmpty()) {
            reply = reply.toBuilder().setVolume(heal.name()).build();
        }
        session.print(session.formatter().healInfo(reply, heal.view()));
        return 0;
    }

    /**
     * Differences found without {@code repair} are printed and still exit 0: the check worked; only a
     * failed check exits 1.
     *
     * @param args the words after {@code volume verify}
     */
    int verify(List<String> args) {
        boolean repair = args.size() == 2 && args.get(1).equals("repair");
        if (args.isEmpty() || args.size() > 2 || (args.size() == 2 && !repair) || args.get(0).isBlank()) {
            throw CliFailure.usage(VERIFY, Usage.VOLUME_VERIFY);
        }
        VerifyRequest request = VerifyRequest.newBuilder().setName(args.get(0)).setRepair(repair).build();
        VerifyReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(VERIFY, request.getName(), ManagementClient.LONG_DEADLINE_SECONDS,
                    stub -> stub.volumeVerify(request));
        }
        if (reply.getVolume().isEmpty()) {
            reply = reply.toBuilder().setVolume(request.getName()).build();
        }
        session.print(session.formatter().verify(reply, repair));
        return 0;
    }
}
