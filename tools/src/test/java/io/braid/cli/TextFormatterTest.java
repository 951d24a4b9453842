package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.Volume;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeStatusEntry;

class TextFormatterTest {
    private final TextFormatter text = new TextFormatter();

    @Test
    void numberOfBricks() {
        assertEquals("1 x 3 = 3", VolumeShape.numberOfBricks(Volumes.replicated("a", 3, 1, false)));
        assertEquals("2 x 3 = 6", VolumeShape.numberOfBricks(Volumes.replicated("a", 3, 2, false)));
        assertEquals("1 x 2 = 2", VolumeShape.numberOfBricks(Volumes.replicated("a", 2, 1, false)));
        assertEquals("1 x (2 + 1) = 3", VolumeShape.numberOfBricks(Volumes.replicated("a", 3, 1, true)));
        assertEquals("2 x (2 + 1) = 6", VolumeShape.numberOfBricks(Volumes.replicated("a", 3, 2, true)));
        assertEquals("3", VolumeShape.numberOfBricks(Volumes.distribute("d", 3)));
        assertEquals("1", VolumeShape.numberOfBricks(Volumes.distribute("d", 1)));
        // replica 0 (never given) and no dist count filled in
        assertEquals("2", VolumeShape.numberOfBricks(Volumes.distribute("d", 2).toBuilder()
                .setReplicaCount(0).setDistCount(0).build()));
        // dist count left unset by the daemon: derived from bricks / replica
        assertEquals("2 x 3 = 6", VolumeShape.numberOfBricks(Volumes.replicated("a", 3, 2, false).toBuilder()
                .setDistCount(0).build()));
        // a daemon that counts "replica 2 arbiter 1" as replica 2
        assertEquals("1 x (2 + 1) = 3", VolumeShape.numberOfBricks(Volumes.replicated("a", 3, 1, true).toBuilder()
                .setReplicaCount(2).build()));
    }

    @Test
    void humanSize() {
        assertEquals("64M", VolumeShape.humanSize(64L << 20));
        assertEquals("10G", VolumeShape.humanSize(10L << 30));
        assertEquals("1.5G", VolumeShape.humanSize(3L << 29));
        assertEquals("512B", VolumeShape.humanSize(512));
        assertEquals("4K", VolumeShape.humanSize(4096));
    }

    @Test
    void volumeInfo() {
        Volume v = Volumes.replicated("web", 3, 1, true).toBuilder().putOptions("network.ping-timeout", "10").build();
        String expected = """

                Volume Name: web
                Type: Replicate
                Volume ID: 6f1c2d3e-0000-4000-8000-000000000001
                Status: Started
                Snapshot Count: 0
                Number of Bricks: 1 x (2 + 1) = 3
                Transport-type: tcp
                Bricks:
                Brick1: 127.0.0.11:/srv/web0
                Brick2: 127.0.0.12:/srv/web0
                Brick3: 127.0.0.13:/srv/web0 (arbiter)
                Options Reconfigured:
                network.ping-timeout: 10
                """;
        assertEquals(expected, text.volumeInfo(List.of(v)));
    }

    @Test
    void volumeInfoOfBlockVolumeWithoutOptions() {
        String out = text.volumeInfo(List.of(Volumes.block("vm", 64L << 20), Volumes.distribute("d", 2)));
        assertTrue(out.contains("Status: Stopped\nSize: 67108864 (64M)\nSnapshot Count: 0\n"), out);
        assertTrue(out.contains("Type: Block\n"), out);
        assertFalse(out.contains("Options Reconfigured"), out);
        assertTrue(out.contains("\n\nVolume Name: d\nType: Distribute\n"), out);
        assertTrue(out.contains("Number of Bricks: 2\n"), out);
        assertEquals("No volumes present\n", text.volumeInfo(List.of()));
    }

    @Test
    void volumeList() {
        assertEquals("web\nvm\n", text.volumeList(List.of("web", "vm")));
        assertEquals("No volumes present in cluster\n", text.volumeList(List.of()));
    }

    @Test
    void peerStatusAndPoolList() {
        Member a = Member.newBuilder().setUuid("u-a").setHostname("127.0.0.12").setConnected(true)
                .setState("Peer in Cluster").build();
        Member b = Member.newBuilder().setUuid("u-b").setHostname("127.0.0.13").setConnected(false)
                .setState("Peer in Cluster").build();
        assertEquals("""
                Number of Peers: 2

                Hostname: 127.0.0.12
                Uuid: u-a
                State: Peer in Cluster (Connected)

                Hostname: 127.0.0.13
                Uuid: u-b
                State: Peer in Cluster (Disconnected)
                """, text.peers(List.of(a, b), false));
        assertEquals("Number of Peers: 0\n", text.peers(List.of(), false));
        Member self = Member.newBuilder().setUuid("u-s").setHostname("localhost").setConnected(true).build();
        assertEquals("UUID\t\t\t\t\tHostname \tState\n"
                + "u-b\t127.0.0.13 \tDisconnected \n"
                + "u-s\tlocalhost \tConnected \n", text.peers(List.of(b, self), true));
    }

