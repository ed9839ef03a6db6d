/* A UDP echo server for the routing-mesh tests: answers each datagram with
 * "HOSTNAME PAYLOAD", so the test sees which task answered. Usage: udp-echo PORT */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 9000);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) < 0) {
        perror("udp-echo");
        return 1;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    for (;;) {
        char in[1024], out[1400];
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, in, sizeof in - 1, 0, (struct sockaddr *) &from, &len);
        if (n < 0) {
            continue;
        }
        in[n] = 0;
        int m = snprintf(out, sizeof out, "%s %s", host, in);
        sendto(fd, out, m, 0, (struct sockaddr *) &from, len);
    }
}
