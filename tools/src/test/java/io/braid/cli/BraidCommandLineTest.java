package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/** Argument handling that never reaches a daemon: 127.0.0.1:1 has nothing listening. */
class BraidCommandLineTest {
    private static final String NOWHERE = "--remote-host=127.0.0.1:1";

    static Stream<String> badCommandLines() {
        return Stream.of(
                "", "frobnicate", "peer", "peer frob", "peer probe", "peer probe a b", "peer detach",
                "peer detach h now", "peer status x", "pool", "pool list x", "pool show",
                "volume", "volume frob", "volume create", "volume create web", "volume create web replica x a:/b",
                "volume create web replica 3", "volume create web replica 3 arbiter 2 a:/b b:/b c:/b",
                "volume create web a:b", "volume start", "volume start web now", "volume stop",
                "volume stop a force x", "volume delete", "volume delete a b", "volume info a b",
                "volume list x", "volume status a b", "volume status a b detail", "volume set",
                "volume set web key", "volume set web key v extra", "volume get web", "volume get",
                "volume get web a b", "volume reset", "volume reset web a b", "volume help x", "help me",
                "--mode=interactive volume list", "--xml --json volume list", "--remote-host volume list",
                "volume heal", "volume heal web frob", "volume heal web enable", "volume heal web full now",
                "volume heal web info frob", "volume heal web info summary now", "volume heal web info split-brain x",
                "volume heal web split-brain", "volume heal web split-brain bigger-file",
                "volume heal web split-brain bigger-file a b", "volume heal web split-brain latest-mtime",
                "volume heal web split-brain source-brick", "volume heal web split-brain source-brick nobrick",
                "volume heal web split-brain source-brick h:/b f extra", "volume heal web split-brain newest f",
                "volume verify", "volume verify web fix", "volume verify web repair now",
                "volume resize", "volume resize web", "volume resize web 1G more", "volume resize web 10X",
                "volume resize web lots", "volume resize web -1", "volume resize web 0", "volume resize web G",
                "volume resize web 1.5.2G", "volume resize web 99999999999P");
    }

    @ParameterizedTest
    @MethodSource("badCommandLines")
    void badArgumentsAreOneLineUsageErrors(String line) {
        String[] words = line.isEmpty() ? new String[0] : line.split(" ");
        String[] args = new String[words.length + 2];
        args[0] = NOWHERE;
        args[1] = "--mode=script";
        System.arraycopy(words, 0, args, 2, words.length);
        CliRun run = CliRun.of(args);
        assertEquals(2, run.exit(), run.err());
        String err = run.errLine();
        assertTrue(err.contains(": failed: "), err);
        assertTrue(!err.contains("Connection failed"), err);
        assertEquals("", run.out());
    }

    @Test
    void usageErrorFormat() {
        CliRun run = CliRun.of(NOWHERE, "volume", "create");
        assertEquals(2, run.exit());
        assertEquals("volume create: failed: Usage: volume create <NAME> [replica <COUNT> [arbiter 1]] "
                + "[type block size <SIZE>] <HOST:PATH>... [force]", run.errLine());
        CliRun start = CliRun.of(NOWHERE, "volume", "start");
        assertEquals("volume start: failed: Usage: volume start <NAME> [force]", start.errLine());
    }

    @Test
    void usageErrorFormatOfTheRepairVerbs() {
        CliRun heal = CliRun.of(NOWHERE, "volume", "heal", "web", "split-brain", "source-brick", "nobrick");
        assertEquals(2, heal.exit());
        assertEquals("volume heal: failed: wrong brick type: nobrick, use <HOSTNAME>:<export-dir-abs-path>. "
                + "Usage: " + Usage.VOLUME_HEAL, heal.errLine());
        CliRun verify = CliRun.of(NOWHERE, "volume", "verify");
        assertEquals("volume verify: failed: Usage: volume verify <NAME> [repair]", verify.errLine());
        CliRun resize = CliRun.of(NOWHERE, "volume", "resize", "vm", "10X");
        assertEquals(2, resize.exit());
        assertEquals("volume resize: failed: invalid size '10X' (examples: 64M, 10G, 1T, 4096). "
                + "Usage: volume resize <NAME> <SIZE>", resize.errLine());
        CliRun json = CliRun.of(NOWHERE, "--json", "volume", "resize", "vm", "lots");
        assertEquals(2, json.exit());
        assertTrue(JsonParser.parseString(json.out()).getAsJsonObject().get("opErrstr").getAsString()
                .startsWith("invalid size 'lots'"), json.out());
        json.errLine();
    }

    @Test
    void repairVerbsReachForTheDaemon() {
        for (String[] args : new String[][] {{"volume", "heal", "web"}, {"volume", "heal", "web", "info", "summary"},
            {"volume", "heal", "web", "split-brain", "source-brick", "h:/b", "/f"},
            {"volume", "verify", "web", "repair"},
            {"volume", "resize", "vm", "1.5T"}}) {
            String[] line = new String[args.length + 1];
            line[0] = NOWHERE;
            System.arraycopy(args, 0, line, 1, args.length);
            CliRun run = CliRun.of(line);
            assertEquals(1, run.exit(), String.join(" ", args));
            assertEquals("volume " + args[1] + ": failed: Connection failed. Please check if braidd is operational on "
                    + "127.0.0.1:1.", run.errLine());
        }
    }

