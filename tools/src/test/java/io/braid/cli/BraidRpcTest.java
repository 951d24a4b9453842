package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.google.gson.JsonParser;
import com.google.protobuf.Message;

import io.braid.proto.admin.Empty;
import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.HealRequest;
import io.braid.proto.admin.ManagementGrpc;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OpReply;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.PeerProbeReply;
import io.braid.proto.admin.PeerProbeRequest;
import io.braid.proto.admin.PoolReply;
import io.braid.proto.admin.ResizeRequest;
import io.braid.proto.admin.VerifyReply;
import io.braid.proto.admin.VerifyRequest;
import io.braid.proto.admin.VolumeCreateRequest;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeInfoReply;
import io.braid.proto.admin.VolumeInfoRequest;
import io.braid.proto.admin.VolumeRequest;
import io.braid.proto.admin.VolumeResetRequest;
import io.braid.proto.admin.VolumeStatusReply;
import io.braid.proto.admin.VolumeStatusRequest;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

/**
 * The CLI against a canned in-test Management service (not a daemon): requests are built as the
 * brief says, replies are printed, and the service's reasons reach stderr as one line.
 */
class BraidRpcTest {
    private static Server server;
    private static String remote;
    private static final ConcurrentLinkedQueue<Message> requests = new ConcurrentLinkedQueue<>();

    static final class Canned extends ManagementGrpc.ManagementImplBase {
        @Override
        public void peerProbe(PeerProbeRequest request, StreamObserver<PeerProbeReply> reply) {
            requests.add(request);
            if (request.getHost().equals("bad")) {
                reply.onError(Status.FAILED_PRECONDITION.withDescription("Probe returned with unknown errno 107")
                        .asRuntimeException());
                return;
            }
            reply.onNext(PeerProbeReply.newBuilder()
                    .setMessage(request.getHost().equals("localhost") ? "Probe on localhost not needed" : "").build());
            reply.onCompleted();
        }

        @Override
        public void poolList(Empty request, StreamObserver<PoolReply> reply) {
            reply.onNext(PoolReply.newBuilder()
                    .addMembers(Member.newBuilder().setUuid("u-self").setHostname("127.0.0.11").setSelf(true)
                            .setConnected(true).setState("Peer in Cluster"))
                    .addMembers(Member.newBuilder().setUuid("u-2").setHostname("127.0.0.12").setConnected(true)
                            .setState("Peer in Cluster"))
                    .build());
            reply.onCompleted();
        }

        @Override
        public void volumeCreate(VolumeCreateRequest request, StreamObserver<OpReply> reply) {
            requests.add(request);
            if (request.getName().equals("web")) {
                reply.onError(Status.INVALID_ARGUMENT.withDescription("Volume web already exists")
                        .asRuntimeException());
                return;
            }
            reply.onNext(OpReply.newBuilder().addWarnings("brick is on the root partition").build());
            reply.onCompleted();
        }

        @Override
        public void volumeStart(VolumeRequest request, StreamObserver<OpReply> reply) {
            requests.add(request);
            if (request.getName().equals("busy")) {
                reply.onError(Status.UNAVAILABLE.withDescription("Quorum not met: 1 of 3 members reachable")
                        .asRuntimeException());
                return;
            }
            reply.onNext(OpReply.getDefaultInstance());
            reply.onCompleted();
        }

        @Override
        public void volumeInfo(VolumeInfoRequest request, StreamObserver<VolumeInfoReply> reply) {
            requests.add(request);
            if (request.getName().equals("nope")) {
                reply.onError(Status.NOT_FOUND.withDescription("Volume nope does not exist").asRuntimeException());
                return;
            }
            reply.onNext(VolumeInfoReply.newBuilder().addVolumes(Volumes.replicated("web", 3, 1, false)).build());
            reply.onCompleted();
        }

        @Override
        public void volumeStatus(VolumeStatusRequest request, StreamObserver<VolumeStatusReply> reply) {
            requests.add(request);
            reply.onNext(VolumeStatusReply.getDefaultInstance());
            reply.onCompleted();
        }

        @Override
        public void volumeReset(VolumeResetRequest request, StreamObserver<OpReply> reply) {
            requests.add(request);
            reply.onNext(OpReply.getDefaultInstance());
            reply.onCompleted();
        }

        @Override
        public void optionHelp(Empty request, StreamObserver<VolumeGetReply> reply) {
            reply.onNext(VolumeGetReply.newBuilder().addOptions(OptionValue.newBuilder()
                    .setKey("network.ping-timeout").setDefaultValue("42").setHelp("Time duration")).build());
            reply.onCompleted();
        }

