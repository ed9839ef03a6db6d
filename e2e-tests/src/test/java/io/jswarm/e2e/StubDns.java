package io.jswarm.e2e;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A DNS server for tests, on an address the test owns: it answers one name with one
 * address (A) and everything else with NXDOMAIN, and counts the queries it got. It stands
 * for "the node's upstream resolver" so that no test ever asks the machine's resolvers.
 */
final class StubDns implements AutoCloseable {
    final DatagramSocket socket;
    final AtomicInteger queries = new AtomicInteger();
    private final String name;
    private final byte[] answer;
    private final Thread thread;

    StubDns(String bindAddr, int port, String name, String answerAddr) throws IOException {
        this.socket = new DatagramSocket(new InetSocketAddress(bindAddr, port));
        this.name = name;
        this.answer = InetAddress.getByName(answerAddr).getAddress();
        this.thread = new Thread(this::serve, "stub-dns");
        thread.setDaemon(true);
        thread.start();
    }

    private void serve() {
        byte[] buf = new byte[512];
        while (!socket.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                queries.incrementAndGet();
                byte[] reply = reply(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                if (reply != null) {
                    socket.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
                }
            } catch (IOException e) {
                return;
            }
        }
    }

    /** The query's header and question back, with one A record when it asks for our name. */
    byte[] reply(byte[] q) {
        if (q.length < 17) {
            return null;
        }
        int pos = 12;
        StringBuilder qname = new StringBuilder();
        while (pos < q.length && q[pos] != 0) {
            int len = q[pos] & 0xff;
            if (qname.length() > 0) {
                qname.append('.');
            }
            qname.append(new String(q, pos + 1, len, StandardCharsets.US_ASCII));
            pos += len + 1;
        }
        int qtype = ((q[pos + 1] & 0xff) << 8) | (q[pos + 2] & 0xff);
        int questionEnd = pos + 5;
        boolean ours = qname.toString().equalsIgnoreCase(name);
        boolean a = ours && qtype == 1;
        ByteBuffer out = ByteBuffer.allocate(questionEnd + 16);
        out.put(q, 0, 2);                                  // id
        out.put((byte) 0x81).put((byte) (ours ? 0x80 : 0x83)); // response, RD, RA; NOERROR or NXDOMAIN
        out.putShort((short) 1).putShort((short) (a ? 1 : 0)).putShort((short) 0).putShort((short) 0);
        out.put(q, 12, questionEnd - 12);
        if (a) {
            out.putShort((short) 0xc00c).putShort((short) 1).putShort((short) 1).putInt(30).putShort((short) 4).put(answer);
        }
        return java.util.Arrays.copyOf(out.array(), out.position());
    }

    @Override
    public void close() {
        socket.close();
    }
}
