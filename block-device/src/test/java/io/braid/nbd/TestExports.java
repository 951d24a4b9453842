package io.braid.nbd;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A fixed set of exports by name, for tests. */
final class TestExports implements BlockExports {
    private final Map<String, BlockExport> byName = new LinkedHashMap<>();
    private final Map<String, String> descriptions = new LinkedHashMap<>();

    TestExports add(String name, BlockExport export) {
        byName.put(name, export);
        return this;
    }

    TestExports describe(String name, String description) {
        descriptions.put(name, description);
        return this;
    }

    @Override
    public synchronized BlockExport lookup(String name) {
        return byName.get(name);
    }

    @Override
    public synchronized List<String> names() {
        return new ArrayList<>(byName.keySet());
    }

    @Override
    public String description(String name) {
        return descriptions.getOrDefault(name, "");
    }
}
