package io.braid.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import ch.qos.logback.core.util.FileSize;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/** braidd logs to stdout and to DIR/log/braidd.log (rolled daily and at 50 MB, 7 files kept). */
final class DaemonLogging {
    private static final String PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{0} - %msg%n";

    private DaemonLogging() {
    }

    static void configure(Path logDir) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.reset();
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(console(ctx));
        root.addAppender(file(ctx, logDir));
        for (String noisy : new String[] {"org.apache.ratis", "io.grpc", "io.netty", "org.rocksdb"}) {
            ctx.getLogger(noisy).setLevel(Level.WARN);
        }
        // BRAID_LOG_RATIS=INFO (or DEBUG) shows what the configuration store does.
        String ratis = System.getenv("BRAID_LOG_RATIS");
        if (ratis != null) ctx.getLogger("org.apache.ratis").setLevel(Level.toLevel(ratis, Level.WARN));
        // Ratis' client logs every request it retried on another member (after a leader change) as an error.
        ctx.getLogger("org.apache.ratis.client.impl.OrderedAsync").setLevel(Level.OFF);
    }

    static void stop() {
        ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
    }

    private static PatternLayoutEncoder encoder(LoggerContext ctx) {
        PatternLayoutEncoder e = new PatternLayoutEncoder();
        e.setContext(ctx);
        e.setPattern(PATTERN);
        e.start();
        return e;
    }

    private static ConsoleAppender<ILoggingEvent> console(LoggerContext ctx) {
        ConsoleAppender<ILoggingEvent> a = new ConsoleAppender<>();
        a.setContext(ctx);
        a.setName("stdout");
        a.setEncoder(encoder(ctx));
        a.start();
        return a;
    }

    private static RollingFileAppender<ILoggingEvent> file(LoggerContext ctx, Path logDir) {
        RollingFileAppender<ILoggingEvent> a = new RollingFileAppender<>();
        a.setContext(ctx);
        a.setName("file");
        a.setFile(logDir.resolve("braidd.log").toString());
        SizeAndTimeBasedRollingPolicy<ILoggingEvent> p = new SizeAndTimeBasedRollingPolicy<>();
        p.setContext(ctx);
        p.setParent(a);
        p.setFileNamePattern(logDir.resolve("braidd.%d{yyyy-MM-dd}.%i.log").toString());
        p.setMaxFileSize(FileSize.valueOf("50MB"));
        p.setMaxHistory(7);
        p.start();
        a.setRollingPolicy(p);
        a.setEncoder(encoder(ctx));
        a.start();
        return a;
    }
}
