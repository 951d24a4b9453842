package io.braid.cli;

import java.util.List;

import io.braid.proto.admin.Empty;
import io.braid.proto.admin.OpReply;
import io.braid.proto.admin.ResizeRequest;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeGetRequest;
import io.braid.proto.admin.VolumeInfoReply;
import io.braid.proto.admin.VolumeInfoRequest;
import io.braid.proto.admin.VolumeListReply;
import io.braid.proto.admin.VolumeRequest;
import io.braid.proto.admin.VolumeResetRequest;
import io.braid.proto.admin.VolumeSetRequest;
import io.braid.proto.admin.VolumeStatusReply;
import io.braid.proto.admin.VolumeStatusRequest;

/**
 * {@code volume create|start|stop|delete|info|list|status|set|get|reset|resize|help}; {@code heal} and
 * {@code verify} are in {@link HealCommands}.
 */
final class VolumeCommands {
    static final String SPLIT_BRAIN_WARNING = "Replica 2 volumes are prone to split-brain. Use Arbiter or "
            + "Replica 3 to avoid this. See: "
            + "https://docs.gluster.org/en/latest/Administrator-Guide/Split-brain-and-ways-to-deal-with-it/.";
    static final String CREATE_QUESTION = SPLIT_BRAIN_WARNING + "\nDo you still want to continue?\n (y/n) ";
    static final String STOP_QUESTION =
            "Stopping volume will make its data inaccessible. Do you want to continue? (y/n) ";
    static final String DELETE_QUESTION =
            "Deleting volume will erase all information about the volume. Do you want to continue? (y/n) ";

    private static final String COMMANDS =
            "volume create|start|stop|delete|info|list|status|set|get|reset|heal|verify|resize|help";

    private final Session session;

    VolumeCommands(Session session) {
        this.session = session;
    }

    /** @param words the words after {@code volume} */
    int run(List<String> words) {
        if (words.isEmpty()) {
            throw CliFailure.usage("volume", "missing volume command", COMMANDS);
        }
        String sub = words.get(0);
        List<String> rest = words.subList(1, words.size());
        return switch (sub) {
            case "create" -> create(rest);
            case "start" -> start(rest);
            case "stop" -> stop(rest);
            case "delete" -> delete(rest);
            case "info" -> info(rest);
            case "list" -> list(rest);
            case "status" -> status(rest);
            case "set" -> set(rest);
            case "get" -> get(rest);
            case "reset" -> reset(rest);
            case "heal" -> new HealCommands(session).heal(rest);
            case "verify" -> new HealCommands(session).verify(rest);
            case "resize" -> resize(rest);
            case "help" -> help(rest);
            default -> throw CliFailure.usage("volume", "unknown command 'volume " + sub + "'", COMMANDS);
        };
    }

