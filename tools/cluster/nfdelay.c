/* nfdelay -- hold every packet of an NFQUEUE for a fixed time, then accept
 * it: the "delay" half of `tc netem`, for kernels built without sch_netem
 * (tools/mr-cluster leaves the rate to tbf).  One instance per network
 * namespace: queues belong to a namespace.
 *
 *   nfdelay QUEUE_NUM DELAY_MS
 *
 * tools/mr-cluster builds it at `shape` time (not CMake, so that a build
 * without libnetfilter-queue-dev still works):
 *   cc -O2 -Wall -Wextra -o nfdelay nfdelay.c -lnetfilter_queue -lnfnetlink
 * and feeds it each host's ingress:
 *   iptables -t mangle -A PREROUTING -i eth0 -j NFQUEUE --queue-num 0 --queue-bypass
 * It prints "nfdelay: ready" once bound. SIGTERM/SIGINT: accepts what it
 * still holds, unbinds and exits 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

/* Packets held at most: 100 Mbit/s for 20 ms is ~170 full-size packets,
 * so this is room for far faster or longer links. Beyond it, a packet
 * passes undelayed (counted) rather than being dropped. */
#define CAP (1u << 16)
static uint32_t ids[CAP];
static uint64_t due[CAP];
static uint64_t head, tail, passed_full, held_total;
static uint64_t delay_ns;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *m,
                     struct nfq_data *d, void *data)
{
    (void)m;
    (void)data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(d);
    if (!ph)
        return 0;
    uint32_t id = ntohl(ph->packet_id);
    if (tail - head >= CAP) {
        passed_full++;
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    }
    ids[tail % CAP] = id;
    due[tail % CAP] = now_ns() + delay_ns;
    tail++;
    held_total++;
    return 0;
}

/* Packet ids grow in arrival order and every packet waits the same time,
 * so one batch verdict accepts all packets up to the newest one due. */
static void release(struct nfq_q_handle *qh, uint64_t t)
{
    int any = 0;
    uint32_t last = 0;
    while (head < tail && due[head % CAP] <= t) {
        last = ids[head % CAP];
        head++;
        any = 1;
    }
    if (any)
        nfq_set_verdict_batch(qh, last, NF_ACCEPT);
}

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static int fail(const char *what)
{
    perror(what);
    return 1;
}

int main(int argc, char **argv)
{
    char *end;
    if (argc != 3) {
        fprintf(stderr, "usage: nfdelay QUEUE_NUM DELAY_MS\n");
        return 2;
    }
    long qnum = strtol(argv[1], &end, 10);
    if (*end || qnum < 0 || qnum > 65535) {
        fprintf(stderr, "nfdelay: bad queue number '%s'\n", argv[1]);
        return 2;
    }
    double ms = strtod(argv[2], &end);
    if (*end || !(ms >= 0 && ms <= 60000)) {
        fprintf(stderr, "nfdelay: bad delay '%s' (0..60000 ms)\n", argv[2]);
        return 2;
    }
    delay_ns = (uint64_t)(ms * 1e6);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct nfq_handle *h = nfq_open();
    if (!h)
        return fail("nfq_open");
    if (nfq_bind_pf(h, AF_INET) < 0)
        return fail("nfq_bind_pf");
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)qnum, on_packet, NULL);
    if (!qh)
        return fail("nfq_create_queue");
    if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) /* ids only, no payload */
        return fail("nfq_set_mode");
    nfq_set_queue_maxlen(qh, 200000);
    /* GSO super-packets stay whole: far fewer messages to handle */
    nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
    nfnl_rcvbufsiz(nfq_nfnlh(h), 64u << 20);
    int fd = nfq_fd(h), one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fprintf(stderr, "nfdelay: ready (queue %ld, %g ms)\n", qnum, ms);

    static char buf[1 << 16] __attribute__((aligned));
    while (!stop) {
        struct timespec to = {1, 0};
        if (head < tail) {
            uint64_t t = now_ns(), d = due[head % CAP];
            uint64_t w = d > t ? d - t : 0;
            to.tv_sec = (time_t)(w / 1000000000u);
            to.tv_nsec = (long)(w % 1000000000u);
        }
        struct pollfd p = {fd, POLLIN, 0};
        int r = ppoll(&p, 1, &to, NULL);
        if (r < 0 && errno != EINTR) {
            perror("ppoll");
            break;
        }
        while (r > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0)
                nfq_handle_packet(h, buf, (int)n);
            else if (!(n < 0 && errno == EINTR))
                break; /* EAGAIN, ENOBUFS (the kernel dropped some), EOF */
        }
        release(qh, now_ns());
    }
    release(qh, UINT64_MAX);
    fprintf(stderr, "nfdelay: queue %ld: %llu packets delayed, %llu passed undelayed (full)\n",
            qnum, (unsigned long long)held_total, (unsigned long long)passed_full);
    nfq_destroy_queue(qh);
    nfq_close(h);
    return 0;
}