        @Override
        public void volumeHeal(HealRequest request, StreamObserver<HealReply> reply) {
            requests.add(request);
            if (request.getName().equals("nope")) {
                reply.onError(Status.NOT_FOUND.withDescription("Volume nope does not exist").asRuntimeException());
                return;
            }
            HealReply.Builder r = switch (request.getAction()) {
                // the daemon may leave the volume name out: the CLI fills it in
                case "info", "info-split-brain" -> Heals.info().toBuilder().clearVolume();
                case "info-summary" -> Heals.running().toBuilder();
                case "full" -> HealReply.newBuilder().setMessage("Full heal started on volume " + request.getName());
                case "split-brain" -> HealReply.newBuilder().setMessage("Healed " + request.getFile() + "\n");
                default -> HealReply.newBuilder();
            };
            reply.onNext(r.build());
            reply.onCompleted();
        }

        @Override
        public void volumeVerify(VerifyRequest request, StreamObserver<VerifyReply> reply) {
            requests.add(request);
            if (request.getName().equals("down")) {
                reply.onError(Status.FAILED_PRECONDITION.withDescription("brick 127.0.0.13:/srv/vm is not connected")
                        .asRuntimeException());
                return;
            }
            reply.onNext(request.getName().equals("clean") ? Heals.clean().toBuilder().setVolume("clean").build()
                    : Heals.differing(request.getRepair() ? 2 : 0).toBuilder().clearVolume().build());
            reply.onCompleted();
        }

        @Override
        public void volumeResize(ResizeRequest request, StreamObserver<OpReply> reply) {
            requests.add(request);
            if (request.getName().equals("small")) {
                reply.onError(Status.INVALID_ARGUMENT.withDescription("cannot shrink volume small from 64M to "
                        + request.getSize()).asRuntimeException());
                return;
            }
            reply.onNext(OpReply.getDefaultInstance());
            reply.onCompleted();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new Canned())
                .build().start();
        remote = "--remote-host=127.0.0.1:" + server.getPort();
    }

