/* blast: deterministic TCP traffic for alknet's tests and benchmarks.
 *
 * Build: cc -std=c99 -O2 -Wall -Wextra -pedantic -o build/blast tests/blast.c
 *
 *   blast server [--listen ADDR:PORT]
 *   blast client HOST PORT MODE BYTES [--streams K] [--seed S]
 *                [--socks ADDR:PORT [--socks-user U:P] [--socks-name NAME] [--pipeline]]
 *                [--halfclose] [--ramp N] [--timeout SECS]
 *
 * The data is a byte stream that both ends can compute from a 32-bit seed:
 * byte k of the stream is byte (k mod 8), least significant first, of the
 * (k/8)-th output of splitmix64 whose state starts at the seed.  The receiver
 * regenerates the stream and compares every byte, so a failure names the
 * first bad offset.
 *
 * Every connection to the server starts with a 13-byte header:
 *   byte mode ('E' echo, 'U' upload, 'D' download), uint64 N (big endian),
 *   uint32 seed (big endian).
 *   E: the server echoes every byte after the header until EOF, then flushes
 *      and shuts down its write side (so a half-closed client gets it all).
 *   U: the client sends N stream bytes; the server checks them and answers
 *      1 byte status ('K' good, 'X' bad) + uint64 count received, then closes.
 *   D: the server sends N stream bytes, then closes.
 *
 * The client runs K streams at once (seed S+i for stream i), optionally
 * through a SOCKS5 proxy.  --ramp N opens them progressively: at most N
 * streams are connecting or in the SOCKS handshake at any time (a listener's
 * accept backlog, 128 in OpenSSH's ssh -D, otherwise drops SYNs and the
 * kernel's retries take seconds).  --halfclose shuts down the write side
 * once everything is sent.  It prints one line:
 *   ok streams=K bytes=TOTAL usec=T        (TOTAL = K * BYTES, each direction)
 *   FAIL stream=I offset=O reason=WHY ...  (socks-reply=N if the proxy refused)
 * Exit status: 0 ok, 1 FAIL, 2 usage.
 *
 * One thread, one poll() loop, non-blocking sockets, libc only. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define HDR_LEN 13
#define CHUNK (256 * 1024)  /* scratch for reads and for checking */
#define BUF_MAX (64 * 1024) /* per-connection send buffer, at most */
#define BUF_MIN 1024        /* enough for every SOCKS message we send */

static unsigned char rxbuf[CHUNK];  /* what was read, before checking */
static unsigned char expbuf[CHUNK]; /* what should have been read */

/* ==================== the data stream ==================== */

struct gen {
    uint64_t s, w;
    unsigned left;
};

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void gen_init(struct gen *g, uint32_t seed)
{
    g->s = seed;
    g->w = 0;
    g->left = 0;
}

/* Writes the next n bytes of the stream to p. */
static void gen_fill(struct gen *g, unsigned char *p, size_t n)
{
    while (n > 0 && g->left > 0) {
        *p++ = (unsigned char)g->w;
        g->w >>= 8;
        g->left--;
        n--;
    }
    while (n >= 8) { /* written out so that compilers merge it into one store */
        uint64_t w = splitmix64(&g->s);
        p[0] = (unsigned char)w;
        p[1] = (unsigned char)(w >> 8);
        p[2] = (unsigned char)(w >> 16);
        p[3] = (unsigned char)(w >> 24);
        p[4] = (unsigned char)(w >> 32);
        p[5] = (unsigned char)(w >> 40);
        p[6] = (unsigned char)(w >> 48);
        p[7] = (unsigned char)(w >> 56);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        g->w = splitmix64(&g->s);
        g->left = 8;
        while (n > 0) {
            *p++ = (unsigned char)g->w;
            g->w >>= 8;
            g->left--;
            n--;
        }
    }
}

/* Compares p[0..n) with the next n bytes of the stream.
 * Returns n if all match, else the index of the first byte that differs. */
