package io.braid.files;

import io.braid.proto.filerep.HealItem;
import io.braid.proto.filerep.ResolveReply;
import io.braid.proto.filerep.ResolveRequest;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The operator's split-brain resolutions, as GlusterFS has them, carried out by the primary of a
 * replica set: {@code source-brick HOST:PATH [FILE]} (that brick's copy of one file, or of every
 * file in split-brain), {@code bigger-file FILE} and {@code latest-mtime FILE}. Also {@code full}:
 * a crawl that compares every path with every connected brick.
 */
final class SplitBrains {
    private SplitBrains() {}

    static ResolveReply resolve(FilePrimary primary, ResolveRequest req) throws Exception {
        ResolveReply.Builder out = ResolveReply.newBuilder();
        String self = primary.replica().brick();
        if (req.getPolicy().equals("full")) {
            for (FileLink l : primary.links()) {
                l.crawl();
                out.addResolved("/ -> " + l.brick());
            }
            return out.build();
        }
        String file = FileOps.normalize(req.getPath());
        for (FileLink l : primary.links()) {
            Map<String, String> split = l.splitBrain();
            List<String> paths = new ArrayList<>();
            for (String p : split.keySet()) {
                String rel = FileOps.normalize(p);
                if (req.getPath().isEmpty() || rel.equals(file)) paths.add(rel);
            }
            for (String p : paths) {
                Boolean fromPeer = switch (req.getPolicy()) {
                    case "source-brick" -> req.getSourceBrick().equals(self) ? Boolean.FALSE
                            : req.getSourceBrick().equals(l.brick()) ? Boolean.TRUE : null;
                    case "bigger-file" -> compare(primary, l, p, true);
                    case "latest-mtime" -> compare(primary, l, p, false);
                    default -> throw Status.INVALID_ARGUMENT.withDescription("unknown resolution " + req.getPolicy())
                            .asRuntimeException();
                };
                if (fromPeer == null) continue;
                l.resolve(p, fromPeer);
                out.addResolved("/" + p + " <- " + (fromPeer ? l.brick() : self));
            }
        }
        return out.build();
    }

    /** Whether the peer's copy wins: the bigger file, or the later mtime. A tie is refused. */
    private static Boolean compare(FilePrimary primary, FileLink l, String p, boolean bySize) {
        HealItem mine = HealSource.describe(primary.replica().store(), p);
        HealItem theirs = l.describeOnPeer(p);
        if (mine.getKind() != HealItem.Kind.FILE || theirs.getKind() != HealItem.Kind.FILE) {
            throw Status.FAILED_PRECONDITION.withDescription("/" + p + " is not a regular file on both "
                    + primary.replica().brick() + " and " + l.brick() + ": use source-brick").asRuntimeException();
        }
        long a = bySize ? mine.getAttr().getSize() : mine.getAttr().getMtimeNs();
        long b = bySize ? theirs.getAttr().getSize() : theirs.getAttr().getMtimeNs();
        if (a == b) {
            throw Status.FAILED_PRECONDITION.withDescription("/" + p + ": "
                    + (bySize ? "both copies have the same size (" + a + " bytes)" : "both copies have the same mtime")
                    + ": use source-brick").asRuntimeException();
        }
        return b > a;
    }
}