    @AfterAll
    static void stop() throws Exception {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static <T extends Message> T last(Class<T> type) {
        T found = null;
        for (Message m : requests) {
            if (type.isInstance(m)) {
                found = type.cast(m);
            }
        }
        return found;
    }

    @Test
    void probe() {
        CliRun run = CliRun.of(remote, "peer", "probe", "localhost");
        assertEquals(0, run.exit(), run.err());
        assertEquals("peer probe: success. Probe on localhost not needed\n", run.out());
        assertEquals("", run.err());
        assertEquals("peer probe: success\n", CliRun.of(remote, "peer", "probe", "127.0.0.12").out());
        CliRun bad = CliRun.of(remote, "peer", "probe", "bad");
        assertEquals(1, bad.exit());
        assertEquals("peer probe: failed: Probe returned with unknown errno 107", bad.errLine());
    }

    @Test
    void peerStatusHidesSelfAndPoolListShowsLocalhostLast() {
        CliRun status = CliRun.of(remote, "peer", "status");
        assertEquals(0, status.exit());
        assertEquals("Number of Peers: 1\n\nHostname: 127.0.0.12\nUuid: u-2\nState: Peer in Cluster (Connected)\n",
                status.out());
        CliRun pool = CliRun.of(remote, "pool", "list");
        assertEquals("UUID\t\t\t\t\tHostname \tState\nu-2\t127.0.0.12 \tConnected \nu-self\tlocalhost \tConnected \n",
                pool.out());
    }

    @Test
    void create() {
        CliRun ok = CliRun.of(remote, "volume", "create", "docs", "replica", "3", "arbiter", "1",
                "a:/b", "b:/b", "c:/b", "force");
        assertEquals(0, ok.exit(), ok.err());
        assertEquals("brick is on the root partition\nvolume create: docs: success: please start the volume to access data\n",
                ok.out());
        VolumeCreateRequest r = last(VolumeCreateRequest.class);
        assertEquals(3, r.getReplica());
        assertEquals(1, r.getArbiter());
        assertTrue(r.getForce());
        assertEquals(List.of("a:/b", "b:/b", "c:/b"), r.getBricksList());

        CliRun pair = CliRun.of(remote, "--mode=script", "volume", "create", "pair", "replica", "2", "a:/b", "b:/b");
        assertEquals(0, pair.exit(), pair.err());
        assertEquals(VolumeCommands.SPLIT_BRAIN_WARNING, pair.errLine());
        assertTrue(pair.out().endsWith("volume create: pair: success: please start the volume to access data\n"));
        CliRun pairFails = CliRun.of(remote, "--mode=script", "volume", "create", "web", "replica", "2", "a:/b", "b:/b");
        assertEquals("volume create: web: failed: Volume web already exists", pairFails.errLine());
        CliRun asked = CliRun.withInput("y\n", remote, "volume", "create", "pair", "replica", "2", "a:/b", "b:/b");
        assertEquals(0, asked.exit(), asked.err());
        assertEquals("", asked.err());
        assertTrue(asked.out().startsWith(VolumeCommands.CREATE_QUESTION), asked.out());

        CliRun exists = CliRun.of(remote, "--xml", "volume", "create", "web", "a:/b");
        assertEquals(1, exists.exit());
        assertEquals("volume create: web: failed: Volume web already exists", exists.errLine());
        assertTrue(exists.out().contains("<opErrstr>Volume web already exists</opErrstr>"), exists.out());
    }

    @Test
    void daemonReasonsAreNotConnectionFailures() {
        CliRun busy = CliRun.of(remote, "volume", "start", "busy");
        assertEquals(1, busy.exit());
        assertEquals("volume start: busy: failed: Quorum not met: 1 of 3 members reachable", busy.errLine());
        CliRun missing = CliRun.of(remote, "volume", "info", "nope");
        assertEquals("volume info: failed: Volume nope does not exist", missing.errLine());
    }

    @Test
    void unimplementedRpcIsOneLine() {
        CliRun run = CliRun.of(remote, "volume", "list");
        assertEquals(1, run.exit());
        assertTrue(run.errLine().startsWith("volume list: failed: "), run.err());
    }

    @Test
    void concurrentInvocations() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<CliRun>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 32; i++) {
                boolean reachable = i % 2 == 0;
                runs.add(pool.submit(() -> reachable ? CliRun.of(remote, "peer", "status")
                        : CliRun.of("--remote-host=127.0.0.1:1", "peer", "status")));
            }
            for (int i = 0; i < runs.size(); i++) {
                CliRun run = runs.get(i).get(60, TimeUnit.SECONDS);
                if (i % 2 == 0) {
                    assertEquals(0, run.exit(), run.err());
                    assertTrue(run.out().startsWith("Number of Peers: 1\n"), run.out());
                } else {
                    assertEquals(1, run.exit());
                    assertTrue(run.errLine().startsWith("peer status: failed: Connection failed."), run.err());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void requestShapes() {
        assertEquals("volume start: web: success\n", CliRun.of(remote, "volume", "start", "web", "force").out());
        assertTrue(last(VolumeRequest.class).getForce());
        CliRun.of(remote, "volume", "info", "all");
        assertEquals("", last(VolumeInfoRequest.class).getName());
        CliRun.of(remote, "volume", "status", "web", "detail");
        assertEquals("web", last(VolumeStatusRequest.class).getName());
        assertTrue(last(VolumeStatusRequest.class).getDetail());
        CliRun.of(remote, "volume", "status", "detail");
        assertEquals("", last(VolumeStatusRequest.class).getName());
        CliRun reset = CliRun.of(remote, "volume", "reset", "web");
        assertEquals("volume reset: success: reset volume successful\n", reset.out());
        assertEquals("", last(VolumeResetRequest.class).getKey());
        CliRun.of(remote, "volume", "reset", "web", "network.ping-timeout");
        assertEquals("network.ping-timeout", last(VolumeResetRequest.class).getKey());
        assertEquals("Option: network.ping-timeout\nDefault Value: 42\nDescription: Time duration\n\n",
                CliRun.of(remote, "volume", "set", "help").out());
    }

    @Test
    void healStartsAndResolves() {
        CliRun start = CliRun.of(remote, "volume", "heal", "web");
        assertEquals(0, start.exit(), start.err());
        assertEquals("Launching heal operation to perform index self heal on volume web has been successful\n",
                start.out());
        assertEquals("", last(HealRequest.class).getAction());

        CliRun full = CliRun.of(remote, "volume", "heal", "web", "full");
        assertEquals("Full heal started on volume web\n", full.out());
        assertEquals("full", last(HealRequest.class).getAction());

        CliRun resolve = CliRun.of(remote, "volume", "heal", "web", "split-brain", "source-brick", "127.0.0.12:/srv/b",
                "/docs/a.txt");
        assertEquals(0, resolve.exit(), resolve.err());
        assertEquals("Healed /docs/a.txt\n", resolve.out());
        HealRequest r = last(HealRequest.class);
        assertEquals("split-brain", r.getAction());
        assertEquals("source-brick", r.getResolution());
        assertEquals("127.0.0.12:/srv/b", r.getSourceBrick());
        assertEquals("/docs/a.txt", r.getFile());

        CliRun json = CliRun.of(remote, "--json", "volume", "heal", "web", "split-brain", "bigger-file", "/f");
        assertEquals("Healed /f", JsonParser.parseString(json.out()).getAsJsonObject().get("message").getAsString());
        assertEquals("bigger-file", last(HealRequest.class).getResolution());
    }

    @Test
    void healInfo() {
        CliRun info = CliRun.of(remote, "volume", "heal", "web", "info");
        assertEquals(0, info.exit(), info.err());
        assertEquals(new TextFormatter().healInfo(Heals.info(), HealView.INFO), info.out());
        assertEquals("info", last(HealRequest.class).getAction());
        assertEquals("web", last(HealRequest.class).getName());

        CliRun json = CliRun.of(remote, "volume", "heal", "web", "info", "--json");
        assertEquals("web", JsonParser.parseString(json.out()).getAsJsonObject().get("volume").getAsString());

        CliRun split = CliRun.of(remote, "volume", "heal", "web", "info", "split-brain");
        assertEquals("info-split-brain", last(HealRequest.class).getAction());
        assertTrue(split.out().contains("/docs/b.txt\nStatus: Connected\nNumber of entries in split-brain: 1\n\n"),
                split.out());

        CliRun summary = CliRun.of(remote, "volume", "heal", "vm", "info", "summary");
        assertEquals("info-summary", last(HealRequest.class).getAction());
        assertTrue(summary.out().endsWith("\n\nResync: [#########...........] 45.0%  123.4 MiB remaining, ETA 12s\n"),
                summary.out());

        CliRun xml = CliRun.of(remote, "--xml", "volume", "heal", "vm", "info", "summary");
        assertEquals(0, xml.exit(), xml.err());
        assertTrue(xml.out().contains("<totalNumberOfEntries>31590</totalNumberOfEntries>"), xml.out());
        assertTrue(xml.out().contains("<done>0.45</done>"), xml.out());
    }

    @Test
    void healFailureIsOneLineWithTheVolume() {
        CliRun run = CliRun.of(remote, "volume", "heal", "nope", "info");
        assertEquals(1, run.exit());
        assertEquals("volume heal: nope: failed: Volume nope does not exist", run.errLine());
        assertEquals("", run.out());
    }

    @Test
    void verifyDifferencesExitZero() {
        CliRun clean = CliRun.of(remote, "volume", "verify", "clean");
        assertEquals(0, clean.exit(), clean.err());
        assertEquals("Verified 67108864 bytes of volume clean: no differences\n", clean.out());
        assertFalse(last(VerifyRequest.class).getRepair());

        CliRun diff = CliRun.of(remote, "volume", "verify", "vm");
        assertEquals(0, diff.exit(), diff.err());
        assertEquals("", diff.err());
        assertEquals(new TextFormatter().verify(Heals.differing(0), false), diff.out());

        CliRun repair = CliRun.of(remote, "volume", "verify", "vm", "repair");
        assertEquals(0, repair.exit(), repair.err());
        assertTrue(last(VerifyRequest.class).getRepair());
        assertTrue(repair.out().endsWith("file /docs/a.txt\nRepaired 2 blocks\n"), repair.out());

        CliRun json = CliRun.of(remote, "--json", "volume", "verify", "vm");
        assertEquals("vm", JsonParser.parseString(json.out()).getAsJsonObject().get("volume").getAsString());

        CliRun down = CliRun.of(remote, "volume", "verify", "down", "repair");
        assertEquals(1, down.exit());
        assertEquals("volume verify: down: failed: brick 127.0.0.13:/srv/vm is not connected", down.errLine());
        assertEquals("", down.out());
    }

    @Test
    void resize() {
        CliRun ok = CliRun.of(remote, "volume", "resize", "vm", "1.5T");
        assertEquals(0, ok.exit(), ok.err());
        assertEquals("volume resize: success\n", ok.out());
        assertEquals("vm", last(ResizeRequest.class).getName());
        assertEquals("1.5T", last(ResizeRequest.class).getSize());

        CliRun small = CliRun.of(remote, "volume", "resize", "small", "32M");
        assertEquals(1, small.exit());
        assertEquals("volume resize: small: failed: cannot shrink volume small from 64M to 32M", small.errLine());

        int before = requests.size();
        CliRun bad = CliRun.of(remote, "volume", "resize", "vm", "32Q");
        assertEquals(2, bad.exit());
        assertEquals(before, requests.size());
    }
}
