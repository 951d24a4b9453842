package io.braid.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** When a set's primary counts as lost from, for network.ping-timeout. */
class TestFailoverClock {
    private static final long S = 1_000_000_000L;
    private static final long TIMEOUT = 5 * S;
    private static final long PERIOD = S;

    @Test
    void countsFromThePrimarysLastAnswer() {
        long seen = 100 * S;
        assertEquals(seen - 1_600_000_000L, ReplicaSets.lostSince(seen, OptionalLong.of(seen - 1_600_000_000L), TIMEOUT, PERIOD));
    }

    @Test
    void aPrimaryThatNeverAnsweredCountsFromWhenItWasSeenLost() {
        long seen = 100 * S;
        assertEquals(seen, ReplicaSets.lostSince(seen, OptionalLong.empty(), TIMEOUT, PERIOD));
    }

    @Test
    void anOldAnswerStillLeavesOneMoreHelloToMiss() {
        // a member that was paused for a minute resumes with an answer a minute old
        long seen = 100 * S;
        long since = ReplicaSets.lostSince(seen, OptionalLong.of(seen - 60 * S), TIMEOUT, PERIOD);
        assertEquals(seen - 4 * S, since);
        assertEquals(PERIOD, since + TIMEOUT - seen, "a hello period remains before promotion");
    }

    @Test
    void theClockMayWrapAround() {
        long seen = Long.MIN_VALUE + 2 * S;
        long last = Long.MAX_VALUE - S; // 3 s before seen, across the wrap
        assertEquals(last, ReplicaSets.lostSince(seen, OptionalLong.of(last), TIMEOUT, PERIOD));
    }

    @Test
    void anAnswerAfterTheMomentItWasSeenLostIsNotInTheFuture() {
        long seen = 100 * S;
        assertEquals(seen, ReplicaSets.lostSince(seen, OptionalLong.of(seen + S), TIMEOUT, PERIOD));
    }
}
