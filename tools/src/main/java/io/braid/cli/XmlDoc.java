package io.braid.cli;

import java.io.StringWriter;
import java.util.ArrayDeque;
import java.util.Deque;

import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * An indented XML document built on the JDK's {@link XMLStreamWriter} (which escapes text and
 * attributes), starting with GlusterFS's declaration.
 */
final class XmlDoc {
    static final String DECLARATION = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>";

    private final StringWriter buffer = new StringWriter();
    private final XMLStreamWriter w;
    /** For each open element: whether it has child elements yet. */
    private final Deque<boolean[]> open = new ArrayDeque<>();

    XmlDoc() {
        buffer.write(DECLARATION);
        try {
            w = XMLOutputFactory.newFactory().createXMLStreamWriter(buffer);
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
    }

    XmlDoc open(String name) {
        try {
            newChild();
            w.writeStartElement(name);
            open.push(new boolean[] {false});
            return this;
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code <name attribute="value">}, children to follow. */
    XmlDoc open(String name, String attribute, String value) {
        try {
            newChild();
            w.writeStartElement(name);
            w.writeAttribute(attribute, value);
            open.push(new boolean[] {false});
            return this;
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
    }

    XmlDoc close() {
        try {
            boolean[] hadChildren = open.pop();
            if (hadChildren[0]) {
                indent();
            }
            w.writeEndElement();
            return this;
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code <name>text</name>}, or {@code <name/>} when the text is empty. */
    XmlDoc leaf(String name, Object text) {
        try {
            newChild();
            writeLeaf(name, String.valueOf(text));
            return this;
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * GlusterFS's mixed-content element on one line, e.g.
     * {@code <brick uuid="U">h:/p<name>h:/p</name><hostUuid>U</hostUuid></brick>}.
     *
     * @param children name, text, name, text, ...
     */
    XmlDoc mixed(String name, String attribute, String attributeValue, String text, String... children) {
        try {
            newChild();
            w.writeStartElement(name);
            w.writeAttribute(attribute, attributeValue);
            w.writeCharacters(text);
            for (int i = 0; i + 1 < children.length; i += 2) {
                writeLeaf(children[i], children[i + 1]);
            }
            w.writeEndElement();
            return this;
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Closes what is still open and returns the document, newline-terminated. */
    String finish() {
        while (!open.isEmpty()) {
            close();
        }
        try {
            w.flush();
            w.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
        return buffer + "\n";
    }

    private void writeLeaf(String name, String text) throws XMLStreamException {
        if (text.isEmpty()) {
            w.writeEmptyElement(name);
        } else {
            w.writeStartElement(name);
            w.writeCharacters(text);
            w.writeEndElement();
        }
    }

    private void newChild() throws XMLStreamException {
        if (!open.isEmpty()) {
            open.peek()[0] = true;
        }
        indent();
    }

    private void indent() throws XMLStreamException {
        w.writeCharacters("\n" + "  ".repeat(open.size()));
    }
}
