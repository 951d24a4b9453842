package io.braid.cli;

import java.util.List;

import io.braid.proto.admin.HealReply;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.VerifyReply;
import io.braid.proto.admin.Volume;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeStatusEntry;

/** Renders replies for stdout in one output form. Every method returns complete text, newline-terminated. */
interface Formatter {
    String success(Success success);

    /** What goes on stdout (besides the stderr line) when a command fails; empty for text. */
    String failure(String reason);

    /**
     * @param members the members to show, self already renamed to "localhost" for the pool list
     * @param poolList true for {@code pool list}, false for {@code peer status}
     */
    String peers(List<Member> members, boolean poolList);

    String volumeInfo(List<Volume> volumes);

    String volumeList(List<String> names);

    String volumeStatus(List<VolumeStatusEntry> volumes, boolean detail);

    String volumeGet(VolumeGetReply reply);

    String optionHelp(List<OptionValue> options);

    /** {@code volume heal NAME info [summary|split-brain]}; the reply's volume name is filled in. */
    String healInfo(HealReply reply, HealView view);

    /** {@code volume verify NAME [repair]}; the reply's volume name is filled in. */
    String verify(VerifyReply reply, boolean repair);
}