static size_t gen_check(struct gen *g, const unsigned char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        gen_fill(g, expbuf, k);
        if (memcmp(expbuf, p + done, k) != 0) {
            size_t i = 0;
            while (expbuf[i] == p[done + i])
                i++;
            return done + i;
        }
        done += k;
    }
    return n;
}

/* ==================== small helpers ==================== */

static void put64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t getbe(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Non-blocking, and no Nagle delay: small echoes go out at once. */
static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int would_block(void) { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: blast server [--listen ADDR:PORT]\n"
            "       blast client HOST PORT E|U|D BYTES [--streams K] [--seed S]\n"
            "             [--socks ADDR:PORT [--socks-user U:P] [--socks-name NAME] [--pipeline]]\n"
            "             [--halfclose] [--ramp N] [--timeout SECS]\n"
            "BYTES takes a k, M or G suffix (powers of 1024).\n");
    return 2;
}

/* Parses "123", "64k", "512M", "1G" (binary suffixes). */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || s[0] == '-') return -1;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        v <<= 10;
        end++;
        break;
    case 'm':
    case 'M':
        v <<= 20;
        end++;
        break;
    case 'g':
    case 'G':
        v <<= 30;
        end++;
        break;
    default:
        return -1;
    }
    if (*end != '\0') return -1;
    *out = v;
    return 0;
}

/* Resolves "ADDR:PORT" or "[V6ADDR]:PORT" (numeric or a name) into *ss. */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[256];
    const char *colon = strrchr(s, ':');
    size_t hl;
    struct addrinfo hints, *res;
    if (colon == NULL || colon == s || colon[1] == '\0') return -1;
    hl = (size_t)(colon - s);
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl >= sizeof host) return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ==================== server ==================== */

enum { S_HDR, S_ECHO, S_UP, S_DOWN, S_STATUS, S_DRAIN, S_DEAD };

struct sconn {
    int fd, st;
    unsigned char hdr[HDR_LEN];
    size_t hlen;
    uint64_t n, done; /* N from the header; bytes received (U) or sent (D) */
    uint32_t seed;
    struct gen g;
    int bad;              /* U: a byte differed */
    int rd_eof;           /* E: the client sent EOF */
    unsigned char *buf;   /* E: echo buffer; D and status: send buffer */
    size_t cap, off, len; /* pending bytes are buf[off .. off+len) */
};

/* Send buffer for a connection that announced n bytes: no bigger than needed. */
static int sconn_alloc(struct sconn *c, uint64_t n)
{
    c->cap = n < BUF_MIN ? BUF_MIN : n > BUF_MAX ? BUF_MAX : (size_t)n;
    c->buf = malloc(c->cap);
    return c->buf == NULL ? -1 : 0;
}

/* Write side done: tell the peer, then wait for its EOF before closing, so
 * that closing never resets a connection with data still unread. */
static void sconn_finish(struct sconn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->st = c->rd_eof ? S_DEAD : S_DRAIN;
}

static void sconn_status(struct sconn *c)
{
    c->buf[0] = (unsigned char)(c->bad || c->done != c->n ? 'X' : 'K');
    put64(c->buf + 1, c->done);
    c->off = 0;
    c->len = 9;
    c->st = S_STATUS;
}

static void sconn_header(struct sconn *c)
{
    c->n = getbe(c->hdr + 1, 8);
    c->seed = (uint32_t)getbe(c->hdr + 9, 4);
    c->done = 0;
    gen_init(&c->g, c->seed);
    if (sconn_alloc(c, c->n) != 0) {
        c->st = S_DEAD;
        return;
    }
    switch (c->hdr[0]) {
    case 'E':
        c->st = S_ECHO;
        break;
    case 'U':
        c->st = S_UP;
        if (c->n == 0) sconn_status(c);
        break;
    case 'D':
        c->st = S_DOWN;
        break;
    default:
        fprintf(stderr, "blast server: unknown mode byte 0x%02x\n", c->hdr[0]);
        c->st = S_DEAD;
    }
}

