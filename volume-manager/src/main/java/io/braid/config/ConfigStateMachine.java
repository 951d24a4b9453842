package io.braid.config;

import io.braid.proto.config.ConfigCommand;
import io.braid.proto.config.ConfigResult;
import io.braid.proto.config.PeerRecord;
import io.braid.proto.config.VolumeRecord;
import io.braid.store.KeyValueStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool's configuration as a Ratis state machine. Each applied command and the log index it
 * came from are written to RocksDB in one synced batch, so after a restart the state is read
 * back and log entries already applied are skipped when Ratis replays them.
 */
public final class ConfigStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigStateMachine.class);
    private static final String APPLIED_KEY = "meta/applied-index";

    private final String memberId;
    private final List<Consumer<PoolState>> listeners = new CopyOnWriteArrayList<>();
    private volatile PoolState state = PoolState.EMPTY;
    private KeyValueStore store;

    public ConfigStateMachine(String memberId) {
        this.memberId = memberId;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage storage) throws IOException {
        super.initialize(server, groupId, storage);
        Path dir = storage.getStorageDir().getStateMachineDir().toPath().resolve("config-db");
        store = KeyValueStore.open(dir);
        Map<String, PeerRecord> peers = new HashMap<>();
        for (byte[] v : store.scan(ConfigApplier.PEER_PREFIX).values()) {
            PeerRecord p = PeerRecord.parseFrom(v);
            peers.put(p.getUuid(), p);
        }
        Map<String, VolumeRecord> volumes = new HashMap<>();
        for (byte[] v : store.scan(ConfigApplier.VOLUME_PREFIX).values()) {
            VolumeRecord r = VolumeRecord.parseFrom(v);
            volumes.put(r.getName(), r);
        }
        byte[] applied = store.get(APPLIED_KEY);
        long index = applied == null ? -1 : ByteBuffer.wrap(applied).getLong();
        state = new PoolState(peers, volumes, index);
        LOG.info("{}: configuration of pool {} loaded: {} peers, {} volumes, applied index {}",
                memberId, groupId.getUuid(), peers.size(), volumes.size(), index);
    }

    public PoolState state() {
        return state;
    }

    public void addListener(Consumer<PoolState> l) {
        listeners.add(l);
    }

    @Override
    public synchronized CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        long index = entry.getIndex();
        ConfigResult result;
        if (index <= state.appliedIndex()) {
            result = ConfigResult.getDefaultInstance(); // already applied before a restart
        } else {
            result = applyNew(entry, index);
        }
        updateLastAppliedTermIndex(entry.getTerm(), index);
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(result.toByteArray())));
    }

    private ConfigResult applyNew(LogEntryProto entry, long index) {
        ConfigCommand cmd;
        try {
            cmd = ConfigCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            LOG.error("{}: unreadable configuration command at index {}", memberId, index);
            cmd = ConfigCommand.getDefaultInstance();
        }
        ConfigApplier.Outcome out = ConfigApplier.apply(state, cmd, index);
        try (KeyValueStore.Batch b = store.newBatch()) {
            for (Map.Entry<String, byte[]> w : out.writes().entrySet()) {
                if (w.getValue() == null) b.delete(w.getKey());
                else b.put(w.getKey(), w.getValue());
            }
            b.put(APPLIED_KEY, ByteBuffer.allocate(8).putLong(index).array());
            b.commit();
        } catch (IOException e) {
            // The state on disk would disagree with the log: stop rather than diverge.
            LOG.error("{}: cannot persist configuration index {}: {}", memberId, index, e.getMessage());
            throw new IllegalStateException(e);
        }
        PoolState next = out.error() == null ? out.state() : state.with(state.peers(), state.volumes(), index);
        state = next;
        if (out.error() != null) {
            LOG.info("{}: index {}: {} refused: {}", memberId, index, cmd.getCommandCase(), out.error());
        } else {
            LOG.info("{}: index {}: applied {}", memberId, index, cmd.getCommandCase());
        }
        for (Consumer<PoolState> l : listeners) {
            try {
                l.accept(next);
            } catch (RuntimeException e) {
                LOG.warn("{}: configuration listener failed: {}", memberId, e.toString());
            }
        }
        return ConfigResult.newBuilder().setError(out.error() == null ? "" : out.error()).build();
    }

    @Override
    public void close() throws IOException {
        super.close();
        if (store != null) {
            store.close();
            store = null;
        }
    }
}
