package io.braid.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import io.braid.proto.admin.BrickStatus;
import io.braid.proto.admin.Member;
import io.braid.proto.admin.OptionValue;
import io.braid.proto.admin.Volume;
import io.braid.proto.admin.VolumeGetReply;
import io.braid.proto.admin.VolumeStatusEntry;

class XmlFormatterTest {
    private final XmlFormatter xml = new XmlFormatter();

    static Document parse(String text) throws Exception {
        assertTrue(text.startsWith("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cliOutput>"), text);
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    static String first(Element e, String tag) {
        return e.getElementsByTagName(tag).item(0).getTextContent();
    }

    @Test
    void volumeInfoCounts() throws Exception {
        List<Volume> volumes = List.of(
                Volumes.replicated("r3", 3, 1, false),
                Volumes.replicated("r3x2", 3, 2, false),
                Volumes.replicated("arb", 3, 1, true),
                Volumes.distribute("dist", 3),
                Volumes.block("vm", 64L << 20));
        Document doc = parse(xml.volumeInfo(volumes));
        Element root = doc.getDocumentElement();
        assertEquals("0", first(root, "opRet"));
        assertEquals("5", doc.getElementsByTagName("count").item(0).getTextContent());
        NodeList vols = doc.getElementsByTagName("volume");
        assertEquals(5, vols.getLength());
        int[][] expected = { // brickCount, distCount, replicaCount, arbiterCount, type
            {3, 1, 3, 0, 2}, {6, 2, 3, 0, 5}, {3, 1, 3, 1, 2}, {3, 3, 1, 0, 0}, {3, 1, 3, 0, 10}};
        for (int i = 0; i < expected.length; i++) {
            Element v = (Element) vols.item(i);
            assertEquals(String.valueOf(expected[i][0]), first(v, "brickCount"), "brickCount " + i);
            assertEquals(String.valueOf(expected[i][1]), first(v, "distCount"), "distCount " + i);
            assertEquals(String.valueOf(expected[i][2]), first(v, "replicaCount"), "replicaCount " + i);
            assertEquals(String.valueOf(expected[i][3]), first(v, "arbiterCount"), "arbiterCount " + i);
            assertEquals(String.valueOf(expected[i][4]), first(v, "type"), "type " + i);
        }
        Element arb = (Element) vols.item(2);
        NodeList bricks = arb.getElementsByTagName("brick");
        assertEquals(3, bricks.getLength());
        Element third = (Element) bricks.item(2);
        assertEquals("uuid-3", third.getAttribute("uuid"));
        assertEquals("127.0.0.13:/srv/arb0", first(third, "name"));
        assertEquals("1", first(third, "isArbiter"));
        assertEquals("1", first(arb, "status"));
        assertEquals("Started", first(arb, "statusStr"));
        Element block = (Element) vols.item(4);
        assertEquals(String.valueOf(64L << 20), first(block, "size"));
        assertEquals("2", first(block, "status"));
        assertEquals(0, ((Element) vols.item(0)).getElementsByTagName("size").getLength());
    }

    @Test
    void countsTheDaemonLeftUnset() throws Exception {
        Volume dist = Volumes.distribute("d", 3).toBuilder().setReplicaCount(0).setDistCount(0).build();
        Volume rep = Volumes.replicated("r", 3, 2, false).toBuilder().setDistCount(0).build();
        Document doc = parse(xml.volumeInfo(List.of(dist, rep)));
        Element d = (Element) doc.getElementsByTagName("volume").item(0);
        assertEquals("1", first(d, "replicaCount"));
        assertEquals("3", first(d, "distCount"));
        Element r = (Element) doc.getElementsByTagName("volume").item(1);
        assertEquals("2", first(r, "distCount"));
    }

    @Test
    void escapesNamesAndOptions() throws Exception {
        Volume v = Volumes.distribute("a&b", 1).toBuilder().putOptions("k<1>", "v\"&'").build();
        String out = xml.volumeInfo(List.of(v));
        Document doc = parse(out);
        Element opt = (Element) doc.getElementsByTagName("option").item(0);
        assertEquals("k<1>", first(opt, "name"));
        assertEquals("v\"&'", first(opt, "value"));
        assertEquals("a&b", first(doc.getDocumentElement(), "name"));
        assertEquals("1", first(doc.getDocumentElement(), "optCount"));
    }

    @Test
    void failureAndSuccess() throws Exception {
        Document f = parse(xml.failure("Volume <web> does not exist"));
        assertEquals("-1", first(f.getDocumentElement(), "opRet"));
        assertEquals("0", first(f.getDocumentElement(), "opErrno"));
        assertEquals("Volume <web> does not exist", first(f.getDocumentElement(), "opErrstr"));
        String ok = xml.success(new Success("volume start: web: success"));
        assertTrue(ok.contains("<opErrstr/>"), ok);
        assertEquals("volume start: web: success", first(parse(ok).getDocumentElement(), "output"));
    }

    @Test
    void statusPeersListGet() throws Exception {
        VolumeStatusEntry v = VolumeStatusEntry.newBuilder().setName("web")
                .addBricks(BrickStatus.newBuilder().setName("127.0.0.11:/srv/b").setHostUuid("U1").setOnline(true)
                        .setPort(24100).setPid(77).setRole("primary").setState("UpToDate"))
                .addBricks(BrickStatus.newBuilder().setName("127.0.0.12:/srv/b").setHostUuid("U2")
                        .setRole("secondary").setState("Unknown"))
                .build();
        Document s = parse(xml.volumeStatus(List.of(v), false));
        assertEquals("2", first(s.getDocumentElement(), "nodeCount"));
        Element n2 = (Element) s.getElementsByTagName("node").item(1);
        assertEquals("127.0.0.12", first(n2, "hostname"));
        assertEquals("/srv/b", first(n2, "path"));
        assertEquals("U2", first(n2, "peerid"));
        assertEquals("0", first(n2, "status"));
        assertEquals("N/A", first(n2, "port"));
        assertEquals("N/A", first(n2, "rdma"));

        Member m = Member.newBuilder().setUuid("u").setHostname("h").setConnected(true).setState("Peer in Cluster")
                .build();
        Document p = parse(xml.peers(List.of(m), false));
        assertEquals("1", first(p.getDocumentElement(), "connected"));
        assertEquals("3", first(p.getDocumentElement(), "state"));
        assertEquals("Peer in Cluster", first(p.getDocumentElement(), "stateStr"));

        Document l = parse(xml.volumeList(List.of("a", "b")));
        assertEquals("2", first(l.getDocumentElement(), "count"));
        assertEquals(2, l.getElementsByTagName("volume").getLength());

        Document g = parse(xml.volumeGet(VolumeGetReply.newBuilder().setVolume("web").addOptions(
                OptionValue.newBuilder().setKey("k").setValue("v").setDefaultValue("d")).build()));
        assertEquals("1", first(g.getDocumentElement(), "count"));
        assertEquals("k", first(g.getDocumentElement(), "Option"));
        assertEquals("v", first(g.getDocumentElement(), "Value"));
        assertEquals("d", first(g.getDocumentElement(), "Default"));
    }

    @Test
    void healInfo() throws Exception {
        String out = xml.healInfo(Heals.info(), HealView.INFO);
        Document doc = parse(out);
        Element root = doc.getDocumentElement();
        Element healInfo = (Element) root.getElementsByTagName("healInfo").item(0);
        NodeList bricks = ((Element) healInfo.getElementsByTagName("bricks").item(0)).getElementsByTagName("brick");
        assertEquals(3, bricks.getLength());
        Element b2 = (Element) bricks.item(1);
        assertEquals("-", b2.getAttribute("hostUuid"));
        assertEquals("127.0.0.12:/srv/b", first(b2, "name"));
        assertEquals(2, b2.getElementsByTagName("file").getLength());
        assertEquals("/docs/b.txt", b2.getElementsByTagName("file").item(1).getTextContent());
        assertEquals("Connected", first(b2, "status"));
        assertEquals("2", first(b2, "numberOfEntries"));
        assertEquals("1", first(b2, "numberOfEntriesInSplitBrain"));
        assertEquals("8192", first(b2, "outOfSyncBytes"));
        Element b3 = (Element) bricks.item(2);
        assertEquals("Transport endpoint is not connected", first(b3, "status"));
        assertEquals(0, ((Element) bricks.item(0)).getElementsByTagName("numberOfEntriesInSplitBrain").getLength());
        // glfsheal's order: the report first, then opRet, opErrno, opErrstr
        assertEquals("0", first(root, "opRet"));
        assertTrue(out.indexOf("</healInfo>") < out.indexOf("<opRet>"), out);
        assertTrue(out.contains("<opErrstr/>"), out);
        assertTrue(out.contains("\n  <healInfo>\n    <bricks>\n      <brick hostUuid=\"-\">\n"
                + "        <name>127.0.0.11:/srv/b</name>\n        <status>Connected</status>\n"), out);
    }

    @Test
    void healInfoSplitBrainAndSummary() throws Exception {
        Element sb = (Element) parse(xml.healInfo(Heals.info(), HealView.SPLIT_BRAIN)).getElementsByTagName("brick")
                .item(1);
        assertEquals("1", first(sb, "numberOfEntries"));
        assertEquals(2, sb.getElementsByTagName("file").getLength());

        Document idle = parse(xml.healInfo(Heals.info(), HealView.SUMMARY));
        Element b2 = (Element) idle.getElementsByTagName("brick").item(1);
        assertEquals("2", first(b2, "totalNumberOfEntries"));
        assertEquals("1", first(b2, "numberOfEntriesInHealPending"));
        assertEquals("1", first(b2, "numberOfEntriesInSplitBrain"));
        assertEquals("0", first(b2, "numberOfEntriesPossiblyHealing"));
        assertEquals("8192", first(b2, "outOfSyncBytes"));
        assertEquals(0, b2.getElementsByTagName("file").getLength());
        assertEquals(0, idle.getElementsByTagName("progress").getLength());

        Document running = parse(xml.healInfo(Heals.running(), HealView.SUMMARY));
        Element progress = (Element) running.getElementsByTagName("progress").item(0);
        assertEquals("healInfo", progress.getParentNode().getNodeName());
        assertEquals("0.45", first(progress, "done"));
        assertEquals("129394278", first(progress, "bytesRemaining"));
        assertEquals("12", first(progress, "etaSeconds"));
        assertEquals("0.0001", XmlFormatter.plain(1e-4));
        assertEquals("1", XmlFormatter.plain(1.0));
    }

    @Test
    void verify() throws Exception {
        Document clean = parse(xml.verify(Heals.clean(), false));
        Element v = (Element) clean.getElementsByTagName("volVerify").item(0);
        assertEquals("0", first(clean.getDocumentElement(), "opRet"));
        assertEquals("vm", first(v, "volName"));
        assertEquals("67108864", first(v, "bytesCompared"));
        assertEquals("0", first(v, "differenceCount"));
        assertEquals(0, v.getElementsByTagName("difference").getLength());
        assertEquals("0", first(v, "repair"));

        Document diff = parse(xml.verify(Heals.differing(2), true));
        NodeList differences = diff.getElementsByTagName("difference");
        assertEquals(2, differences.getLength());
        Element block = (Element) differences.item(0);
        assertEquals("127.0.0.12:/srv/vm", first(block, "brick"));
        assertEquals("4096", first(block, "offset"));
        assertEquals("4096", first(block, "length"));
        assertEquals("", first(block, "file"));
        assertEquals("/docs/a.txt", first((Element) differences.item(1), "file"));
        assertEquals("2", first(diff.getDocumentElement(), "repaired"));
        assertEquals("1", first(diff.getDocumentElement(), "repair"));
    }

    @Test
    void statusDetailHasLastResync() throws Exception {
        Document detail = parse(xml.volumeStatus(List.of(Heals.status()), true));
        NodeList nodes = detail.getElementsByTagName("node");
        Element primary = (Element) nodes.item(0);
        assertEquals("", first(primary, "lastResync"));
        assertEquals(0, primary.getElementsByTagName("kind").getLength());
        Element resynced = (Element) nodes.item(1);
        assertEquals("partial", first(resynced, "kind"));
        assertEquals("4096", first(resynced, "bytes"));
        assertEquals("0.2", first(resynced, "seconds"));
        Element split = (Element) nodes.item(2);
        assertEquals("1", first(split, "splitBrain"));
        assertEquals("Outdated", first(split, "state"));
        assertEquals("1048576", first(split, "outOfSyncBytes"));

        Document plain = parse(xml.volumeStatus(List.of(Heals.status()), false));
        assertEquals(0, plain.getElementsByTagName("lastResync").getLength());
        assertEquals("1", first((Element) plain.getElementsByTagName("node").item(2), "splitBrain"));
    }
}