    @Test
    void volumeStatus() {
        VolumeStatusEntry v = VolumeStatusEntry.newBuilder().setName("web")
                .addBricks(BrickStatus.newBuilder().setName("127.0.0.11:/srv/b").setOnline(true).setPort(24100)
                        .setPid(12345).setRole("primary").setState("UpToDate"))
                .addBricks(BrickStatus.newBuilder().setName("127.0.0.12:/srv/b").setOnline(false)
                        .setRole("secondary").setState("Unknown"))
                .build();
        String out = text.volumeStatus(List.of(v), false);
        assertEquals("Status of volume: web\n"
                + "Braid process                               TCP Port  Online  Pid     Role       State\n"
                + "-".repeat(91) + "\n"
                + "Brick 127.0.0.11:/srv/b                     24100     Y       12345   primary    UpToDate\n"
                + "Brick 127.0.0.12:/srv/b                     N/A       N       N/A     secondary  Unknown\n"
                + " \n"
                + "Task Status of Volume web\n"
                + "-".repeat(78) + "\n"
                + "There are no active volume tasks\n"
                + " \n", out);
        String longName = "127.0.0.11:/tmp/braid-it-123456789012345/bricks/s1/web";
        String wide = text.volumeStatus(List.of(VolumeStatusEntry.newBuilder().setName("web")
                .addBricks(BrickStatus.newBuilder().setName(longName).setOnline(true).setPort(24100).setPid(7)
                        .setRole("primary").setState("UpToDate")).build()), false);
        assertTrue(wide.contains("\nBrick " + longName + " 24100     Y       7       primary    UpToDate\n"), wide);
        String detail = text.volumeStatus(List.of(v), true);
        assertTrue(detail.contains("Brick                : Brick 127.0.0.11:/srv/b\n"), detail);
        assertTrue(detail.contains("TCP Port             : N/A\n"), detail);
        assertTrue(detail.contains("Role                 : secondary\n"), detail);
    }

    @Test
    void volumeGetAndSetHelp() {
        VolumeGetReply reply = VolumeGetReply.newBuilder().setVolume("web")
                .addOptions(OptionValue.newBuilder().setKey("network.ping-timeout").setValue("10")
                        .setDefaultValue("42").setHelp("seconds"))
                .build();
        String out = text.volumeGet(reply);
        String[] lines = out.split("\n");
        assertEquals("Option                                   Value                                    Default", lines[0]);
        assertTrue(lines[1].startsWith("------"), lines[1]);
        assertEquals(String.format("%-40s %-40s %s", "network.ping-timeout", "10", "42"), lines[2]);
        assertEquals("Option: network.ping-timeout\nDefault Value: 42\nDescription: seconds\n\n",
                text.optionHelp(reply.getOptionsList()));
    }

    @Test
    void healInfo() {
        assertEquals("""
                Brick 127.0.0.11:/srv/b
                Status: Connected
                Number of entries: 0
                Out of sync: 0 B (0 bytes)

                Brick 127.0.0.12:/srv/b
                /docs/a.txt
                /docs/b.txt
                Status: Connected
                Number of entries: 2
                Number of entries in split-brain: 1
                Out of sync: 8.0 KiB (8192 bytes)

                Brick 127.0.0.13:/srv/b
                Status: Transport endpoint is not connected
                Number of entries: 0
                Out of sync: 0 B (0 bytes)

                """, text.healInfo(Heals.info(), HealView.INFO));
        assertEquals("", text.healInfo(io.braid.proto.admin.HealReply.getDefaultInstance(), HealView.INFO));
    }

    @Test
    void healInfoSplitBrain() {
        assertEquals("""
                Brick 127.0.0.11:/srv/b
                Status: Connected
                Number of entries in split-brain: 0

                Brick 127.0.0.12:/srv/b
                /docs/a.txt
                /docs/b.txt
                Status: Connected
                Number of entries in split-brain: 1

                Brick 127.0.0.13:/srv/b
                Status: Transport endpoint is not connected
                Number of entries in split-brain: 0

                """, text.healInfo(Heals.info(), HealView.SPLIT_BRAIN));
    }

