package io.braid.nbd;

import java.time.Duration;

/**
 * What one NBD connection may cost the server. Reading from a connection pauses (Netty autoRead
 * off) while it has {@code maxInFlightRequests} requests or {@code maxInFlightBytes} of READ and
 * WRITE payload being served, so a client that pipelines without limit cannot exhaust memory.
 *
 * @param maxInFlightRequests requests accepted but not yet answered, per connection
 * @param maxInFlightBytes    READ and WRITE payload bytes accepted but not yet answered, per connection
 * @param maxOptionLength     option data longer than this is skipped and answered NBD_REP_ERR_TOO_BIG
 * @param handshakeTimeout    a connection still haggling options after this long is closed
 */
public record NbdLimits(int maxInFlightRequests, long maxInFlightBytes, int maxOptionLength, Duration handshakeTimeout) {
    public static final NbdLimits DEFAULT = new NbdLimits(64, 128L << 20, 64 << 10, Duration.ofSeconds(30));

    public NbdLimits {
        if (maxInFlightRequests < 1) throw new IllegalArgumentException("maxInFlightRequests must be at least 1");
        if (maxInFlightBytes < 1) throw new IllegalArgumentException("maxInFlightBytes must be at least 1");
        if (maxOptionLength < NbdProtocol.MAX_STRING_LENGTH + 8) {
            throw new IllegalArgumentException("maxOptionLength must hold a 4096-byte export name");
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout must be positive");
        }
    }
}
