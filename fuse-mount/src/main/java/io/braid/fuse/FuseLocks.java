package io.braid.fuse;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.Lock;
import ru.serce.jnrfuse.struct.Flock;

/**
 * Advisory locks of a mount: FUSE's fcntl and flock requests as the protocol's Lock, held by the
 * primary of the file's set for the owner (this mount's client id with FUSE's lock owner).
 */
final class FuseLocks {
    static final int F_GETLK = 5;
    static final int F_SETLK = 6;
    static final int F_SETLKW = 7;
    static final int LOCK_NB = 4;

    private final VolumeOps ops;
    /** Owners that ever took an fcntl lock here: libfuse unlocks on every close, for others that is skipped. */
    private final Set<Long> owners = ConcurrentHashMap.newKeySet();

    FuseLocks(VolumeOps ops) {
        this.ops = ops;
    }

    /** Whether owner ever took a byte-range lock through this mount (its unlock then asks the server). */
    boolean mayHold(long owner) {
        return owners.contains(owner);
    }

    /**
     * fcntl(F_GETLK / F_SETLK / F_SETLKW) through open file fh (0: none); a GETLK answer is
     * written back into flock.
     */
    int fcntl(String path, long fh, long owner, int cmd, Flock flock) {
        Lock.Type type = switch (flock.l_type.get()) {
            case Flock.F_RDLCK -> Lock.Type.RDLCK;
            case Flock.F_WRLCK -> Lock.Type.WRLCK;
            default -> Lock.Type.UNLCK;
        };
        Lock.Cmd c = switch (cmd) {
            case F_GETLK -> Lock.Cmd.GETLK;
            case F_SETLKW -> Lock.Cmd.SETLKW;
            default -> Lock.Cmd.SETLK;
        };
        if (c != Lock.Cmd.GETLK) {
            if (type == Lock.Type.UNLCK && !mayHold(owner)) {
                return 0;
            }
            if (type != Lock.Type.UNLCK) {
                owners.add(owner);
            }
        }
        Lock lock = Lock.newBuilder().setPath(path).setCmd(c).setType(type).setStart(flock.l_start.get())
                .setLength(flock.l_len.get()).setOwner(owner).setPid((int) flock.l_pid.get()).build();
        FileReply reply = ops.lock(lock, fh);
        if (reply.getErrno() != 0) {
            return -reply.getErrno();
        }
        if (c == Lock.Cmd.GETLK) {
            Lock conflict = reply.getConflict();
            if (!reply.hasConflict() || conflict.getType() == Lock.Type.UNLCK) {
                flock.l_type.set(Flock.F_UNLCK);
            } else {
                flock.l_type.set(conflict.getType() == Lock.Type.RDLCK ? Flock.F_RDLCK : Flock.F_WRLCK);
                flock.l_start.set(conflict.getStart());
                flock.l_len.set(conflict.getLength());
                flock.l_pid.set(conflict.getPid());
            }
        }
        return 0;
    }

    /** flock(2) through open file fh: LOCK_SH / LOCK_EX / LOCK_UN, waiting unless LOCK_NB. */
    int flock(String path, long fh, long owner, int op) {
        Lock.Type type = (op & Flock.LOCK_UN) != 0 ? Lock.Type.UNLCK
                : (op & Flock.LOCK_EX) != 0 ? Lock.Type.WRLCK : Lock.Type.RDLCK;
        boolean wait = (op & LOCK_NB) == 0 && type != Lock.Type.UNLCK;
        Lock lock = Lock.newBuilder().setPath(path).setCmd(wait ? Lock.Cmd.SETLKW : Lock.Cmd.SETLK)
                .setType(type).setOwner(owner).setFlock(true).build();
        return -ops.lock(lock, fh).getErrno();
    }

    /** The flock lock of an open file that is released. */
    int releaseFlock(String path, long fh, long owner) {
        return flock(path, fh, owner, Flock.LOCK_UN);
    }
}