static short sconn_events(const struct sconn *c)
{
    switch (c->st) {
    case S_HDR:
    case S_UP:
    case S_DRAIN:
        return POLLIN;
    case S_ECHO:
        return (short)((!c->rd_eof && c->off + c->len < c->cap ? POLLIN : 0) |
                       (c->len > 0 ? POLLOUT : 0));
    case S_DOWN:
    case S_STATUS:
        return POLLOUT;
    }
    return 0;
}

static void sconn_read(struct sconn *c)
{
    ssize_t r;
    if (c->st == S_HDR) {
        r = read(c->fd, c->hdr + c->hlen, HDR_LEN - c->hlen);
        if (r > 0 && (c->hlen += (size_t)r) == HDR_LEN) sconn_header(c);
    } else if (c->st == S_ECHO) {
        if (c->len == 0) c->off = 0;
        r = read(c->fd, c->buf + c->off + c->len, c->cap - c->off - c->len);
        if (r > 0) c->len += (size_t)r;
        if (r == 0) {
            c->rd_eof = 1;
            if (c->len == 0) sconn_finish(c);
            return;
        }
    } else if (c->st == S_UP) {
        uint64_t want = c->n - c->done;
        r = read(c->fd, rxbuf, want < CHUNK ? (size_t)want : CHUNK);
        if (r > 0) {
            size_t ok = gen_check(&c->g, rxbuf, (size_t)r);
            if (ok != (size_t)r && !c->bad) {
                c->bad = 1;
                fprintf(stderr, "blast server: upload seed=%lu differs at offset %llu\n",
                        (unsigned long)c->seed, (unsigned long long)(c->done + ok));
            }
            c->done += (uint64_t)r;
            if (c->done == c->n) sconn_status(c);
        }
        if (r == 0) {
            c->rd_eof = 1;
            sconn_status(c);
            return;
        }
    } else { /* S_DRAIN: discard until EOF */
        r = read(c->fd, rxbuf, CHUNK);
    }
    if (r == 0 || (r < 0 && !would_block())) c->st = S_DEAD;
}

static void sconn_write(struct sconn *c)
{
    ssize_t w;
    if (c->st == S_DOWN && c->len == 0) {
        uint64_t left = c->n - c->done;
        if (left == 0) {
            sconn_finish(c);
            return;
        }
        c->off = 0;
        c->len = left < c->cap ? (size_t)left : c->cap;
        gen_fill(&c->g, c->buf, c->len);
        c->done += c->len;
    }
    w = write(c->fd, c->buf + c->off, c->len);
    if (w < 0) {
        if (!would_block()) c->st = S_DEAD;
        return;
    }
    c->off += (size_t)w;
    c->len -= (size_t)w;
    if (c->len > 0) {
        if (c->off >= c->cap / 2) { /* keep room to read more echo data */
            memmove(c->buf, c->buf + c->off, c->len);
            c->off = 0;
        }
        return;
    }
    c->off = 0;
    if (c->st == S_STATUS || (c->st == S_ECHO && c->rd_eof) || (c->st == S_DOWN && c->done == c->n))
        sconn_finish(c);
}

