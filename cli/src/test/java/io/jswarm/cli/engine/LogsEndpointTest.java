package io.jswarm.cli.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.jswarm.api.logs.LogMessage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Log lines as dockerd writes them for API 1.41: what the docker CLI's demultiplexer and its task names depend on. */
class LogsEndpointTest {
    static final LogMessage HELLO = LogMessage.newBuilder().setNodeId("n1").setServiceId("s 1").setTaskId("t1")
            .setTimestampNs(1_733_356_800_123_456_789L).setData(ByteString.copyFromUtf8("hello")).build();

    @Test
    void aFrameIsTheStreamThreeZerosAndTheLengthBigEndian() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LogsEndpoint.frame(out, false, "hi\n".getBytes(StandardCharsets.UTF_8));
        LogsEndpoint.frame(out, true, new byte[300]);
        byte[] b = out.toByteArray();
        assertArrayEquals(new byte[] {1, 0, 0, 0, 0, 0, 0, 3, 'h', 'i', '\n'}, java.util.Arrays.copyOf(b, 11));
        assertArrayEquals(new byte[] {2, 0, 0, 0, 0, 0, 1, 44}, java.util.Arrays.copyOfRange(b, 11, 19));
        assertEquals(11 + 8 + 300, b.length);
    }

    @Test
    void theTimestampThenTheDetailsSortedAndEscapedThenTheLine() {
        assertEquals("hello\n", new String(LogsEndpoint.line(HELLO, false, false), StandardCharsets.UTF_8));
        assertEquals("2024-12-05T00:00:00.123456789Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s+1,"
                + "com.docker.swarm.task.id=t1 hello\n", new String(LogsEndpoint.line(HELLO, true, true), StandardCharsets.UTF_8));
    }

    @Test
    void tailAndSinceAsTheCliSendsThem() {
        assertEquals(-1, LogsEndpoint.tail("all"));
        assertEquals(-1, LogsEndpoint.tail(null));
        assertEquals(5, LogsEndpoint.tail("5"));
        assertEquals(400, assertThrows(EngineError.class, () -> LogsEndpoint.tail("-1")).status);
        assertEquals(1_733_356_800_500L, LogsEndpoint.sinceMs("1733356800.500000000"));
        assertEquals(1_733_356_800_000L, LogsEndpoint.sinceMs("1733356800"));
        assertEquals(400, assertThrows(EngineError.class, () -> LogsEndpoint.sinceMs("yesterday")).status);
    }
}
