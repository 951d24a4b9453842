package io.braid.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.braid.proto.file.FileReply;
import io.braid.proto.file.Lock;
import io.braid.proto.filerep.LockSync;
import io.braid.proto.filerep.LockedFile;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The lock table's changes as a primary sends them, and a secondary's copy built from them. */
class LockTableTest {
    static Lock lock(String path, Lock.Cmd cmd, Lock.Type type, long owner) {
        return Lock.newBuilder().setPath(path).setCmd(cmd).setType(type).setOwner(owner).setFlock(true).build();
    }

    static LockSync sync(LockTable.Changes ch, Map<String, String> paths) {
        LockSync.Builder b = LockSync.newBuilder();
        for (int i = 0; i < ch.keys().size(); i++) {
            b.addFiles(LockedFile.newBuilder().setPath(paths.get(ch.keys().get(i))).addAllHeld(ch.held().get(i)));
        }
        return b.build();
    }

    static int errno(CompletableFuture<FileReply> f) {
        return f.join().getErrno();
    }

    @Test
    void aSecondarysCopyRefusesWhatThePrimaryRefuses() {
        LockTable primary = new LockTable();
        LockTable secondary = new LockTable();
        // the secondary knows the file under its own key (its inode there)
        Map<String, String> paths = Map.of("ino:7", "/f");
        Map<String, String> keysThere = Map.of("/f", "ino:99");

        assertEquals(0, errno(primary.lock("ino:7", "a", lock("/f", Lock.Cmd.SETLK, Lock.Type.WRLCK, 1))));
        LockTable.Changes ch = primary.drain();
        assertEquals(List.of("ino:7"), ch.keys());
        assertTrue(primary.drain().isEmpty(), "drained once");
        secondary.apply(sync(ch, paths), keysThere::get);

        // promoted, the secondary refuses another client and lets the holder unlock
        assertEquals(Errno.EAGAIN, errno(secondary.lock("ino:99", "b", lock("/f", Lock.Cmd.SETLK, Lock.Type.WRLCK, 2))));
        assertEquals(Set.of("a"), secondary.clients());
        assertEquals(0, errno(secondary.lock("ino:99", "a", lock("/f", Lock.Cmd.SETLK, Lock.Type.UNLCK, 1))));
        assertEquals(0, errno(secondary.lock("ino:99", "b", lock("/f", Lock.Cmd.SETLK, Lock.Type.WRLCK, 2))));

        // a refused request and a test change nothing, so nothing is sent
        assertEquals(Errno.EAGAIN, errno(primary.lock("ino:7", "b", lock("/f", Lock.Cmd.SETLK, Lock.Type.WRLCK, 2))));
        primary.lock("ino:7", "b", lock("/f", Lock.Cmd.GETLK, Lock.Type.WRLCK, 2)).join();
        assertTrue(primary.drain().isEmpty());
    }

    @Test
    void aWaiterIsAnsweredOnlyOnceItsGrantIsSent() {
        LockTable t = new LockTable();
        t.lock("k", "a", lock("/f", Lock.Cmd.SETLK, Lock.Type.WRLCK, 1)).join();
        t.drain();
        CompletableFuture<FileReply> waiter = t.lock("k", "b", lock("/f", Lock.Cmd.SETLKW, Lock.Type.WRLCK, 2));
        assertFalse(waiter.isDone());
        assertTrue(t.drain().isEmpty(), "a wait changes nothing");

        t.lock("k", "a", lock("/f", Lock.Cmd.SETLK, Lock.Type.UNLCK, 1)).join();
        assertFalse(waiter.isDone(), "granted, but not yet on the secondaries");
        LockTable.Changes ch = t.drain();
        assertEquals(List.of("k"), ch.keys());
        assertEquals(1, ch.held().get(0).size());
        assertEquals("b", ch.held().get(0).get(0).getClient());
        assertEquals(List.of(waiter), ch.granted());
    }

    @Test
    void aClientsLocksGoWithItAndAResetForgetsWhatTheSecondaryHad() {
        LockTable primary = new LockTable();
        primary.lock("k1", "a", lock("/f", Lock.Cmd.SETLK, Lock.Type.WRLCK, 1)).join();
        primary.lock("k2", "b", lock("/g", Lock.Cmd.SETLK, Lock.Type.WRLCK, 1)).join();
        primary.drain();
        primary.release("a");
        LockTable.Changes ch = primary.drain();
        assertEquals(List.of("k1"), ch.keys());
        assertTrue(ch.held().get(0).isEmpty(), "no lock left on k1");
        assertEquals(Set.of("b"), primary.clients());

        LockTable stale = new LockTable();
        stale.lock("s1", "a", lock("/old", Lock.Cmd.SETLK, Lock.Type.WRLCK, 1)).join();
        stale.apply(primary.snapshot(k -> k.equals("k2") ? "/g" : "/f"), p -> p.equals("/g") ? "s2" : "s1");
        assertEquals(Set.of("b"), stale.clients(), "the whole table replaced what the secondary had");
        assertEquals("/g", stale.nameOf("s2"));
    }

    @Test
    void aPrimaryThatStepsDownSendsItsWaitersToTheNextAndKeepsTheLocks() {
        LockTable t = new LockTable();
        t.lock("k", "a", lock("/f", Lock.Cmd.SETLK, Lock.Type.WRLCK, 1)).join();
        CompletableFuture<FileReply> waiter = t.lock("k", "b", lock("/f", Lock.Cmd.SETLKW, Lock.Type.WRLCK, 2));
        t.primaryChanged();
        java.util.concurrent.CompletionException e =
                org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class, waiter::join);
        assertTrue(e.getCause() instanceof FilePrimary.NotPrimaryException, "the client asks the next primary: " + e);
        assertEquals(Set.of("a"), t.clients());
        assertTrue(t.drain().isEmpty());
    }
}
