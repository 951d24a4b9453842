package io.braid.cli;

/** The command grammar as shown by {@code help} and in usage errors. */
final class Usage {
    static final String PEER_PROBE = "peer probe <HOSTNAME>";
    static final String PEER_DETACH = "peer detach <HOSTNAME> [force]";
    static final String PEER_STATUS = "peer status";
    static final String POOL_LIST = "pool list";
    static final String VOLUME_CREATE =
            "volume create <NAME> [replica <COUNT> [arbiter 1]] [type block size <SIZE>] <HOST:PATH>... [force]";
    static final String VOLUME_START = "volume start <NAME> [force]";
    static final String VOLUME_STOP = "volume stop <NAME> [force]";
    static final String VOLUME_DELETE = "volume delete <NAME>";
    static final String VOLUME_INFO = "volume info [all|<NAME>]";
    static final String VOLUME_LIST = "volume list";
    static final String VOLUME_STATUS = "volume status [all|<NAME>] [detail]";
    static final String VOLUME_SET = "volume set <NAME> <KEY> <VALUE>";
    static final String VOLUME_SET_HELP = "volume set help";
    static final String VOLUME_GET = "volume get <NAME> <KEY|all>";
    static final String VOLUME_RESET = "volume reset <NAME> [<KEY>|all]";
    static final String VOLUME_HEAL = "volume heal <NAME> [full | info [summary | split-brain] | split-brain "
            + "{bigger-file <FILE> | latest-mtime <FILE> | source-brick <HOST:PATH> [<FILE>]}]";
    static final String VOLUME_VERIFY = "volume verify <NAME> [repair]";
    static final String VOLUME_RESIZE = "volume resize <NAME> <SIZE>";
    static final String MOUNT = MountCommand.USAGE;

    private static final String[][] PEER = {
        {PEER_PROBE, "probe peer specified by <HOSTNAME>"},
        {PEER_DETACH, "detach peer specified by <HOSTNAME>"},
        {PEER_STATUS, "list status of peers"},
        {POOL_LIST, "list all the nodes in the pool (including localhost)"},
        {"peer help", "display help for peer commands"},
    };

    private static final String[][] VOLUME = {
        {VOLUME_CREATE, "create a new volume of specified type with mentioned bricks"},
        {VOLUME_START, "start volume specified by <NAME>"},
        {VOLUME_STOP, "stop volume specified by <NAME>"},
        {VOLUME_DELETE, "delete volume specified by <NAME>"},
        {VOLUME_INFO, "list information of all volumes"},
        {VOLUME_LIST, "list all volumes in cluster"},
        {VOLUME_STATUS, "display status of all or specified volume(s)"},
        {VOLUME_SET, "set options for volume <NAME>"},
        {VOLUME_SET_HELP, "display list of volume options"},
        {VOLUME_GET, "get the value of all options or a given option for volume <NAME>"},
        {VOLUME_RESET, "reset all the reconfigured options"},
        {VOLUME_HEAL, "self-heal commands on volume specified by <NAME>: start a heal now, crawl everything "
                + "(full), show what is left to heal (info), or resolve a split-brain"},
        {VOLUME_VERIFY, "compare the replicas of <NAME> by checksum and list the blocks or files that differ "
                + "(exit status 0 even when some differ; 1 only when the check itself fails); repair rewrites "
                + "them from the primary"},
        {VOLUME_RESIZE, "grow the block volume <NAME> online to <SIZE> (e.g. 64M, 10G, 1T or bytes)"},
        {"volume help", "display help for volume commands"},
    };

    private static final String[][] MOUNTS = {
        {MOUNT, "mount the file volume NAME at DIR with FUSE, asking the server HOST for its layout; "
                + "in the background unless -f (then until DIR is unmounted). OPTIONS: ro, "
                + "backup-servers=HOST2[:PORT]:HOST3..., attr-timeout=SECONDS, entry-timeout=SECONDS (default 1), "
                + "log-file=PATH, nosuid, nodev, noexec"},
    };

    private Usage() {
    }

    static String global() {
        return "Usage: " + GlobalOptions.USAGE + "\n\n"
                + "Options:\n"
                + " --remote-host HOST[:PORT]  daemon to ask (default $" + RemoteHost.ENV + " or "
                + RemoteHost.DEFAULT + ")\n"
                + " --mode=script              never ask for confirmation\n"
                + " --xml                      print GlusterFS-style XML\n"
                + " --json                     print JSON\n\n"
                + "Commands:\n" + table(PEER) + table(VOLUME) + table(MOUNTS) + " help - display this help\n";
    }

    static String peer() {
        return "\npeer commands\n-------------\n\n" + table(PEER) + "\n";
    }

    static String volume() {
        return "\nvolume commands\n---------------\n\n" + table(VOLUME) + "\n";
    }

    private static String table(String[][] rows) {
        StringBuilder sb = new StringBuilder();
        for (String[] row : rows) {
            sb.append(' ').append(row[0]).append(" - ").append(row[1]).append('\n');
        }
        return sb.toString();
    }
}