    @Test
    void healInfoSummary() {
        String idle = text.healInfo(Heals.info(), HealView.SUMMARY);
        assertTrue(idle.startsWith("""
                Brick 127.0.0.11:/srv/b
                Status: Connected
                Total Number of entries: 0
                Number of entries in heal pending: 0
                Number of entries in split-brain: 0
                Number of entries possibly healing: 0
                Out of sync: 0 B (0 bytes)

                Brick 127.0.0.12:/srv/b
                Status: Connected
                Total Number of entries: 2
                Number of entries in heal pending: 1
                Number of entries in split-brain: 1
                Number of entries possibly healing: 0
                Out of sync: 8.0 KiB (8192 bytes)

                """), idle);
        assertFalse(idle.contains("/docs/a.txt"), idle);
        assertFalse(idle.contains("Resync"), idle);
        assertTrue(idle.endsWith("Number of entries possibly healing: 0\nOut of sync: 0 B (0 bytes)\n\n"), idle);

        String running = text.healInfo(Heals.running(), HealView.SUMMARY);
        assertTrue(running.endsWith("""
                Brick 127.0.0.12:/srv/vm
                Status: Connected
                Total Number of entries: 31590
                Number of entries in heal pending: 31590
                Number of entries in split-brain: 0
                Number of entries possibly healing: 0
                Out of sync: 123.4 MiB (129394278 bytes)

                Resync: [#########...........] 45.0%  123.4 MiB remaining, ETA 12s
                """), running);
        // the progress line belongs to the summary only
        assertFalse(text.healInfo(Heals.running(), HealView.INFO).contains("Resync"));
    }

    @Test
    void progressLine() {
        io.braid.proto.admin.HealProgress.Builder p = io.braid.proto.admin.HealProgress.newBuilder();
        assertEquals("Resync: [....................] 0.0%  0 B remaining, ETA 0s",
                HealShape.progressLine(p.build()));
        assertEquals("Resync: [#######.............] 35.0%  1.0 GiB remaining, ETA 3m05s",
                HealShape.progressLine(p.setDone(0.35).setBytesRemaining(1L << 30).setEtaSeconds(185).build()));
        assertEquals("Resync: [####################] 100.0%  0 B remaining, ETA 0s",
                HealShape.progressLine(p.setDone(1.7).setBytesRemaining(0).setEtaSeconds(0).build()));
        assertEquals("Resync: [###.................] 19.9%  4.0 KiB remaining, ETA unknown",
                HealShape.progressLine(p.setDone(0.199).setBytesRemaining(4096).setEtaSeconds(-1).build()));
        assertEquals("2h05m", HealShape.eta(7500));
        assertEquals("59s", HealShape.eta(59));
        assertEquals("1m00s", HealShape.eta(60));
    }

    @Test
    void verify() {
        assertEquals("Verified 67108864 bytes of volume vm: no differences\n", text.verify(Heals.clean(), false));
        assertEquals("Verified 67108864 bytes of volume vm: no differences\n", text.verify(Heals.clean(), true));
        assertEquals("""
                Verified 67108864 bytes of volume vm: 2 differences
                127.0.0.12:/srv/vm offset 4096 length 4096
                127.0.0.12:/srv/vm offset 0 length 10 file /docs/a.txt
                """, text.verify(Heals.differing(0), false));
        assertEquals("""
                Verified 67108864 bytes of volume vm: 2 differences
                127.0.0.12:/srv/vm offset 4096 length 4096
                127.0.0.12:/srv/vm offset 0 length 10 file /docs/a.txt
                Repaired 2 blocks
                """, text.verify(Heals.differing(2), true));
        assertTrue(text.verify(Heals.differing(1), true).endsWith("\nRepaired 1 block\n"));
    }

    @Test
    void volumeStatusShowsSplitBrainAndResyncs() {
        String out = text.volumeStatus(List.of(Heals.status()), false);
        assertTrue(out.contains("\nBrick 127.0.0.13:/srv/vm                    24100     Y       13      secondary  "
                + "split-brain\n"), out);
        assertTrue(out.contains("\nBrick 127.0.0.12:/srv/vm                    24100     Y       12      secondary  "
                + "UpToDate\n"), out);
        assertFalse(out.contains("Last Resync"), out);

        String detail = text.volumeStatus(List.of(Heals.status()), true);
        assertTrue(detail.contains("""
                Brick                : Brick 127.0.0.11:/srv/vm
                TCP Port             : 24100
                Online               : Y
                Pid                  : 11
                Role                 : primary
                State                : UpToDate
                Split-brain          : N
                Last Resync          : none
                Out of Sync          : 0 B (0 bytes)
                """), detail);
        assertTrue(detail.contains("""
                State                : UpToDate
                Split-brain          : N
                Last Resync          : partial, 4.0 KiB sent in 0.2 s
                Out of Sync          : 0 B (0 bytes)
                """), detail);
        assertTrue(detail.contains("""
                State                : Outdated
                Split-brain          : Y
                Last Resync          : none
                Out of Sync          : 1.0 MiB (1048576 bytes)
                """), detail);
    }

    @Test
    void successLines() {
        assertEquals("careful\nvolume create: web: success: please start the volume to access data\n",
                text.success(new Success("volume create: web: success: please start the volume to access data",
                        List.of("careful"))));
        assertEquals("", text.failure("x"));
    }
}
