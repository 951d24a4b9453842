package io.braid.files;

import io.braid.proto.file.FileReply;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Results of the mutations a brick applied, by client and request id, so that a request a
 * client retries (after a timeout or a failover) is answered from its first result instead of
 * being applied twice. Bounded: the most recent clients, and the most recent ids of each.
 */
final class ReplyCache {
    private static final int CLIENTS = 1024;
    private static final int PER_CLIENT = 1024;

    private final Map<String, LinkedHashMap<Long, FileReply>> clients = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, LinkedHashMap<Long, FileReply>> e) {
            return size() > CLIENTS;
        }
    };

    synchronized FileReply get(String client, long id) {
        if (client.isEmpty() || id == 0) return null;
        Map<Long, FileReply> m = clients.get(client);
        return m == null ? null : m.get(id);
    }

    synchronized void put(String client, long id, FileReply reply) {
        if (client.isEmpty() || id == 0) return;
        clients.computeIfAbsent(client, c -> new LinkedHashMap<>(64, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, FileReply> e) {
                return size() > PER_CLIENT;
            }
        }).put(id, reply);
    }
}
