package io.braid.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The options that apply to every command ({@code --remote-host}, {@code --mode=script},
 * {@code --xml}, {@code --json}) and the command words that follow. Like GlusterFS, the options
 * are recognised anywhere on the line.
 */
final class GlobalOptions {
    static final String USAGE = "braid [--remote-host HOST[:PORT]] [--mode=script] [--xml|--json] COMMAND";

    private final RemoteHost remote;
    private final boolean script;
    private final OutputFormat format;
    private final boolean help;
    private final boolean version;
    private final List<String> words;

    private GlobalOptions(RemoteHost remote, boolean script, OutputFormat format, boolean help,
                          boolean version, List<String> words) {
        this.remote = remote;
        this.script = script;
        this.format = format;
        this.help = help;
        this.version = version;
        this.words = List.copyOf(words);
    }

    /** Picocli's view of the command line; one instance per parse, never shared. */
    @Command(name = "braid")
    static final class Spec {
        @Option(names = "--remote-host", paramLabel = "HOST[:PORT]")
        String remoteHost;

        @Option(names = "--mode", paramLabel = "script")
        String mode;

        @Option(names = "--xml")
        boolean xml;

        @Option(names = "--json")
        boolean json;

        @Option(names = {"-h", "--help"})
        boolean help;

        @Option(names = {"-V", "--version"})
        boolean version;

        @Parameters
        List<String> words = new ArrayList<>();
    }

    /**
     * @throws CliFailure (usage, exit 2) for a malformed option
     */
    static GlobalOptions parse(String[] args, Map<String, String> env) {
        Spec spec = new Spec();
        CommandLine cl = new CommandLine(spec);
        cl.setUnmatchedOptionsArePositionalParams(true);
        cl.setOverwrittenOptionsAllowed(true);
        cl.setExpandAtFiles(false);
        cl.setPosixClusteredShortOptionsAllowed(false);
        try {
            cl.parseArgs(args == null ? new String[0] : args);
        } catch (CommandLine.ParameterException e) {
            throw CliFailure.usage("braid", stripDot(e.getMessage()), USAGE);
        }
        if (spec.mode != null && !spec.mode.equals("script")) {
            throw CliFailure.usage("braid", "unknown mode '" + spec.mode + "'", USAGE);
        }
        if (spec.xml && spec.json) {
            throw CliFailure.usage("braid", "--xml and --json cannot be combined", USAGE);
        }
        RemoteHost remote;
        try {
            remote = RemoteHost.resolve(spec.remoteHost, env);
        } catch (IllegalArgumentException e) {
            throw CliFailure.usage("braid", e.getMessage(), USAGE);
        }
        OutputFormat format = spec.xml ? OutputFormat.XML : spec.json ? OutputFormat.JSON : OutputFormat.TEXT;
        return new GlobalOptions(remote, spec.mode != null, format, spec.help, spec.version, spec.words);
    }

    /**
     * The output format the user asked for, found without full parsing, so that failures of the
     * parse itself can still be reported in that format.
     */
    static OutputFormat guessFormat(String[] args) {
        boolean xml = false;
        boolean json = false;
        if (args != null) {
            for (String a : args) {
                xml |= "--xml".equals(a);
                json |= "--json".equals(a);
            }
        }
        return xml == json ? OutputFormat.TEXT : xml ? OutputFormat.XML : OutputFormat.JSON;
    }

    private static String stripDot(String s) {
        if (s == null) {
            return "invalid option";
        }
        s = s.strip();
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    RemoteHost remote() {
        return remote;
    }

    boolean script() {
        return script;
    }

    OutputFormat format() {
        return format;
    }

    boolean help() {
        return help;
    }

    boolean version() {
        return version;
    }

    List<String> words() {
        return words;
    }
}
