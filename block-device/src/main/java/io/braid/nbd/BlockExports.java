package io.braid.nbd;

import java.util.List;

/** The exports a server offers, looked up by name at each handshake. */
public interface BlockExports {
    /** The export called name, or null when there is none (or it is not started). */
    BlockExport lookup(String name);

    /** Every export name, for NBD_OPT_LIST. */
    List<String> names();

    /** One line of description for an export, or "" (NBD_INFO_DESCRIPTION). */
    default String description(String name) {
        return "";
    }
}
