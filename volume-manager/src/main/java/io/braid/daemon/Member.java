package io.braid.daemon;

import io.braid.util.HostPort;

/** Who this server is: its persistent uuid, the address it serves on, and its process. */
public record Member(String uuid, HostPort address, String canonicalAddress, long pid) {
    public String name() {
        return address.display();
    }
}