static int listen_on(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int fd, one = 1;
    if (parse_addr(addr, &ss, &sslen) != 0) {
        fprintf(stderr, "blast server: bad --listen address %s\n", addr);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 4096) != 0 ||
        set_nonblock(fd) != 0) {
        fprintf(stderr, "blast server: listen on %s: %s\n", addr, strerror(errno));
        return -1;
    }
    return fd;
}

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int server_main(int argc, char **argv)
{
    const char *addr = "127.0.0.1:0";
    struct sconn **conns;
    struct pollfd *pfd;
    size_t nconn = 0, maxconn, i;
    uint64_t pause_until = 0; /* out of descriptors: stop accepting a moment */
    int lfd, a;

    for (a = 0; a < argc; a++) {
        if (strcmp(argv[a], "--listen") == 0 && a + 1 < argc)
            addr = argv[++a];
        else
            return usage();
    }
    maxconn = (size_t)raise_nofile();
    lfd = listen_on(addr);
    if (lfd < 0) return 1;
    conns = calloc(maxconn, sizeof *conns);
    pfd = calloc(maxconn + 1, sizeof *pfd);
    if (conns == NULL || pfd == NULL) {
        fprintf(stderr, "blast server: out of memory\n");
        return 1;
    }
    printf("port %d\n", local_port(lfd));
    fflush(stdout);

    for (;;) {
        size_t np = 0;
        int accepting = now_usec() >= pause_until;
        if (accepting) {
            pfd[0].fd = lfd;
            pfd[0].events = POLLIN;
            np = 1;
        }
        for (i = 0; i < nconn; i++) {
            pfd[np].fd = conns[i]->fd;
            pfd[np].events = sconn_events(conns[i]);
            np++;
        }
        if (poll(pfd, (nfds_t)np, accepting ? -1 : 100) < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "blast server: poll: %s\n", strerror(errno));
            return 1;
        }
        for (i = 0; i < nconn; i++) {
            struct pollfd *p = &pfd[i + (accepting ? 1 : 0)];
            struct sconn *c = conns[i];
            if ((p->revents & (POLLIN | POLLHUP | POLLERR)) && (p->events & POLLIN)) sconn_read(c);
            if ((p->revents & (POLLOUT | POLLHUP | POLLERR)) && (p->events & POLLOUT) &&
                c->st != S_DEAD)
                sconn_write(c);
        }
        /* reap: only here, so the pfd indices above stay valid */
        for (i = 0; i < nconn;) {
            if (conns[i]->st == S_DEAD) {
                close(conns[i]->fd);
                free(conns[i]->buf);
                free(conns[i]);
                conns[i] = conns[--nconn];
            } else {
                i++;
            }
        }
        while (accepting && (pfd[0].revents & POLLIN)) {
            struct sconn *c;
            int fd = accept(lfd, NULL, NULL);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                    pause_until = now_usec() + 100000;
                break;
            }
            c = nconn + 8 < maxconn ? calloc(1, sizeof *c) : NULL;
            if (c == NULL || set_nonblock(fd) != 0) {
                close(fd);
                free(c);
                pause_until = now_usec() + 100000;
                break;
            }
            c->fd = fd;
            c->st = S_HDR;
            conns[nconn++] = c;
        }
    }
}

/* ==================== client ==================== */

enum { C_IDLE, C_CONNECTING, C_SOCKS, C_DATA, C_DONE }; /* C_IDLE: not opened yet */
enum { X_GREET, X_AUTH, X_CONNECT };                    /* which SOCKS reply we wait for */

struct opts {
    const char *host;
    int port;
    char mode;
    uint64_t bytes;
    unsigned streams;
    uint32_t seed;
    int use_socks, pipeline, halfclose;
    struct sockaddr_storage dst; /* where we connect: the proxy or the server */
    socklen_t dstlen;
    const char *user, *pass; /* RFC 1929 */
    const char *name;        /* ATYP 3 name instead of HOST */
    unsigned timeout;
    unsigned ramp; /* at most this many streams opening at once; 0: all */
};

struct cconn {
    int fd, st;
    uint32_t seed;
    struct gen gtx, grx;
    uint64_t tx_left; /* payload bytes not yet put into buf */
    uint64_t rx;      /* payload bytes received and checked */
    int hdr_sent;     /* header placed into buf */
    int wr_shut, rd_eof;
    int xwait;             /* X_*: the SOCKS reply we wait for */
    unsigned char in[300]; /* SOCKS replies and the U status */
    size_t in_have, in_need;
    unsigned char *buf; /* pending output: buf[off .. off+len) */
    size_t cap, off, len;
};

static const struct opts *O;
static struct cconn *C;
static uint64_t t_start;

static void fail(unsigned idx, uint64_t off, const char *why, int socks_reply)
{
    unsigned i, done = 0;
    for (i = 0; i < O->streams; i++)
        done += C[i].st == C_DONE;
    printf("FAIL stream=%u offset=%llu reason=%s", idx, (unsigned long long)off, why);
    if (socks_reply >= 0) printf(" socks-reply=%d", socks_reply);
    printf(" done=%u/%u usec=%llu\n", done, O->streams, (unsigned long long)(now_usec() - t_start));
    fflush(stdout);
    exit(1);
}

