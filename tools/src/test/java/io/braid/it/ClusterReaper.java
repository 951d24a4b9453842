package io.braid.it;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Kills, on JVM exit, every braidd a test started and did not stop: no process outlives the suite. */
final class ClusterReaper {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "braidd-reaper"));
    }

    private ClusterReaper() {
    }

    static void register(Process p) {
        LIVE.add(p);
        p.onExit().thenRun(() -> LIVE.remove(p));
    }
}
