package io.jswarm.dns;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.dns.*;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's embedded DNS server: one Netty event loop answering on 127.0.0.11:53 (UDP
 * and TCP) inside every container that is on an overlay network. Each container's
 * sockets are opened inside its namespace (see {@link InNamespace}) and then served here
 * like any other, so there is no DNS process per container. Cluster names come from the
 * {@link NameTable}, scoped to the asking container's networks; other names go to the
 * upstream resolvers, from the node's namespace; with none, the answer is NXDOMAIN.
 */
public final class DnsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DnsServer.class);
    public static final String ADDRESS = "127.0.0.11";
    /** Short: answers follow task changes, and a client that caches must not keep a gone task long. */
    static final long TTL_SECONDS = 5;
    static final long FORWARD_TIMEOUT_MS = 2_000;

    /** Opens sockets inside a container's network namespace. */
    public interface InNamespace {
        <T> T call(Callable<T> body) throws IOException;
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final NameTable names;
    private final List<InetSocketAddress> upstreams;
    private final Map<String, List<Channel>> listeners = new ConcurrentHashMap<>();
    private final Map<String, Collection<String>> scopes = new ConcurrentHashMap<>();
    private final Map<Integer, Consumer<DnsResponse>> pending = new ConcurrentHashMap<>();
    private final AtomicInteger nextId = new AtomicInteger();
    private volatile Channel forwarder;

    /** Made on the caller's thread: the forwarding socket belongs to the node's namespace, where the upstreams are. */
    public DnsServer(NameTable names, List<InetSocketAddress> upstreams) {
        this.names = names;
        this.upstreams = List.copyOf(upstreams);
        if (!this.upstreams.isEmpty()) {
            try {
                forwarder = openForwarder();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Answers in one container from now on, for the names of the given networks. Opened
     * again (a restarted agent re-adopting the container), the old sockets are replaced.
     */
    public void listen(String key, Collection<String> networkIds, InNamespace ns) throws IOException {
        scopes.put(key, List.copyOf(networkIds));
        if (listeners.containsKey(key)) {
            return;
        }
        NioDatagramChannel udp = ns.call(NioDatagramChannel::new);
        NioServerSocketChannel tcp = ns.call(NioServerSocketChannel::new);
        InetSocketAddress at = new InetSocketAddress(ADDRESS, 53);
        try {
            Channel u = new Bootstrap().group(group).channelFactory(() -> udp).handler(new ChannelInitializer<NioDatagramChannel>() {
                @Override
                protected void initChannel(NioDatagramChannel ch) {
                    ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(), new UdpQueries(key));
                }
            }).bind(at).sync().channel();
            Channel t = new ServerBootstrap().group(group).channelFactory(() -> tcp).childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new TcpDnsQueryDecoder(), new TcpDnsResponseEncoder(), new TcpQueries(key));
                }
            }).bind(at).sync().channel();
            listeners.put(key, List.of(u, t));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            udp.close();
            tcp.close();
            throw new IOException("interrupted while opening the DNS sockets");
        } catch (RuntimeException e) {
            udp.close();
            tcp.close();
            throw new IOException("cannot listen on " + ADDRESS + ":53 in the container: " + e.getMessage());
        }
    }

    public void unlisten(String key) {
        scopes.remove(key);
        List<Channel> l = listeners.remove(key);
        if (l != null) {
            l.forEach(Channel::close);
        }
    }

    // ------------------------------------------------------------------ answering

    /** What to answer: records for a known name, NXDOMAIN, or a forwarded reply. Calls {@code reply} once. */
    private void answer(String key, DnsQuery q, Consumer<DnsResponseParts> reply) {
        DnsRecord question = q.recordAt(DnsSection.QUESTION);
        if (question == null) {
            reply.accept(DnsResponseParts.code(null, DnsResponseCode.FORMERR));
            return;
        }
        DnsQuestion copy = new DefaultDnsQuestion(question.name(), question.type());
        List<NameTable.Address> addrs = names.lookup(scopes.getOrDefault(key, List.of()), question.name());
        if (addrs != null) {
            List<DnsRecord> answers = new ArrayList<>(addrs.size());
            if (question.type() == DnsRecordType.A) {
                List<NameTable.Address> order = addrs;
                if (addrs.size() > 1) {
                    order = new ArrayList<>(addrs);
                    Collections.shuffle(order);  // clients take the first: spread them
                }
                for (NameTable.Address a : order) {
                    answers.add(new DefaultDnsRawRecord(question.name(), DnsRecordType.A, TTL_SECONDS, Unpooled.wrappedBuffer(a.octets())));
                }
            }
            // A cluster name with nothing serving, or asked for another type: NOERROR and no records.
            reply.accept(new DnsResponseParts(copy, DnsResponseCode.NOERROR, answers, List.of(), true));
            return;
        }
        if (upstreams.isEmpty()) {
            reply.accept(DnsResponseParts.code(copy, DnsResponseCode.NXDOMAIN));
            return;
        }
        forward(copy, q.isRecursionDesired(), reply);
    }

    private void forward(DnsQuestion question, boolean recursion, Consumer<DnsResponseParts> reply) {
        Channel f = forwarder;
        if (f == null || !f.isActive()) {
            reply.accept(DnsResponseParts.code(question, DnsResponseCode.SERVFAIL));
            return;
        }
        int id = nextId.getAndIncrement() & 0xffff;
        var done = new java.util.concurrent.atomic.AtomicBoolean();
        ScheduledFuture<?> timeout = group.schedule(() -> {
            pending.remove(id);
            if (done.compareAndSet(false, true)) {
                reply.accept(DnsResponseParts.code(question, DnsResponseCode.SERVFAIL));
            }
        }, FORWARD_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        pending.put(id, r -> {
            timeout.cancel(false);
            if (done.compareAndSet(false, true)) {
                reply.accept(new DnsResponseParts(question, r.code(), copy(r, DnsSection.ANSWER), copy(r, DnsSection.AUTHORITY), false));
            }
        });
        InetSocketAddress to = upstreams.get(Math.floorMod(id, upstreams.size()));
        DatagramDnsQuery fq = new DatagramDnsQuery(null, to, id).setRecursionDesired(recursion);
        fq.addRecord(DnsSection.QUESTION, question);
        f.writeAndFlush(fq);
    }

    private static List<DnsRecord> copy(DnsResponse r, DnsSection s) {
        List<DnsRecord> out = new ArrayList<>();
        for (int i = 0; i < r.count(s); i++) {
            DnsRecord rec = r.recordAt(s, i);
            out.add(rec instanceof DnsRawRecord raw ? raw.retainedDuplicate() : rec);
        }
        return out;
    }

    private Channel openForwarder() throws InterruptedException {
        return new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(new ChannelInitializer<NioDatagramChannel>() {
                @Override
                protected void initChannel(NioDatagramChannel ch) {
                    ch.pipeline().addLast(new DatagramDnsQueryEncoder(), new DatagramDnsResponseDecoder(),
                            new SimpleChannelInboundHandler<DatagramDnsResponse>() {
                                @Override
                                protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsResponse r) {
                                    var p = pending.remove(r.id());
                                    if (p != null && upstreams.contains(r.sender())) {
                                        p.accept(r);
                                    }
                                }
                            });
                }
            }).bind(0).sync().channel();
    }

    /** An answer before it is put into a UDP or TCP response. */
    record DnsResponseParts(DnsQuestion question, DnsResponseCode code, List<DnsRecord> answers, List<DnsRecord> authority,
            boolean authoritative) {
        static DnsResponseParts code(DnsQuestion q, DnsResponseCode c) {
            return new DnsResponseParts(q, c, List.of(), List.of(), false);
        }

        /** Fills a response; over UDP at most {@code maxBytes}, with the truncated bit set when records were left out. */
        void fill(DnsResponse r, int maxBytes) {
            r.setCode(code).setRecursionAvailable(true).setAuthoritativeAnswer(authoritative);
            int size = 12;
            if (question != null) {
                r.addRecord(DnsSection.QUESTION, question);
                size += question.name().length() + 6;
            }
            boolean truncated = false;
            for (DnsRecord a : answers) {
                int len = a.name().length() + 12 + (a instanceof DnsRawRecord raw ? raw.content().readableBytes() : 16);
                if (size + len > maxBytes) {
                    truncated = true;
                    io.netty.util.ReferenceCountUtil.release(a);
                    continue;
                }
                size += len;
                r.addRecord(DnsSection.ANSWER, a);
            }
            for (DnsRecord a : authority) {
                if (truncated) {
                    io.netty.util.ReferenceCountUtil.release(a);
                } else {
                    r.addRecord(DnsSection.AUTHORITY, a);
                }
            }
            r.setTruncated(truncated);
        }
    }

    /** The UDP payload size the client accepts: 512, or what its EDNS0 record says (up to 4096). */
    static int udpLimit(DnsQuery q) {
        for (int i = 0; i < q.count(DnsSection.ADDITIONAL); i++) {
            DnsRecord r = q.recordAt(DnsSection.ADDITIONAL, i);
            if (r.type() == DnsRecordType.OPT) {
                return Math.max(512, Math.min(4096, r.dnsClass()));
            }
        }
        return 512;
    }

    private final class UdpQueries extends SimpleChannelInboundHandler<DatagramDnsQuery> {
        private final String key;

        UdpQueries(String key) {
            this.key = key;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery q) {
            int limit = udpLimit(q);
            InetSocketAddress from = q.sender();
            InetSocketAddress self = q.recipient();
            int id = q.id();
            answer(key, q, parts -> {
                DatagramDnsResponse r = new DatagramDnsResponse(self, from, id);
                parts.fill(r, limit);
                if (ctx.executor().inEventLoop() && reading) {
                    ctx.write(r);  // flushed once the batch of datagrams read is answered
                } else {
                    ctx.writeAndFlush(r);  // a forwarded answer, later
                }
            });
        }

        private boolean reading;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            reading = true;
            try {
                super.channelRead(ctx, msg);
            } finally {
                reading = false;
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("bad DNS query: {}", cause.getMessage());  // a malformed packet: dropped, the socket stays
        }
    }

    private final class TcpQueries extends SimpleChannelInboundHandler<DnsQuery> {
        private final String key;

        TcpQueries(String key) {
            this.key = key;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DnsQuery q) {
            int id = q.id();
            answer(key, q, parts -> {
                DefaultDnsResponse r = new DefaultDnsResponse(id);
                parts.fill(r, 65535);
                ctx.writeAndFlush(r);
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    @Override
    public void close() {
        for (String k : List.copyOf(listeners.keySet())) {
            unlisten(k);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