static void cc_append(struct cconn *c, const void *p, size_t n)
{
    if (c->len == 0) c->off = 0;
    memcpy(c->buf + c->off + c->len, p, n);
    c->len += n;
}

static void socks_greeting(struct cconn *c)
{
    unsigned char m[3] = {5, 1, 0};
    if (O->user != NULL) m[2] = 2;
    cc_append(c, m, 3);
}

static void socks_auth(struct cconn *c)
{
    unsigned char m[515];
    size_t ul = strlen(O->user), pl = strlen(O->pass);
    m[0] = 1;
    m[1] = (unsigned char)ul;
    memcpy(m + 2, O->user, ul);
    m[2 + ul] = (unsigned char)pl;
    memcpy(m + 3 + ul, O->pass, pl);
    cc_append(c, m, 3 + ul + pl);
}

static void socks_connect(struct cconn *c)
{
    unsigned char m[4 + 1 + 255 + 2];
    size_t n = 4;
    const char *name = O->name != NULL ? O->name : O->host;
    struct in_addr a4;
    struct in6_addr a6;
    m[0] = 5;
    m[1] = 1;
    m[2] = 0;
    if (O->name == NULL && inet_pton(AF_INET, O->host, &a4) == 1) {
        m[3] = 1;
        memcpy(m + 4, &a4, 4);
        n += 4;
    } else if (O->name == NULL && inet_pton(AF_INET6, O->host, &a6) == 1) {
        m[3] = 4;
        memcpy(m + 4, &a6, 16);
        n += 16;
    } else {
        size_t l = strlen(name);
        m[3] = 3;
        m[4] = (unsigned char)l;
        memcpy(m + 5, name, l);
        n += 1 + l;
    }
    m[n++] = (unsigned char)(O->port >> 8);
    m[n++] = (unsigned char)O->port;
    cc_append(c, m, n);
}

/* Puts the header and as much payload as fits into the send buffer. */
static void cc_refill(struct cconn *c)
{
    if (c->len == 0) c->off = 0;
    if (!c->hdr_sent) {
        unsigned char h[HDR_LEN];
        h[0] = (unsigned char)O->mode;
        put64(h + 1, O->bytes);
        h[9] = (unsigned char)(c->seed >> 24);
        h[10] = (unsigned char)(c->seed >> 16);
        h[11] = (unsigned char)(c->seed >> 8);
        h[12] = (unsigned char)c->seed;
        cc_append(c, h, HDR_LEN);
        c->hdr_sent = 1;
    }
    if (c->tx_left > 0 && c->off + c->len < c->cap) {
        size_t room = c->cap - c->off - c->len;
        size_t k = c->tx_left < room ? (size_t)c->tx_left : room;
        gen_fill(&c->gtx, c->buf + c->off + c->len, k);
        c->len += k;
        c->tx_left -= k;
    }
}

static void cc_start_data(struct cconn *c)
{
    c->st = C_DATA;
    c->tx_left = O->mode == 'D' ? 0 : O->bytes;
    c->in_have = 0;
    c->in_need = 9; /* U: status + count */
    cc_refill(c);
}

static void cc_start(struct cconn *c)
{
    if (!O->use_socks) {
        cc_start_data(c);
        return;
    }
    c->st = C_SOCKS;
    c->xwait = X_GREET;
    c->in_have = 0;
    c->in_need = 2;
    socks_greeting(c);
    if (O->pipeline) {
        if (O->user != NULL) socks_auth(c);
        socks_connect(c);
    }
}

static int cc_sent_all(const struct cconn *c)
{
    return c->hdr_sent && c->len == 0 && c->tx_left == 0;
}

