package io.braid.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.braid.proto.replication.Generations;
import org.junit.jupiter.api.Test;

class SyncPlannerTest {
    private static final String P = "h1:/b";
    private static final String T = "h2:/b";

    private static Generations gen(String current, String... history) {
        return Generations.newBuilder().setCurrent(current).addAllHistory(java.util.List.of(history)).build();
    }

    @Test
    void newBrickGetsAFullResync() {
        assertEquals(SyncPlanner.Decision.FULL, SyncPlanner.decide(gen("c1"), P, T, gen(""), false));
    }

    @Test
    void sameGenerationIsPartial() {
        assertEquals(SyncPlanner.Decision.PARTIAL, SyncPlanner.decide(gen("c1"), P, T, gen("c1"), false));
    }

    @Test
    void targetAtTheBitmapBaseIsPartial() {
        Generations p = gen("c2", "c1").toBuilder().putBitmapBase(T, "c1").build();
        assertEquals(SyncPlanner.Decision.PARTIAL, SyncPlanner.decide(p, P, T, gen("c1"), false));
    }

    @Test
    void olderGenerationWithoutBitmapIsFull() {
        assertEquals(SyncPlanner.Decision.FULL, SyncPlanner.decide(gen("c3", "c2", "c1"), P, T, gen("c1"), false));
    }

    @Test
    void bothWroteWhileApartIsSplitBrain() {
        Generations p = gen("c2", "c1").toBuilder().putBitmapBase(T, "c1").build();
        Generations t = gen("c9", "c1").toBuilder().putBitmapBase(P, "c1").build();
        assertEquals(SyncPlanner.Decision.SPLIT_BRAIN, SyncPlanner.decide(p, P, T, t, false));
    }

    @Test
    void discardingTheTargetUsesBothBitmapsWhenTheyShareABase() {
        Generations p = gen("c2", "c1").toBuilder().putBitmapBase(T, "c1").build();
        Generations t = gen("c9", "c1").toBuilder().putBitmapBase(P, "c1").build();
        assertEquals(SyncPlanner.Decision.PARTIAL, SyncPlanner.decide(p, P, T, t, true));
        Generations unrelated = gen("c9");
        assertEquals(SyncPlanner.Decision.FULL, SyncPlanner.decide(p, P, T, unrelated, true));
    }
}
