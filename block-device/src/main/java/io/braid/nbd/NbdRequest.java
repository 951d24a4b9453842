package io.braid.nbd;

import io.netty.buffer.ByteBuf;

/** One request of the transmission phase, from its header until its reply is written. */
final class NbdRequest {
    final int type;
    final int flags;
    final long cookie;
    /** Unsigned on the wire: a negative value here is an offset of 2^63 or more, always out of range. */
    final long offset;
    /** Unsigned 32 bits on the wire. */
    final long length;
    /** The NBD errno the request fails with before it reaches the export, or 0 when it is valid. */
    final int error;
    /** READ and WRITE payload bytes this request holds while in flight (counts against the connection's limit). */
    final long cost;
    /** A valid WRITE's data, filled as it arrives; released once the export is done with it. */
    ByteBuf payload;

    NbdRequest(int type, int flags, long cookie, long offset, long length, long exportSize) {
        this.type = type;
        this.flags = flags;
        this.cookie = cookie;
        this.offset = offset;
        this.length = length;
        this.error = check(exportSize);
        this.cost = error == 0 && (type == NbdProtocol.CMD_READ || type == NbdProtocol.CMD_WRITE) ? length : 0;
    }

    boolean fua() {
        return (flags & NbdProtocol.CMD_FLAG_FUA) != 0;
    }

    boolean noHole() {
        return (flags & NbdProtocol.CMD_FLAG_NO_HOLE) != 0;
    }

    void releasePayload() {
        if (payload != null) {
            payload.release();
            payload = null;
        }
    }

    /**
     * The spec's errors for a request the export must not see: EINVAL for an unknown command, a flag
     * not documented for the command, a READ or WRITE over the maximum payload, or a READ or TRIM past
     * the end; ENOSPC for a WRITE or WRITE_ZEROES past the end. FUA is accepted on every command, as
     * the spec requires once NBD_FLAG_SEND_FUA is advertised (it means nothing on READ and FLUSH).
     * FLUSH ignores its offset and length, which are reserved.
     */
    private int check(long size) {
        int allowedFlags = switch (type) {
            case NbdProtocol.CMD_READ, NbdProtocol.CMD_WRITE, NbdProtocol.CMD_FLUSH, NbdProtocol.CMD_TRIM ->
                    NbdProtocol.CMD_FLAG_FUA;
            case NbdProtocol.CMD_WRITE_ZEROES -> NbdProtocol.CMD_FLAG_FUA | NbdProtocol.CMD_FLAG_NO_HOLE;
            default -> -1;
        };
        if (allowedFlags < 0 || (flags & ~allowedFlags) != 0) return NbdError.EINVAL;
        if (type == NbdProtocol.CMD_FLUSH) return 0;
        boolean hasPayload = type == NbdProtocol.CMD_READ || type == NbdProtocol.CMD_WRITE;
        if (hasPayload && length > NbdProtocol.MAX_PAYLOAD) return NbdError.EINVAL;
        if (offset < 0 || offset > size || length > size - offset) {
            boolean writes = type == NbdProtocol.CMD_WRITE || type == NbdProtocol.CMD_WRITE_ZEROES;
            return writes ? NbdError.ENOSPC : NbdError.EINVAL;
        }
        return 0;
    }

    @Override
    public String toString() {
        return NbdProtocol.commandName(type) + " offset " + Long.toUnsignedString(offset) + " length " + length;
    }
}
