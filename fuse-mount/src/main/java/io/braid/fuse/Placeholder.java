package io.braid.fuse;

/** Placeholder so the module builds before the client lands. */
final class Placeholder {
    private Placeholder() {}
}