static short cc_events(const struct cconn *c)
{
    short ev = 0;
    if (c->st == C_DONE) return 0;
    if (c->st == C_CONNECTING) return POLLOUT;
    if (c->len > 0 || (c->st == C_DATA && c->tx_left > 0)) ev |= POLLOUT;
    if (c->st == C_SOCKS || !c->rd_eof) ev |= POLLIN;
    return ev;
}

static void cc_done(struct cconn *c)
{
    close(c->fd);
    c->fd = -1;
    c->st = C_DONE;
    free(c->buf);
    c->buf = NULL;
}

/* Is this stream finished (after a read or write)? */
static void cc_check_done(struct cconn *c)
{
    if (c->st != C_DATA) return;
    if (O->halfclose && cc_sent_all(c) && !c->wr_shut) {
        shutdown(c->fd, SHUT_WR);
        c->wr_shut = 1;
    }
    switch (O->mode) {
    case 'E':
        if (c->rx == O->bytes && (!O->halfclose || c->rd_eof)) cc_done(c);
        break;
    case 'U':
        if (c->in_have == 9 && cc_sent_all(c)) cc_done(c);
        break;
    case 'D':
        if (c->rd_eof) cc_done(c);
        break;
    }
}

static void cc_socks_reply(struct cconn *c, unsigned idx)
{
    const unsigned char *r = c->in;
    if (c->xwait == X_GREET) {
        if (r[0] != 5) fail(idx, 0, "socks-bad-version", -1);
        if (r[1] != (O->user != NULL ? 2 : 0)) {
            char why[40];
            snprintf(why, sizeof why, "socks-method-0x%02x", r[1]);
            fail(idx, 0, why, -1);
        }
        c->xwait = O->user != NULL ? X_AUTH : X_CONNECT;
        c->in_need = O->user != NULL ? 2 : 5;
        if (!O->pipeline) {
            if (O->user != NULL)
                socks_auth(c);
            else
                socks_connect(c);
        }
    } else if (c->xwait == X_AUTH) {
        if (r[1] != 0) {
            char why[40];
            snprintf(why, sizeof why, "socks-auth-refused-status-%d", r[1]);
            fail(idx, 0, why, -1);
        }
        c->xwait = X_CONNECT;
        c->in_need = 5;
        if (!O->pipeline) socks_connect(c);
    } else if (c->in_need == 5) {
        /* VER REP RSV ATYP and the first address byte: now we know the length */
        if (r[0] != 5) fail(idx, 0, "socks-bad-version", -1);
        if (r[1] != 0) fail(idx, 0, "socks-refused", r[1]);
        switch (r[3]) {
        case 1:
            c->in_need = 4 + 4 + 2;
            break;
        case 4:
            c->in_need = 4 + 16 + 2;
            break;
        case 3:
            c->in_need = 4 + 1 + (size_t)r[4] + 2;
            break;
        default:
            fail(idx, 0, "socks-bad-atyp", -1);
        }
        return;
    } else {
        cc_start_data(c);
        return;
    }
    c->in_have = 0;
}

static void cc_read(struct cconn *c, unsigned idx)
{
    ssize_t r;
    if (c->st == C_SOCKS || (c->st == C_DATA && O->mode == 'U')) {
        /* byte-exact reads: never read past the message we expect */
        if (c->in_have == c->in_need) {
            r = read(c->fd, rxbuf, 1); /* U after the status: expect EOF */
            if (r > 0) fail(idx, 0, "extra-data-after-status", -1);
        } else {
            r = read(c->fd, c->in + c->in_have, c->in_need - c->in_have);
        }
        if (r == 0) fail(idx, c->rx, c->st == C_SOCKS ? "socks-eof" : "eof-before-status", -1);
        if (r < 0) {
            if (would_block()) return;
            fail(idx, c->rx, strerror(errno), -1);
        }
        c->in_have += (size_t)r;
        if (c->in_have < c->in_need) return;
        if (c->st == C_SOCKS) {
            while (c->st == C_SOCKS && c->in_have == c->in_need)
                cc_socks_reply(c, idx);
            return;
        }
        if (c->in[0] != 'K' || getbe(c->in + 1, 8) != O->bytes) {
            char why[80];
            snprintf(why, sizeof why, "server-status-%c-count-%llu", c->in[0],
                     (unsigned long long)getbe(c->in + 1, 8));
            fail(idx, 0, why, -1);
        }
        cc_check_done(c);
        return;
    }
    r = read(c->fd, rxbuf, CHUNK);
    if (r < 0) {
        if (!would_block()) fail(idx, c->rx, strerror(errno), -1);
        return;
    }
    if (r == 0) {
        if (c->rx != O->bytes) fail(idx, c->rx, "eof-early", -1);
        c->rd_eof = 1;
    } else {
        size_t ok;
        if ((uint64_t)r > O->bytes - c->rx) fail(idx, O->bytes, "extra-data", -1);
        ok = gen_check(&c->grx, rxbuf, (size_t)r);
        if (ok != (size_t)r) fail(idx, c->rx + ok, "data-mismatch", -1);
        c->rx += (uint64_t)r;
    }
    cc_check_done(c);
}