    private int create(List<String> args) {
        CreateArgs create = CreateArgs.parse(args);
        String command = CreateArgs.COMMAND;
        boolean splitBrainRisk = create.replicaTwoWithoutArbiter();
        if (splitBrainRisk && !session.options().script() && !session.confirm(CREATE_QUESTION)) {
            throw aborted(command, create.name());
        }
        OpReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, create.name(), stub -> stub.volumeCreate(create.toRequest()));
        }
        if (splitBrainRisk && session.options().script()) {
            // Only once the volume exists, so that a failure still prints exactly one stderr line.
            session.warn(SPLIT_BRAIN_WARNING);
        }
        return success(new Success(command + ": " + create.name()
                + ": success: please start the volume to access data", reply.getWarningsList()));
    }

    private int start(List<String> args) {
        VolumeRequest request = nameAndForce("volume start", Usage.VOLUME_START, args);
        return lifecycle("volume start", request, (client, command) ->
                client.call(command, request.getName(), stub -> stub.volumeStart(request)));
    }

    private int stop(List<String> args) {
        VolumeRequest request = nameAndForce("volume stop", Usage.VOLUME_STOP, args);
        if (!session.confirm(STOP_QUESTION)) {
            throw aborted("volume stop", request.getName());
        }
        return lifecycle("volume stop", request, (client, command) ->
                client.call(command, request.getName(), stub -> stub.volumeStop(request)));
    }

    private int delete(List<String> args) {
        String command = "volume delete";
        if (args.size() != 1 || args.get(0).isBlank()) {
            throw CliFailure.usage(command, Usage.VOLUME_DELETE);
        }
        VolumeRequest request = VolumeRequest.newBuilder().setName(args.get(0)).build();
        if (!session.confirm(DELETE_QUESTION)) {
            throw aborted(command, request.getName());
        }
        return lifecycle(command, request, (client, c) ->
                client.call(c, request.getName(), stub -> stub.volumeDelete(request)));
    }

    private int info(List<String> args) {
        String command = "volume info";
        if (args.size() > 1) {
            throw CliFailure.usage(command, Usage.VOLUME_INFO);
        }
        String name = args.isEmpty() || args.get(0).equals("all") ? "" : args.get(0);
        VolumeInfoRequest request = VolumeInfoRequest.newBuilder().setName(name).build();
        VolumeInfoReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.volumeInfo(request));
        }
        session.print(session.formatter().volumeInfo(reply.getVolumesList()));
        return 0;
    }

    private int list(List<String> args) {
        String command = "volume list";
        if (!args.isEmpty()) {
            throw CliFailure.usage(command, Usage.VOLUME_LIST);
        }
        VolumeListReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.volumeList(Empty.getDefaultInstance()));
        }
        session.print(session.formatter().volumeList(reply.getNamesList()));
        return 0;
    }

    private int status(List<String> args) {
        String command = "volume status";
        boolean detail = !args.isEmpty() && args.get(args.size() - 1).equals("detail");
        List<String> names = detail ? args.subList(0, args.size() - 1) : args;
        if (names.size() > 1 || (names.size() == 1 && names.get(0).isBlank())) {
            throw CliFailure.usage(command, Usage.VOLUME_STATUS);
        }
        String name = names.isEmpty() || names.get(0).equals("all") ? "" : names.get(0);
        VolumeStatusRequest request = VolumeStatusRequest.newBuilder().setName(name).setDetail(detail).build();
        VolumeStatusReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.volumeStatus(request));
        }
        session.print(session.formatter().volumeStatus(reply.getVolumesList(), detail));
        return 0;
    }

    private int set(List<String> args) {
        String command = "volume set";
        if (args.size() == 1 && args.get(0).equals("help")) {
            VolumeGetReply reply;
            try (ManagementClient client = session.connect()) {
                reply = client.call(command, null, stub -> stub.optionHelp(Empty.getDefaultInstance()));
            }
            session.print(session.formatter().optionHelp(reply.getOptionsList()));
            return 0;
        }
        if (args.size() != 3 || args.get(0).isBlank() || args.get(1).isBlank()) {
            throw CliFailure.usage(command, Usage.VOLUME_SET);
        }
        VolumeSetRequest request = VolumeSetRequest.newBuilder()
                .setName(args.get(0)).setKey(args.get(1)).setValue(args.get(2)).build();
        OpReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.volumeSet(request));
        }
        return success(new Success(command + ": success", reply.getWarningsList()));
    }

    private int get(List<String> args) {
        String command = "volume get";
        if (args.size() != 2 || args.get(0).isBlank() || args.get(1).isBlank()) {
            throw CliFailure.usage(command, Usage.VOLUME_GET);
        }
        VolumeGetRequest request = VolumeGetRequest.newBuilder().setName(args.get(0)).setKey(args.get(1)).build();
        VolumeGetReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.volumeGet(request));
        }
        if (reply.getVolume().isEmpty()) {
            reply = reply.toBuilder().setVolume(request.getName()).build();
        }
        session.print(session.formatter().volumeGet(reply));
        return 0;
    }

    private int reset(List<String> args) {
        String command = "volume reset";
        if (args.isEmpty() || args.size() > 2 || args.get(0).isBlank()) {
            throw CliFailure.usage(command, Usage.VOLUME_RESET);
        }
        String key = args.size() == 1 || args.get(1).equals("all") ? "" : args.get(1);
        VolumeResetRequest request = VolumeResetRequest.newBuilder().setName(args.get(0)).setKey(key).build();
        OpReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, null, stub -> stub.volumeReset(request));
        }
        return success(new Success(command + ": success: reset volume successful", reply.getWarningsList()));
    }

    private int resize(List<String> args) {
        String command = "volume resize";
        if (args.size() != 2 || args.get(0).isBlank()) {
            throw CliFailure.usage(command, Usage.VOLUME_RESIZE);
        }
        String size = args.get(1).strip();
        long bytes;
        try {
            bytes = ByteSizes.parse(size);
        } catch (IllegalArgumentException e) {
            throw CliFailure.usage(command, e.getMessage(), Usage.VOLUME_RESIZE);
        }
        if (bytes <= 0) {
            throw CliFailure.usage(command, "size must be greater than 0", Usage.VOLUME_RESIZE);
        }
        // The daemon parses the size as the user wrote it, so its messages quote the user's words.
        ResizeRequest request = ResizeRequest.newBuilder().setName(args.get(0)).setSize(size).build();
        OpReply reply;
        try (ManagementClient client = session.connect()) {
            reply = client.call(command, request.getName(), stub -> stub.volumeResize(request));
        }
        String message = reply.getMessage().strip();
        return success(new Success(command + ": success" + (message.isEmpty() ? "" : ". " + message),
                reply.getWarningsList()));
    }

    private int help(List<String> args) {
        if (!args.isEmpty()) {
            throw CliFailure.usage("volume help", "volume help");
        }
        session.print(Usage.volume());
        return 0;
    }

    private interface Lifecycle {
        OpReply call(ManagementClient client, String command);
    }

    /** start/stop/delete: one RPC, then {@code volume VERB: NAME: success}. */
    private int lifecycle(String command, VolumeRequest request, Lifecycle rpc) {
        OpReply reply;
        try (ManagementClient client = session.connect()) {
            reply = rpc.call(client, command);
        }
        return success(new Success(command + ": " + request.getName() + ": success", reply.getWarningsList()));
    }

    private int success(Success success) {
        session.print(session.formatter().success(success));
        return 0;
    }

    private static VolumeRequest nameAndForce(String command, String usage, List<String> args) {
        boolean force = args.size() == 2 && args.get(1).equals("force");
        if (args.isEmpty() || args.size() > 2 || (args.size() == 2 && !force) || args.get(0).isBlank()) {
            throw CliFailure.usage(command, usage);
        }
        return VolumeRequest.newBuilder().setName(args.get(0)).setForce(force).build();
    }

    private static CliFailure aborted(String command, String name) {
        return new CliFailure(command, name, "aborted", CliFailure.OPERATION);
    }
}
