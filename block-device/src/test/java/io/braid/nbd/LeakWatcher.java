package io.braid.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * Collects the reports of Netty's leak detector (paranoid in tests, see the surefire argLine) so a
 * test class can fail when a ByteBuf was never released.
 */
final class LeakWatcher {
    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

    static {
        Logger logger = (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
        AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                if (event.getFormattedMessage().contains("LEAK")) LEAKS.add(event.getFormattedMessage());
            }
        };
        appender.setContext(logger.getLoggerContext());
        appender.start();
        logger.addAppender(appender);
    }

    private LeakWatcher() {
    }

    static void install() {
        // the static initializer does the work
    }

    /** Collects garbage and allocates a little, which makes the detector report leaked buffers. */
    static void assertNoLeaks() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            for (int j = 0; j < 100; j++) {
                ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
                buf.release();
            }
        }
        assertEquals(0, LEAKS.size(), () -> "Netty reported " + LEAKS.size() + " leaked buffers; the first:\n" + LEAKS.get(0));
    }
}