static void cc_write(struct cconn *c, unsigned idx)
{
    ssize_t w;
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err != 0) {
            char why[100];
            snprintf(why, sizeof why, "connect:%s", strerror(err));
            fail(idx, 0, why, -1);
        }
        cc_start(c);
    }
    if (c->st == C_DATA) cc_refill(c);
    if (c->len == 0) return;
    w = write(c->fd, c->buf + c->off, c->len);
    if (w < 0) {
        if (!would_block()) fail(idx, c->rx, strerror(errno), -1);
        return;
    }
    c->off += (size_t)w;
    c->len -= (size_t)w;
    if (c->st == C_DATA) cc_refill(c);
    cc_check_done(c);
}

static int cc_open(struct cconn *c, unsigned idx)
{
    uint64_t want = O->bytes + HDR_LEN;
    c->seed = O->seed + idx;
    gen_init(&c->gtx, c->seed);
    gen_init(&c->grx, c->seed);
    c->cap = want < BUF_MIN ? BUF_MIN : want > BUF_MAX ? BUF_MAX : (size_t)want;
    c->buf = malloc(c->cap);
    c->fd = socket(O->dst.ss_family, SOCK_STREAM, 0);
    if (c->buf == NULL || c->fd < 0 || set_nonblock(c->fd) != 0) return -1;
    c->st = C_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)&O->dst, O->dstlen) == 0)
        cc_start(c);
    else if (errno != EINPROGRESS)
        return -1;
    return 0;
}

