package io.jswarm.cli.engine;

import io.jswarm.cli.engine.EngineApi.Call;
import io.jswarm.cli.engine.EngineApi.Reply;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.Json;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A node started with {@code swarmd --inactive}, as dockerd before {@code docker swarm init}
 * or {@code join}: it is in no swarm, and waits for one of those two requests to say which
 * cluster to make or join and at which addresses. swarmd takes the request ({@link #await}),
 * starts the node from it, and answers the request once the node runs (or refuses it, and
 * waits again: nothing was written). Only one request is handled at a time.
 */
public final class WaitingNode {
    /** What dockerd says to a swarm request on a node in no swarm. */
    static final String NOT_IN_A_SWARM = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\""
            + " to connect this node to swarm and try again.";

    /** {@code docker swarm init}: the listen and advertise addresses, and the cluster's settings jswarm takes at init. */
    public record Init(String listenAddr, String advertiseAddr, boolean autolock, List<String> addrPools, int subnetSize,
            long heartbeatNanos, long certExpiryNanos) implements Request {}

    /** {@code docker swarm join}: the addresses, the managers to ask, the token. */
    public record Join(String listenAddr, String advertiseAddr, List<String> remoteAddrs, String token) implements Request {}

    public sealed interface Request permits Init, Join {}

    /** A request swarmd is acting on; its HTTP caller waits for the answer. */
    public static final class Pending {
        private final Request request;
        private final CompletableFuture<String> nodeId = new CompletableFuture<>();

        Pending(Request request) {
            this.request = request;
        }

        public Request request() {
            return request;
        }

        /** The node runs: the caller gets its id. */
        public void accept(String id) {
            nodeId.complete(id);
        }

        /** The request cannot be carried out (bad addresses, a refused token): nothing was made; why. */
        public void refuse(boolean badRequest, String why) {
            nodeId.completeExceptionally(new EngineError(badRequest ? 400 : 500, why));
        }
    }

    private final LinkedBlockingQueue<Pending> requests = new LinkedBlockingQueue<>();
    private final AtomicBoolean busy = new AtomicBoolean();

    /** The next init or join request; swarmd answers it through the Pending. */
    public Pending await() throws InterruptedException {
        return requests.take();
    }

    Reply init(Call c) {
        SpecReader r = SpecReader.of(c.body(), "swarm init request");
        String listen = r.str("ListenAddr");
        String advertise = r.str("AdvertiseAddr");
        availability(r);
        SpecReader spec = r.obj("Spec");
        // the CLI sends it twice, at the top and in the spec: both read (a short circuit would leave one unread, refused)
        boolean autolock = r.bool("AutoLockManagers") | spec.obj("EncryptionConfig").bool("AutoLockManagers");
        List<String> pools = r.strings("DefaultAddrPool");
        long subnetSize = r.unsigned("SubnetSize");
        long heartbeat = spec.obj("Dispatcher").unsigned("HeartbeatPeriod");
        long certExpiry = spec.obj("CAConfig").unsigned("NodeCertExpiry");
        String name = spec.str("Name");
        if (!name.isEmpty() && !name.equals("default")) {
            throw EngineError.badRequest("Spec.Name: a jswarm cluster is named \"default\", as Docker's");
        }
        // What is left unread and not at its zero value (Raft ticks, a data path port, an
        // external CA, --force-new-cluster) is refused, naming the field.
        r.done();
        return submit(new Init(listen, advertise, autolock, pools, (int) subnetSize, heartbeat, certExpiry));
    }

    Reply join(Call c) {
        SpecReader r = SpecReader.of(c.body(), "swarm join request");
        String listen = r.str("ListenAddr");
        String advertise = r.str("AdvertiseAddr");
        availability(r);
        List<String> remotes = r.strings("RemoteAddrs");
        String token = r.str("JoinToken");
        r.done();
        if (remotes.isEmpty()) {
            throw EngineError.badRequest("RemoteAddrs: give the address of a manager of the swarm to join");
        }
        if (token.isEmpty()) {
            throw EngineError.badRequest("JoinToken: a join token is needed (docker swarm join-token on a manager)");
        }
        return submit(new Join(listen, advertise, remotes, token));
    }

    private static void availability(SpecReader r) {
        String a = r.str("Availability");
        if (!a.isEmpty() && !a.equals("active")) {
            throw EngineError.badRequest("Availability " + a + ": a jswarm node starts active (docker node update"
                    + " --availability " + a + " once it is in the swarm)");
        }
    }

    private Reply submit(Request request) {
        if (!busy.compareAndSet(false, true)) {
            throw new EngineError(503, "a swarm init or join is already under way on this node");
        }
        try {
            Pending p = new Pending(request);
            requests.add(p);
            String id = p.nodeId.get();
            return Reply.json(Buffer.buffer(Json.encode(id)));
        } catch (ExecutionException e) {
            throw e.getCause() instanceof EngineError err ? err : new EngineError(500, String.valueOf(e.getCause().getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineError(503, "swarmd is stopping");
        } finally {
            busy.set(false);
        }
    }
}
