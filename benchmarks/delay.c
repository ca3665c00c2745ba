/* A fixed delay on arrival for every packet of NFQUEUE queue 0, and a count of handshakes.
 *
 * This kernel has no netem, so benchmarks/netns.py sends every packet arriving on a private
 * namespace's loopback here (iptables/ip6tables mangle PREROUTING -i lo -j NFQUEUE) and this
 * program holds each one DELAY ms before accepting it: a symmetric delay, so one round trip
 * costs 2 x DELAY. Delaying on arrival (not on send) keeps Nagle and delayed ACKs out of it.
 * With one fixed delay the packets leave in the order they came, so a ring of packet ids
 * with their due times is the whole scheduler.
 *
 * It also counts, as packets arrive: TCP SYNs without ACK (TCP handshakes) and TLS
 * ClientHello records at the start of a TCP payload (TLS handshakes).
 *
 * stdin, one command a line:  "delay MS"  |  "count"  (prints "syn=N hello=N packets=N")
 * stdout: "ready" once bound, then one line per command.  EOF: release everything and exit.
 * Built at run time by benchmarks/netns.py:  gcc -O2 -o delay delay.c -lnetfilter_queue
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define RING 65536
#define COPY 256

struct held { uint32_t id; uint64_t due; };

static struct held ring[RING];
static size_t head, tail;
static uint64_t delay_ns;
static unsigned long syns, hellos, packets;
static struct nfq_q_handle *queue;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Where the TCP header starts (or NULL): IPv4 with options, IPv6 without extension headers. */
static const unsigned char *tcp_header(const unsigned char *ip, int length) {
    if (length >= 20 && ip[0] >> 4 == 4 && ip[9] == 6) {
        int ihl = (ip[0] & 15) * 4;
        return length >= ihl + 20 ? ip + ihl : NULL;
    }
    if (length >= 60 && ip[0] >> 4 == 6 && ip[6] == 6)
        return ip + 40;
    return NULL;
}

static void count(const unsigned char *ip, int length) {
    const unsigned char *tcp = tcp_header(ip, length);
    packets++;
    if (tcp == NULL)
        return;
    unsigned char flags = tcp[13];
    if ((flags & 0x02) && !(flags & 0x10))
        syns++;
    const unsigned char *payload = tcp + (tcp[12] >> 4) * 4;
    long left = (long)length - (payload - ip);
    /* record type 22 (handshake), version 3.x, handshake type 1 (ClientHello) */
    if (left >= 6 && payload[0] == 0x16 && payload[1] == 3 && payload[5] == 1)
        hellos++;
}

static void release(uint32_t id) {
    nfq_set_verdict(queue, id, NF_ACCEPT, 0, NULL);
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *message, struct nfq_data *data,
                     void *unused) {
    (void)q; (void)message; (void)unused;
    struct nfqnl_msg_packet_hdr *header = nfq_get_msg_packet_hdr(data);
    if (header == NULL)
        return 0;
    uint32_t id = ntohl(header->packet_id);
    unsigned char *ip = NULL;
    int length = nfq_get_payload(data, &ip);
    if (length > 0)
        count(ip, length);
    size_t next = (tail + 1) % RING;
    if (delay_ns == 0 || next == head) {
        release(id);
        return 0;
    }
    ring[tail].id = id;
    ring[tail].due = now_ns() + delay_ns;
    tail = next;
    return 0;
}

static void release_due(uint64_t now) {
    while (head != tail && ring[head].due <= now) {
        release(ring[head].id);
        head = (head + 1) % RING;
    }
}

/* One command from stdin; 0 at EOF. */
static int command(void) {
    char line[128];
    if (fgets(line, sizeof line, stdin) == NULL)
        return 0;
    long ms;
    if (sscanf(line, "delay %ld", &ms) == 1 && ms >= 0) {
        delay_ns = (uint64_t)ms * 1000000u;
        printf("delay=%ld\n", ms);
    } else if (strncmp(line, "count", 5) == 0) {
        printf("syn=%lu hello=%lu packets=%lu\n", syns, hellos, packets);
    } else {
        printf("error unknown command\n");
    }
    fflush(stdout);
    return 1;
}

/* How long poll may sleep: until the oldest held packet is due (NULL: nothing held). */
static struct timespec *until_due(struct timespec *left) {
    if (head == tail)
        return NULL;
    uint64_t now = now_ns(), due = ring[head].due, wait = due > now ? due - now : 0;
    left->tv_sec = (time_t)(wait / 1000000000u);
    left->tv_nsec = (long)(wait % 1000000000u);
    return left;
}

int main(void) {
    struct nfq_handle *handle = nfq_open();
    if (handle == NULL) { perror("nfq_open"); return 1; }
    queue = nfq_create_queue(handle, 0, on_packet, NULL);
    if (queue == NULL) { perror("nfq_create_queue"); return 1; }
    if (nfq_set_mode(queue, NFQNL_COPY_PACKET, COPY) < 0) { perror("nfq_set_mode"); return 1; }
    nfq_set_queue_maxlen(queue, RING);
    nfq_set_queue_flags(queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    int fd = nfq_fd(handle);
    setvbuf(stdin, NULL, _IOLBF, 0);
    printf("ready\n");
    fflush(stdout);
    char buffer[65536];
    for (;;) {
        struct pollfd fds[2] = {{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        struct timespec left;
        int ready = ppoll(fds, 2, until_due(&left), NULL);
        if (ready < 0 && errno != EINTR) { perror("poll"); break; }
        release_due(now_ns());
        if (fds[0].revents & POLLIN) {
            ssize_t got;
            while ((got = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT)) > 0)
                nfq_handle_packet(handle, buffer, (int)got);
        }
        if ((fds[1].revents & (POLLIN | POLLHUP)) && !command())
            break;
    }
    while (head != tail) {
        release(ring[head].id);
        head = (head + 1) % RING;
    }
    nfq_destroy_queue(queue);
    nfq_close(handle);
    return 0;
}