static int client_main(int argc, char **argv)
{
    static struct opts o;
    struct pollfd *pfd;
    unsigned *map, i, left, opened = 0;
    rlim_t nofile;
    uint64_t deadline;
    int a;

    if (argc < 4) return usage();
    o.host = argv[0];
    o.port = atoi(argv[1]);
    o.mode = argv[2][0];
    o.streams = 1;
    o.seed = 1;
    o.timeout = 120;
    if (o.port <= 0 || o.port > 65535 || argv[2][1] != '\0' ||
        (o.mode != 'E' && o.mode != 'U' && o.mode != 'D') || parse_bytes(argv[3], &o.bytes) != 0)
        return usage();
    for (a = 4; a < argc; a++) {
        const char *arg = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(arg, "--pipeline") == 0) {
            o.pipeline = 1;
            continue;
        }
        if (strcmp(arg, "--halfclose") == 0) {
            o.halfclose = 1;
            continue;
        }
        if (val == NULL) return usage();
        a++;
        if (strcmp(arg, "--streams") == 0) {
            o.streams = (unsigned)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--seed") == 0) {
            o.seed = (uint32_t)strtoul(val, NULL, 0);
        } else if (strcmp(arg, "--ramp") == 0) {
            o.ramp = (unsigned)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--timeout") == 0) {
            o.timeout = (unsigned)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--socks") == 0) {
            o.use_socks = 1;
            if (parse_addr(val, &o.dst, &o.dstlen) != 0) {
                fprintf(stderr, "blast client: bad --socks address %s\n", val);
                return 2;
            }
        } else if (strcmp(arg, "--socks-user") == 0) {
            static char up[520];
            char *colon;
            if (strlen(val) >= sizeof up) return usage();
            strcpy(up, val);
            colon = strchr(up, ':');
            if (colon == NULL || colon - up > 255 || strlen(colon + 1) > 255) return usage();
            *colon = '\0';
            o.user = up;
            o.pass = colon + 1;
        } else if (strcmp(arg, "--socks-name") == 0) {
            if (strlen(val) > 255) return usage();
            o.name = val;
        } else {
            return usage();
        }
    }
    if (o.streams == 0 || strlen(o.host) > 255 ||
        (!o.use_socks && (o.user || o.name || o.pipeline)))
        return usage();
    if (!o.use_socks) {
        char hp[300];
        snprintf(hp, sizeof hp, "[%s]:%d", o.host, o.port);
        if (parse_addr(hp, &o.dst, &o.dstlen) != 0) {
            fprintf(stderr, "blast client: cannot resolve %s\n", o.host);
            return 2;
        }
    }
    nofile = raise_nofile();
    if ((rlim_t)o.streams + 16 > nofile) {
        printf("FAIL stream=0 offset=0 reason=too-many-streams nofile=%lu\n",
               (unsigned long)nofile);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    O = &o;
    C = calloc(o.streams, sizeof *C);
    pfd = calloc(o.streams, sizeof *pfd);
    map = calloc(o.streams, sizeof *map);
    if (C == NULL || pfd == NULL || map == NULL) {
        fprintf(stderr, "blast client: out of memory\n");
        return 1;
    }
    t_start = now_usec();
    deadline = t_start + (uint64_t)o.timeout * 1000000u;
    for (;;) {
        nfds_t np = 0;
        uint64_t now = now_usec();
        unsigned busy = 0; /* streams connecting or in the SOCKS handshake */
        int ms;
        for (i = 0; i < opened; i++)
            busy += C[i].st == C_CONNECTING || C[i].st == C_SOCKS;
        for (; opened < o.streams && (o.ramp == 0 || busy < o.ramp); opened++, busy++) {
            if (cc_open(&C[opened], opened) != 0) {
                char why[100];
                snprintf(why, sizeof why, "connect:%s", strerror(errno));
                fail(opened, 0, why, -1);
            }
        }
        left = o.streams - opened;
        for (i = 0; i < opened; i++) {
            if (C[i].st == C_DONE) continue;
            left++;
            pfd[np].fd = C[i].fd;
            pfd[np].events = cc_events(&C[i]);
            map[np++] = i;
        }
        if (left == 0) break;
        if (now >= deadline) {
            for (i = 0; C[i].st == C_DONE; i++)
                ;
            fail(i, C[i].rx,
                 C[i].st == C_IDLE         ? "timeout-not-started"
                 : C[i].st == C_CONNECTING ? "timeout-connecting"
                 : C[i].st == C_SOCKS      ? "timeout-in-socks"
                                           : "timeout",
                 -1);
        }
        ms = (int)((deadline - now) / 1000u) + 1;
        if (poll(pfd, np, ms > 1000 ? 1000 : ms) < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "blast client: poll: %s\n", strerror(errno));
            return 1;
        }
        for (i = 0; i < np; i++) {
            struct cconn *c = &C[map[i]];
            short re = pfd[i].revents;
            if ((re & (POLLOUT | POLLERR | POLLHUP)) && (pfd[i].events & POLLOUT))
                cc_write(c, map[i]);
            if ((re & (POLLIN | POLLERR | POLLHUP)) && (pfd[i].events & POLLIN) &&
                c->st != C_DONE && c->st != C_CONNECTING)
                cc_read(c, map[i]);
        }
    }
    printf("ok streams=%u bytes=%llu usec=%llu\n", o.streams,
           (unsigned long long)(o.bytes * o.streams), (unsigned long long)(now_usec() - t_start));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "server") == 0) return server_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "client") == 0) return client_main(argc - 2, argv + 2);
    return usage();
}
