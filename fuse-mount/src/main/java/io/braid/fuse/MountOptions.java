package io.braid.fuse;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A parsed {@code mount [-o OPTIONS] [-f] HOST[:PORT]:/NAME DIR} command line.
 *
 * @param server       the server named in the spec, asked first for the layout
 * @param volume       the volume name
 * @param dir          the mount point as given
 * @param foreground   {@code -f}: stay in the foreground until unmounted
 * @param backups      {@code backup-servers=H2:H3}: other servers to ask for the layout
 * @param readOnly     {@code ro}
 * @param attrTimeout  {@code attr-timeout=SECONDS}: how long the kernel caches attributes
 * @param entryTimeout {@code entry-timeout=SECONDS}: how long the kernel caches name lookups
 * @param logFile      {@code log-file=PATH}, or null for the default
 * @param kernelFlags  mount(8) flags passed on to the kernel (nosuid, nodev, noexec and their opposites)
 */
public record MountOptions(ServerAddress server, String volume, String dir, boolean foreground,
                           List<ServerAddress> backups, boolean readOnly, double attrTimeout,
                           double entryTimeout, Path logFile, List<String> kernelFlags) {
    public static final String USAGE = "mount [-o OPTIONS] [-f] HOST[:PORT]:/NAME DIR";
    public static final double DEFAULT_TIMEOUT = 1.0;

    /** mount(8) and fstab options that mean nothing to a Braid mount. */
    private static final Set<String> IGNORED = Set.of(
            "defaults", "_netdev", "auto", "noauto", "rw", "nofail", "user", "nouser", "users", "owner",
            "group", "async", "sync", "atime", "noatime", "relatime", "norelatime", "strictatime",
            "nostrictatime", "diratime", "nodiratime", "lazytime", "nolazytime", "silent", "loud");
    /** mount(8) flags that libfuse hands to the kernel. */
    private static final Set<String> KERNEL_FLAGS = Set.of("exec", "noexec", "suid", "nosuid", "dev", "nodev");

    public MountOptions {
        backups = List.copyOf(backups);
        kernelFlags = List.copyOf(kernelFlags);
    }

    /** Every server to ask for the layout, the spec's first, without duplicates. */
    public List<ServerAddress> layoutServers() {
        Set<ServerAddress> all = new LinkedHashSet<>();
        all.add(server);
        all.addAll(backups);
        return List.copyOf(all);
    }

    /** {@code HOST:/NAME} as shown in the mount table. */
    public String source() {
        return server.host().indexOf(':') >= 0 ? "[" + server.host() + "]:/" + volume : server.host() + ":/" + volume;
    }

    /**
     * @throws MountException (usage, exit 2) for a malformed command line or an unknown option
     */
    public static MountOptions parse(List<String> args) {
        List<String> positional = new ArrayList<>();
        List<String> optionLists = new ArrayList<>();
        boolean foreground = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-o")) {
                if (i + 1 >= args.size()) {
                    throw MountException.usage("option -o needs a value. Usage: " + USAGE);
                }
                optionLists.add(args.get(++i));
            } else if (a.startsWith("-o") && a.length() > 2) {
                optionLists.add(a.substring(2));
            } else if (a.equals("-f") || a.equals("--foreground")) {
                foreground = true;
            } else if (a.startsWith("-") && a.length() > 1) {
                throw MountException.usage("unknown option '" + a + "'. Usage: " + USAGE);
            } else {
                positional.add(a);
            }
        }
        if (positional.size() != 2) {
            throw MountException.usage((positional.size() < 2 ? "missing argument" : "too many arguments")
                    + ". Usage: " + USAGE);
        }
        String spec = positional.get(0);
        int sep = spec.indexOf(":/");
        if (sep <= 0) {
            throw MountException.usage("invalid volume '" + spec + "' (expected HOST[:PORT]:/NAME). Usage: " + USAGE);
        }
        ServerAddress server;
        try {
            server = ServerAddress.parse(spec.substring(0, sep), ServerAddress.DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
            throw MountException.usage(e.getMessage() + ". Usage: " + USAGE);
        }
        String volume = spec.substring(sep + 2);
        if (!volume.matches("[A-Za-z0-9._-]+")) {
            throw MountException.usage("invalid volume name '" + volume + "' in '" + spec + "'. Usage: " + USAGE);
        }
        String dir = positional.get(1);
        if (dir.isEmpty()) {
            throw MountException.usage("empty mount point. Usage: " + USAGE);
        }

        List<ServerAddress> backups = new ArrayList<>();
        boolean readOnly = false;
        double attrTimeout = DEFAULT_TIMEOUT;
        double entryTimeout = DEFAULT_TIMEOUT;
        Path logFile = null;
        List<String> kernelFlags = new ArrayList<>();
        for (String list : optionLists) {
            for (String item : list.split(",")) {
                if (item.isEmpty()) {
                    continue;
                }
                int eq = item.indexOf('=');
                String key = (eq < 0 ? item : item.substring(0, eq)).toLowerCase(Locale.ROOT);
                String value = eq < 0 ? null : item.substring(eq + 1);
                switch (key) {
                    case "backup-servers", "backup-volfile-servers" ->
                            backups = backupServers(required(key, value), server.port());
                    case "ro", "rw" -> {
                        if (value != null) {
                            throw MountException.usage("unknown option '" + item + "'");
                        }
                        readOnly = key.equals("ro");
                    }
                    case "attr-timeout", "attribute-timeout" -> attrTimeout = seconds(key, value);
                    case "entry-timeout" -> entryTimeout = seconds(key, value);
                    case "log-file" -> logFile = Path.of(required(key, value));
                    default -> {
                        if (KERNEL_FLAGS.contains(key) && value == null) {
                            kernelFlags.remove(opposite(key));
                            kernelFlags.add(key);
                        } else if (!(IGNORED.contains(key) && value == null) && !key.startsWith("x-")
                                && !key.equals("comment")) {
                            throw MountException.usage("unknown option '" + item + "'");
                        }
                    }
                }
            }
        }
        return new MountOptions(server, volume, dir, foreground, backups, readOnly, attrTimeout, entryTimeout,
                logFile, kernelFlags);
    }

    /**
     * {@code H2:H3}: colon-separated hosts; an all-digits item is the port of the host before it.
     * A host without a port uses defaultPort (the port of the spec's server).
     */
    public static List<ServerAddress> backupServers(String value, int defaultPort) {
        List<ServerAddress> out = new ArrayList<>();
        String[] items = value.split(":", -1);
        for (int i = 0; i < items.length; i++) {
            String host = items[i].strip();
            if (host.isEmpty()) {
                throw MountException.usage("invalid backup-servers '" + value + "': empty host name");
            }
            if (host.chars().allMatch(Character::isDigit)) {
                throw MountException.usage("invalid backup-servers '" + value + "': port " + host + " follows no host");
            }
            int port = defaultPort;
            if (i + 1 < items.length && !items[i + 1].isEmpty() && items[i + 1].strip().chars().allMatch(Character::isDigit)) {
                try {
                    port = ServerAddress.port(items[++i].strip(), value);
                } catch (IllegalArgumentException e) {
                    throw MountException.usage("invalid backup-servers '" + value + "': " + e.getMessage());
                }
            }
            try {
                out.add(new ServerAddress(host, port));
            } catch (IllegalArgumentException e) {
                throw MountException.usage("invalid backup-servers '" + value + "': " + e.getMessage());
            }
        }
        return out;
    }

    /** The command line that mounts the same way, for the background child. */
    public List<String> toArgs(boolean inForeground) {
        List<String> opts = new ArrayList<>();
        if (!backups.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            for (ServerAddress b : backups) {
                sb.append(sb.length() == 0 ? "" : ":").append(b.host()).append(':').append(b.port());
            }
            opts.add("backup-servers=" + sb);
        }
        if (readOnly) {
            opts.add("ro");
        }
        opts.add("attr-timeout=" + attrTimeout);
        opts.add("entry-timeout=" + entryTimeout);
        if (logFile != null) {
            opts.add("log-file=" + logFile);
        }
        opts.addAll(kernelFlags);
        List<String> out = new ArrayList<>();
        if (inForeground) {
            out.add("-f");
        }
        out.add("-o");
        out.add(String.join(",", opts));
        out.add(server.target() + ":/" + volume);
        out.add(dir);
        return out;
    }

    private static String required(String key, String value) {
        if (value == null || value.isEmpty()) {
            throw MountException.usage("option '" + key + "' needs a value");
        }
        return value;
    }

    private static double seconds(String key, String value) {
        double d;
        try {
            d = Double.parseDouble(required(key, value));
        } catch (NumberFormatException e) {
            throw MountException.usage("invalid " + key + " '" + value + "' (seconds expected)");
        }
        if (!(d >= 0) || Double.isInfinite(d)) {
            throw MountException.usage("invalid " + key + " '" + value + "' (seconds expected)");
        }
        return d;
    }

    private static String opposite(String flag) {
        return flag.startsWith("no") ? flag.substring(2) : "no" + flag;
    }
}