    @Test
    void unreachableDaemon() {
        CliRun run = CliRun.of(NOWHERE, "volume", "info");
        assertEquals(1, run.exit());
        assertEquals("volume info: failed: Connection failed. Please check if braidd is operational on "
                + "127.0.0.1:1.", run.errLine());
        assertEquals("", run.out());

        CliRun create = CliRun.of("--remote-host", "127.0.0.1:1", "volume", "create", "web", "h:/b");
        assertEquals(1, create.exit());
        assertEquals("volume create: failed: Connection failed. Please check if braidd is operational on "
                + "127.0.0.1:1.", create.errLine());

        CliRun probe = CliRun.of(NOWHERE, "peer", "probe", "127.0.0.12");
        assertEquals("peer probe: failed: Connection failed. Please check if braidd is operational on "
                + "127.0.0.1:1.", probe.errLine());
    }

    @Test
    void globalOptionsAfterTheCommand() {
        CliRun run = CliRun.of("volume", "list", "--json", NOWHERE);
        assertEquals(1, run.exit());
        assertTrue(run.errLine().startsWith("volume list: failed: Connection failed."));
        JsonObject o = JsonParser.parseString(run.out()).getAsJsonObject();
        assertEquals(-1, o.get("opRet").getAsInt());
    }

    @Test
    void failureDocuments() {
        CliRun xml = CliRun.of(NOWHERE, "--xml", "volume", "status");
        assertEquals(1, xml.exit());
        assertTrue(xml.out().startsWith(XmlDoc.DECLARATION), xml.out());
        assertTrue(xml.out().contains("<opRet>-1</opRet>"), xml.out());
        assertTrue(xml.out().contains("<opErrstr>Connection failed. Please check if braidd is operational on "
                + "127.0.0.1:1.</opErrstr>"), xml.out());
        xml.errLine();

        CliRun json = CliRun.of(NOWHERE, "--json", "volume", "frob");
        assertEquals(2, json.exit());
        JsonObject o = JsonParser.parseString(json.out()).getAsJsonObject();
        assertEquals(-1, o.get("opRet").getAsInt());
        assertTrue(o.get("opErrstr").getAsString().contains("unknown command"));
        json.errLine();
    }

    @Test
    void help() {
        for (String[] args : new String[][] {{"help"}, {"--help"}, {"peer", "help"}, {"volume", "help"}}) {
            CliRun run = CliRun.of(args);
            assertEquals(0, run.exit(), String.join(" ", args));
            assertEquals("", run.err());
            assertTrue(run.out().contains("volume create <NAME>") || run.out().contains("peer probe <HOSTNAME>"));
            if (!args[0].equals("peer")) {
                assertTrue(run.out().contains(" " + Usage.VOLUME_HEAL + " - "), run.out());
                assertTrue(run.out().contains(" volume verify <NAME> [repair] - "), run.out());
                assertTrue(run.out().contains("exit status 0 even when some differ"), run.out());
                assertTrue(run.out().contains(" volume resize <NAME> <SIZE> - "), run.out());
            }
        }
    }

    @Test
    void declinedPromptsAbort() {
        CliRun create = CliRun.withInput("n\n", NOWHERE, "volume", "create", "web", "replica", "2", "a:/b", "c:/b");
        assertEquals(1, create.exit());
        assertEquals(VolumeCommands.CREATE_QUESTION, create.out());
        assertEquals("volume create: web: failed: aborted", create.errLine());

        CliRun stop = CliRun.withInput("", NOWHERE, "volume", "stop", "web");
        assertEquals(1, stop.exit());
        assertEquals(VolumeCommands.STOP_QUESTION, stop.out());
        assertEquals("volume stop: web: failed: aborted", stop.errLine());

        CliRun delete = CliRun.withInput("no\n", NOWHERE, "volume", "delete", "web");
        assertEquals(1, delete.exit());
        assertEquals(VolumeCommands.DELETE_QUESTION, delete.out());
        assertEquals("volume delete: web: failed: aborted", delete.errLine());
    }

    @Test
    void acceptedPromptGoesOn() {
        CliRun stop = CliRun.withInput("y\n", NOWHERE, "volume", "stop", "web");
        assertEquals(1, stop.exit());
        assertTrue(stop.errLine().startsWith("volume stop: failed: Connection failed"));
        CliRun delete = CliRun.withInput("YES\n", NOWHERE, "volume", "delete", "web");
        assertTrue(delete.errLine().startsWith("volume delete: failed: Connection failed"));
    }

    @Test
    void scriptModeFailureOfReplicaTwoIsStillOneLine() {
        CliRun run = CliRun.of(NOWHERE, "--mode=script", "volume", "create", "web", "replica", "2", "a:/b", "c:/b");
        assertEquals(1, run.exit());
        assertEquals("", run.out());
        assertEquals("volume create: failed: Connection failed. Please check if braidd is operational on 127.0.0.1:1.",
                run.errLine());
        CliRun stop = CliRun.of(NOWHERE, "--mode", "script", "volume", "stop", "web", "force");
        assertEquals("", stop.out());
        assertTrue(stop.errLine().startsWith("volume stop: failed: Connection failed"));
    }
}
