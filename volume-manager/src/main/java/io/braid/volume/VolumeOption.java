package io.braid.volume;

import io.braid.proto.config.VolumeRecord;
import java.util.function.Function;

/**
 * One key of {@code volume set}: its type, default and help text. {@link #normalize} checks a
 * value an operator gave and returns the form that is stored, or throws with the reason.
 */
public record VolumeOption(String key, String type, Function<VolumeRecord, String> defaultFor, String help,
                           Validator validator) {

    @FunctionalInterface
    public interface Validator {
        /** Returns the stored form of value, or throws IllegalArgumentException with a one-line reason. */
        String normalize(String value, VolumeRecord volume);
    }

    public String defaultValue(VolumeRecord volume) {
        return defaultFor.apply(volume);
    }

    public String normalize(String value, VolumeRecord volume) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("empty value for " + key);
        }
        return validator.normalize(value.trim(), volume);
    }
}
