/*
 * alknet — TCP streams carried through a minimal SSH-2 stack, with a
 * SOCKS5h proxy in front. One file, one single-threaded poll() loop,
 * non-blocking everything. BearSSL provides hashes, X25519, AES-GCM and
 * ChaCha20; Ed25519, Poly1305 and the SSH protocol are written here.
 *
 * Build:  make            (cc -std=c99 ... alknet.c -lbearssl)
 * Tests:  make check      tests/unit.c includes this file with ALKNET_NO_MAIN
 *
 *  1 limits, build switches           9 SSH transport (tp_)
 *  2 bytes, wipe, random, time        10 key exchange (kex_)
 *  3 bounded reader/writer (rd_ wr_)  11 user authentication (ua_)
 *  4 errors, logging (log_)           12a name resolution (rs_)
 *  5 Ed25519, Poly1305 (ed_ poly_)    12 channels (ch_)
 *  6 ciphers, X25519 glue (ci_)       13 SOCKS5h (sx_)
 *  6a TLS ClientHello, X.509 (tls_)   14 message dispatch (tp_dispatch)
 *  7 keys, known_hosts (key_ kh_)     15 event loop (ev_)
 *  8 sockets, byte queues (net_ buf_) 16 client (cl_)
 *  8a destination policy (pol_)       17 command line, config (cfg_)
 *  8b authorized_keys (ak_)           18 server (sv_)
 *  8c DNS messages (dns_)             19 keygen, pubkey, main
 *  8d TLS transport (tls_ pem_)
 *  8e proxies on the way out (px_)
 *
 * Each section starts with a banner "SECTION N:" that grep finds. Sections
 * are ordered bottom-up: helpers first, main last.
 */
#define _POSIX_C_SOURCE 200809L

#include "alknet.h"

#include <bearssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h> /* after sys/socket.h: older BSDs need that */
#if defined(__linux__)
#include <sys/random.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

/* ==================== SECTION 1: limits, build switches ==================== */

/*
 * Sizes come from the RFCs; the memory budget they imply is written here so
 * that --max-channels and connection counts translate into RAM.
 *
 * Per SSH connection (allocated at connect/accept):
 *   struct ssh with both cipher states        ~ 3 KiB
 *   input buffer  ALK_IBUF (allocated while data flows)      128 KiB
 *   output buffer grows to ALK_OBUF_HIGH + one packet         ~ 160 KiB
 *   key exchange state only during a kex                       ~ 1 KiB
 *   with TLS: struct tls (BearSSL engine, both record buffers) ~ 50 KiB
 * Per channel:
 *   struct chan                                               ~ 160 B
 *   SOCKS handshake state, freed when the stream opens        ~ 540 B
 *   queue towards a slow local reader: allocated only while data waits,
 *   bounded by the window we granted, freed when drained.
 * So an idle stream costs a struct chan and its socket; a stalled stream
 * costs at most its window more (ALK_WINDOW, grown up to ALK_WINDOW_MAX on
 * a long fat link: ch_grow). And all streams together: the windows we
 * grant are drawn from one budget (ALK_WINDOW_BUDGET, --window-budget), so
 * what stalled readers can make us hold is at most the budget, or
 * ALK_WIN_MIN per stream where there are more streams than the budget
 * covers; windows reopen only as the local side drains (ch_grantable).
 */
#define ALK_PKT_MAX 35000               /* RFC 4253 6.1: packet_length we accept */
#define ALK_PAYLOAD_MAX 32768           /* RFC 4253 6.1: payload we must accept */
#define ALK_CHAN_MAXPKT 32768           /* max data per CHANNEL_DATA we announce */
#define ALK_WINDOW (2u << 20)           /* receive window we grant per channel at first... */
#define ALK_WINDOW_MAX (32u << 20)      /* ... and at most, on a long fat link (ch_grow) */
#define ALK_WIN_MIN (32u << 10)         /* ... and at least, whatever the budget says */
#define ALK_WINDOW_BUDGET (64ull << 20) /* all channels' windows together (--window-budget) */
#define ALK_IBUF (128u << 10)           /* SSH input buffer: several packets per read */
#define ALK_OBUF_HIGH (128u << 10)      /* stop reading local sockets above this */
#define ALK_OBUF_MAX (1u << 20)         /* stop reading the peer above this */
#define ALK_TAG 16                      /* every cipher we speak is an AEAD with 16-byte tag */
#define ALK_VERLINE_MAX 255             /* RFC 4253 4.2: identification line incl. CR LF */
#define ALK_PREBANNER_MAX 8192          /* lines a server may send before its version */
#define ALK_SOCKS_MAX 515               /* RFC 1929 auth request (513) + slack */
#define ALK_DEFER_MAX 65536             /* control packets held back during our kex */
#define ALK_MAX_CHANNELS 65536          /* per connection, client side */
#define ALK_SOCKS_TIMEOUT_MS 30000      /* SOCKS handshake must finish within this */
#define ALK_OPEN_TIMEOUT_MS 90000       /* channel open must be answered within this */
#define ALK_COLD_MS 100                 /* a stream idle this long is polled less often... */
#define ALK_COLD_GAP_MS 4               /* ... at least every 4 ms (+1 ms per 256 such) */
#define ALK_CONNECT_TIMEOUT_MS 15000
#define ALK_HANDSHAKE_TIMEOUT_MS 30000
#define ALK_REKEY_BYTES (1ull << 30) /* spec 2: rekey after 1 GiB ... */
#define ALK_REKEY_MS (3600ll * 1000) /* ... or one hour */
#define ALK_KEEPALIVE_SECS 30        /* default --keepalive ... */
#define ALK_KEEPALIVE_COUNT 3        /* ... and --keepalive-count: dead after (3 + 1) x 30 s */
#define ALK_RETRY_MIN_MS 1000        /* client: first reconnection after 0.5-1 s, */
#define ALK_RETRY_MAX_MS 60000       /* doubling up to 30-60 s (jitter: the upper half) */
#define ALK_OUTAGE_WAIT_MS 20000     /* a stream asked for while reconnecting waits this long */

#define ALK_ID_STRING "SSH-2.0-alknet_" ALK_VERSION
#define ALK_USER_DEFAULT "alknet"
#define ALK_CONNECT_CONFIG ".alknet/config"             /* under $HOME, read when -F is not given */
#define ALK_SERVE_CONFIG ".alknet/alknet.conf"          /* the same for serve ... */
#define ALK_SERVE_CONFIG_ROOT "/etc/alknet/alknet.conf" /* ... run as root */

#if defined(__GNUC__) || defined(__clang__)
#define ALK_UNUSED __attribute__((unused))
#define ALK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ALK_UNUSED
#define ALK_PRINTF(a, b)
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Fuzz builds (-DALKNET_FUZZ, tests/fuzz/, never a release): randomness is
 * seeded (ALKNET_TEST), a cipher "none@fuzz" may be negotiated so that
 * packets after NEWKEYS stay readable, and signatures are checked but a bad
 * one is let through, so that a fuzzer playing the peer gets past key
 * exchange and authentication into the connection protocol, as Dropbear's
 * and OpenSSH's fuzz builds do.
 */
#ifdef ALKNET_FUZZ
#ifndef ALKNET_TEST
#define ALKNET_TEST
#endif
#define FUZZ_SIG_OK 1
#else
#define FUZZ_SIG_OK 0
#endif

/* "Cannot happen" checks: assert in test builds, plain conditions otherwise. */
#ifdef ALKNET_TEST
#include <assert.h>
#define ALWAYS(x) (assert(x), 1)
#define NEVER(x) (assert(!(x)), 0)
#else
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

/* ==================== SECTION 2: bytes, wipe, random, time ==================== */

/*
 * The printf subset alknet uses, so that static builds carry no libc printf
 * (7.7 KB of musl, floating point included): flags '-' and '0', a width
 * (digits or *), a precision for strings (.digits or .*), the length
 * modifiers l, ll and z, and the conversions d, i, u, x, o, c, s and %.
 * ALK_PRINTF has the compiler check the arguments; a conversion outside the
 * subset (%f, %p, ...) is printed as it stands. vsnprintf()'s contract: at
 * most cap bytes written, NUL included; the length of the whole text back.
 */
static int fmt_v(char *dst, size_t cap, const char *f, va_list ap)
{
    size_t o = 0;
    for (; *f; f++) {
        char num[24]; /* 2^64 in octal: 22 digits */
        const char *s;
        size_t width = 0, prec = (size_t)-1, n;
        int left = 0, zero = 0, lng = 0, neg = 0;
        const char *spec = f;
        if (*f != '%') {
            s = f, n = 1;
            goto out;
        }
        for (f++; *f == '-' || *f == '0'; f++)
            left |= *f == '-', zero |= *f == '0';
        if (*f == '*') {
            int w = va_arg(ap, int);
            left |= w < 0, width = w < 0 ? 0u - (size_t)w : (size_t)w, f++;
        }
        for (; *f >= '0' && *f <= '9'; f++)
            width = width * 10 + (size_t)(*f - '0');
        if (*f == '.') {
            prec = 0;
            if (*++f == '*') {
                int pr = va_arg(ap, int);
                prec = pr < 0 ? (size_t)-1 : (size_t)pr, f++;
            }
            for (; *f >= '0' && *f <= '9'; f++)
                prec = prec * 10 + (size_t)(*f - '0');
        }
        for (; *f == 'l' || *f == 'z'; f++)
            lng = *f == 'z' ? 3 : lng + 1;
        unsigned long long v = 0;
        unsigned base = 10;
        switch (*f) {
        case 's':
            if (!(s = va_arg(ap, const char *))) s = "(null)";
            for (n = 0; n < prec && s[n]; n++)
                ;
            goto out;
        case 'c':
            num[0] = (char)va_arg(ap, int), s = num, n = 1;
            goto out;
        case 'd':
        case 'i': {
            long long x = lng == 2   ? va_arg(ap, long long)
                          : lng == 1 ? va_arg(ap, long)
                                     : va_arg(ap, int);
            neg = x < 0, v = neg ? 0ull - (unsigned long long)x : (unsigned long long)x;
            break;
        }
        case 'x':
        case 'o':
            base = *f == 'x' ? 16 : 8;
            /* fall through */
        case 'u':
            v = lng == 3   ? va_arg(ap, size_t)
                : lng == 2 ? va_arg(ap, unsigned long long)
                : lng == 1 ? va_arg(ap, unsigned long)
                           : va_arg(ap, unsigned);
            break;
        default: /* "%%"; anything else is not ours and printed as it stands */
            if (*f == '%')
                s = f, n = 1;
            else
                s = spec, n = (size_t)(f - spec) + (*f != 0);
            if (!*f) f--; /* the loop's f++ must not pass the end */
            goto out;
        }
        char *d = num + sizeof num;
        do
            *--d = "0123456789abcdef"[v % base];
        while ((v /= base) != 0);
        s = d, n = (size_t)(num + sizeof num - d);
    out:
        /* sign, then padding: spaces before (or after, '-'), zeros between */
        if (!left && !zero)
            for (; width > n + (size_t)neg; width--, o++)
                if (o + 1 < cap) dst[o] = ' ';
        if (neg && o + 1 < cap) dst[o] = '-';
        o += (size_t)neg;
        if (!left && zero)
            for (; width > n + (size_t)neg; width--, o++)
                if (o + 1 < cap) dst[o] = '0';
        for (size_t i = 0; i < n; i++, o++)
            if (o + 1 < cap) dst[o] = s[i];
        if (left)
            for (; width > n + (size_t)neg; width--, o++)
                if (o + 1 < cap) dst[o] = ' ';
    }
    if (cap) dst[MIN(o, cap - 1)] = 0;
    return (int)MIN(o, (size_t)INT_MAX);
}
static ALK_PRINTF(3, 4) int fmt_s(char *dst, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = fmt_v(dst, cap, f, ap);
    va_end(ap);
    return n;
}
/* fprintf() on fmt_v(). */
static ALK_PRINTF(2, 3) void fmt_to(FILE *out, const char *f, ...)
{
    char b[4096], *p = b;
    va_list ap, ap2;
    va_start(ap, f);
    va_copy(ap2, ap);
    size_t n = (size_t)fmt_v(b, sizeof b, f, ap);
    if (n >= sizeof b && (p = malloc(n + 1)) != NULL) fmt_v(p, n + 1, f, ap2);
    fputs(p ? p : b, out);
    if (p != b) free(p);
    va_end(ap2);
    va_end(ap);
}

/* A hex digit's value, or -1. */
static int hex_digit(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static inline uint32_t ld32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void st32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t ld32_le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline void st32_le(uint8_t *p, uint32_t v)
{
    p[3] = (uint8_t)(v >> 24), p[2] = (uint8_t)(v >> 16), p[1] = (uint8_t)(v >> 8);
    p[0] = (uint8_t)v;
}
/* the 64-bit Poly1305 (SECTION 5) uses these */
static inline uint64_t ld64_le(const uint8_t *p)
{
    return (uint64_t)ld32_le(p + 4) << 32 | ld32_le(p);
}
static inline void st64_le(uint8_t *p, uint64_t v)
{
    st32_le(p, (uint32_t)v), st32_le(p + 4, (uint32_t)(v >> 32));
}
static void st64_be(uint8_t *p, uint64_t v)
{
    st32_be(p, (uint32_t)(v >> 32)), st32_be(p + 4, (uint32_t)v);
}
static uint64_t ld64_be(const uint8_t *p) { return (uint64_t)ld32_be(p) << 32 | ld32_be(p + 4); }

/*
 * Zeroes secrets in a way the compiler may not drop as a dead store: memset
 * called through a volatile pointer cannot be proven to be memset. At
 * memset's speed, since whole 128 KiB buffers are wiped when freed.
 */
static void *(*volatile const wipe_memset)(void *, int, size_t) = memset;
static void wipe(void *p, size_t n) { wipe_memset(p, 0, n); }
#define WIPE(x) wipe(&(x), sizeof(x))

/* Constant-time comparison of secrets and tags: 0 if equal, -1 otherwise. */
static int ct_cmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    uint32_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint32_t)(x[i] ^ y[i]);
    return (int)(1 & ((d - 1) >> 8)) - 1;
}

/* Allocation that callers never need to NULL-check: running out of memory
 * in this process means every tunnel is in trouble anyway, and a clean exit
 * is better than limping. Used only for bounded sizes. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("alknet: out of memory\n", stderr);
        exit(ALK_EXIT_FAIL);
    }
    return p;
}
static void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) {
        fputs("alknet: out of memory\n", stderr);
        exit(ALK_EXIT_FAIL);
    }
    return p;
}
static void *xrealloc(void *q, size_t n)
{
    void *p = realloc(q, n ? n : 1);
    if (!p) {
        fputs("alknet: out of memory\n", stderr);
        exit(ALK_EXIT_FAIL);
    }
    return p;
}
static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}
static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* A length-delimited view into someone else's bytes (never owns memory). */
struct str {
    const uint8_t *p;
    size_t n;
};
static int str_eq(struct str s, const char *z)
{
    size_t n = strlen(z);
    return s.n == n && memcmp(s.p, z, n) == 0;
}

/* RFC 4648 base64, as in OpenSSH key files. */
static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes the encoding of src and a NUL into dst (cap >= 4*ceil(n/3)+1);
 * `pad` chooses '=' padding. Returns the length written. */
static size_t b64_enc(char *dst, const uint8_t *src, size_t n, int pad)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16;
        if (i + 1 < n) v |= (uint32_t)src[i + 1] << 8;
        if (i + 2 < n) v |= src[i + 2];
        dst[o++] = b64_chars[v >> 18 & 63];
        dst[o++] = b64_chars[v >> 12 & 63];
        if (i + 1 < n)
            dst[o++] = b64_chars[v >> 6 & 63];
        else if (pad)
            dst[o++] = '=';
        if (i + 2 < n)
            dst[o++] = b64_chars[v & 63];
        else if (pad)
            dst[o++] = '=';
    }
    dst[o] = 0;
    return o;
}

/* Decodes base64, skipping white space; '=' ends the data. Returns the
 * number of bytes written, or -1 on a bad character or overflow. */
static long b64_dec(uint8_t *dst, size_t cap, const char *src, size_t n)
{
    uint32_t v = 0;
    size_t o = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i], d;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (c == '=') break;
        if (c >= 'A' && c <= 'Z')
            d = c - 'A';
        else if (c >= 'a' && c <= 'z')
            d = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            d = c - '0' + 52;
        else if (c == '+')
            d = 62;
        else if (c == '/')
            d = 63;
        else
            return -1;
        v = v << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) return -1;
            dst[o++] = (uint8_t)(v >> bits);
        }
    }
    return (long)o;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The UTC calendar date and time of t seconds after 1970-01-01 00:00:00:
 * f = {year, month 1-12, day 1-31, hour, minute, second}. Proleptic
 * Gregorian, integers only ("civil_from_days" from H. Hinnant's date
 * algorithms: days counted from 0000-03-01, in 400-year eras of 146097
 * days, so that February, with the leap day, ends each year). Log lines
 * and certificate dates need nothing else, and this spares libc's time
 * zone code (9 KB of musl for localtime_r and strftime).
 */
static void utc_date(int64_t t, long f[6])
{
    int64_t days = t / 86400, sec = t % 86400;
    if (sec < 0) sec += 86400, days--;
    days += 719468; /* 0000-03-01 to 1970-01-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    long doe = (long)(days - era * 146097);                           /* [0, 146096] */
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    long mp = (5 * doy + 2) / 153;                                    /* March = 0 */
    f[1] = mp < 10 ? mp + 3 : mp - 9;
    f[0] = (long)(era * 400) + yoe + (f[1] <= 2);
    f[2] = doy - (153 * mp + 2) / 5 + 1;
    f[3] = (long)sec / 3600, f[4] = (long)sec / 60 % 60, f[5] = (long)sec % 60;
}

/*
 * Randomness: getrandom(), or /dev/urandom where the kernel lacks it (old
 * router kernels), and no other source. Small requests (padding, nonces,
 * ephemeral keys) are served from a pool so that a bulk transfer does not
 * pay a system call per packet; bytes handed out are wiped from the pool.
 * ALKNET_TEST builds replace the source with a seeded ChaCha20 stream so
 * that fuzzing and known-answer tests are reproducible.
 */
static struct {
    uint8_t pool[1024];
    size_t avail;
#ifdef ALKNET_TEST
    uint8_t key[32];
    uint32_t ctr;
    int det;
#endif
} rnd;

static void rnd_sys(uint8_t *p, size_t n)
{
#ifdef ALKNET_TEST
    if (rnd.det) {
        static const uint8_t iv[12];
        memset(p, 0, n);
        rnd.ctr = br_chacha20_ct_run(rnd.key, iv, rnd.ctr, p, n);
        return;
    }
#endif
    while (n > 0) {
        ssize_t r = -1;
#if defined(__linux__)
        r = getrandom(p, n, 0);
        if (r < 0 && errno == EINTR) continue;
#endif
        if (r <= 0) {
            int fd = open("/dev/urandom", O_RDONLY);
            r = fd < 0 ? -1 : read(fd, p, n);
            if (fd >= 0) close(fd);
            if (r <= 0) {
                fputs("alknet: no randomness available (getrandom, /dev/urandom)\n", stderr);
                abort();
            }
        }
        p += r, n -= (size_t)r;
    }
}

static void rnd_bytes(void *out, size_t n)
{
    uint8_t *p = out;
    if (n > sizeof rnd.pool / 4) {
        rnd_sys(p, n);
        return;
    }
    if (rnd.avail < n) {
        rnd_sys(rnd.pool, sizeof rnd.pool);
        rnd.avail = sizeof rnd.pool;
    }
    uint8_t *src = rnd.pool + sizeof rnd.pool - rnd.avail;
    memcpy(p, src, n);
    wipe(src, n);
    rnd.avail -= n;
}

/* A number in [0, n): for jitter, where a bias of n / 2^32 does not matter. */
static uint32_t rnd_below(uint32_t n)
{
    uint8_t b[4];
    rnd_bytes(b, 4);
    return (uint32_t)(((uint64_t)ld32_be(b) * n) >> 32);
}

static uint32_t rnd_u32(void)
{
    uint8_t b[4];
    rnd_bytes(b, 4);
    return ld32_le(b);
}

#ifdef ALKNET_TEST
/* Test builds: make every random byte a function of `seed`. */
static ALK_UNUSED void rnd_test_seed(uint64_t seed)
{
    memset(rnd.key, 0, sizeof rnd.key);
    st64_le(rnd.key, seed);
    rnd.ctr = 0, rnd.avail = 0, rnd.det = 1;
}
#endif

/* ==================== SECTION 3: bounded reader/writer (rd_ wr_) ==================== */

/*
 * Every untrusted byte is read through struct rd: SSH payloads, SOCKS
 * requests, key files. The error is sticky, so a handler reads every field
 * and checks once at the end with rd_end() (OpenSSH's sshpkt_get_end).
 * Bounds are checked by subtracting on the known side; strings come back as
 * views into the input, never copies.
 */
struct rd {
    const uint8_t *p;
    size_t len, off;
    int bad;
};

static struct rd rd_init(const void *p, size_t n)
{
    struct rd r = {p, n, 0, 0};
    return r;
}
static uint8_t rd_u8(struct rd *r)
{
    if (r->bad || r->len - r->off < 1) {
        r->bad = 1;
        return 0;
    }
    return r->p[r->off++];
}
static uint32_t rd_u32(struct rd *r)
{
    if (r->bad || r->len - r->off < 4) {
        r->bad = 1;
        return 0;
    }
    r->off += 4;
    return ld32_be(r->p + r->off - 4);
}
static int rd_bool(struct rd *r) { return rd_u8(r) != 0; }
/* A view of the next n bytes. */
static struct str rd_bytes(struct rd *r, size_t n)
{
    struct str s = {NULL, 0};
    if (r->bad || r->len - r->off < n) {
        r->bad = 1;
        return s;
    }
    s.p = r->p + r->off, s.n = n;
    r->off += n;
    return s;
}
/* RFC 4251 5 "string": uint32 length + bytes; longer than max is an error. */
static struct str rd_str(struct rd *r, size_t max)
{
    uint32_t n = rd_u32(r);
    if (n > max) {
        r->bad = 1;
        struct str s = {NULL, 0};
        return s;
    }
    return rd_bytes(r, n);
}
/* A string that must have exactly n bytes (keys, signatures). */
static const uint8_t *rd_fixed(struct rd *r, size_t n)
{
    struct str s = rd_str(r, n);
    if (s.n != n) r->bad = 1;
    return r->bad ? NULL : s.p;
}
static int rd_end(const struct rd *r) { return !r->bad && r->off == r->len; }

/*
 * The writer: fixed capacity, sticky overflow. SSH packets are built in
 * place in the connection's output buffer (see tp_begin), so the same
 * functions serve packets, key files and exchange-hash inputs.
 */
struct wr {
    uint8_t *p;
    size_t cap, len;
    int bad;
};

static struct wr wr_init(void *p, size_t cap)
{
    struct wr w = {p, cap, 0, 0};
    return w;
}
static uint8_t *wr_room(struct wr *w, size_t n)
{
    if (w->bad || w->cap - w->len < n) {
        w->bad = 1;
        return NULL;
    }
    w->len += n;
    return w->p + w->len - n;
}
static void wr_u8(struct wr *w, uint8_t v)
{
    uint8_t *q = wr_room(w, 1);
    if (q) *q = v;
}
static void wr_u32(struct wr *w, uint32_t v)
{
    uint8_t *q = wr_room(w, 4);
    if (q) st32_be(q, v);
}
static void wr_bytes(struct wr *w, const void *p, size_t n)
{
    uint8_t *q = wr_room(w, n);
    if (q && n) memcpy(q, p, n);
}
static void wr_str(struct wr *w, const void *p, size_t n)
{
    wr_u32(w, (uint32_t)n);
    wr_bytes(w, p, n);
}
static void wr_cstr(struct wr *w, const char *s) { wr_str(w, s, strlen(s)); }
/* RFC 4251 5 "mpint" from an unsigned big-endian number. */
static void wr_mpint(struct wr *w, const uint8_t *p, size_t n)
{
    while (n > 0 && p[0] == 0)
        p++, n--;
    int pad = n > 0 && (p[0] & 0x80);
    wr_u32(w, (uint32_t)(n + (size_t)pad));
    if (pad) wr_u8(w, 0);
    wr_bytes(w, p, n);
}

/* ==================== SECTION 4: errors, logging (log_) ==================== */

/*
 * Errors belong to a connection or a stream, never to the process: after
 * start-up nothing calls exit() because of what a peer sent. Handlers
 * return -E_*; the first error sticks in the connection (as in BearSSL) and
 * the connection sends DISCONNECT if it still can and is reaped.
 */
#define ALK_ERRORS(X)                                                                              \
    X(PROTO, "protocol violation")                                                                 \
    X(MAC, "message authentication failed")                                                        \
    X(LIMIT, "limit exceeded")                                                                     \
    X(IO, "connection error")                                                                      \
    X(CLOSED, "connection closed by peer")                                                         \
    X(ALGO, "no algorithm in common")                                                              \
    X(HOSTKEY, "host key not trusted")                                                             \
    X(AUTH, "authentication refused")                                                              \
    X(TIMEOUT, "timed out")                                                                        \
    X(DISC, "disconnected by peer")                                                                \
    X(LOCAL, "closed locally")

enum {
    E_OK = 0,
#define X(n, s) E_##n,
    ALK_ERRORS(X)
#undef X
};
static const char *const err_text[] = {"ok",
#define X(n, s) s,
                                       ALK_ERRORS(X)
#undef X
};
static const char *err_str(int e)
{
    e = e < 0 ? -e : e;
    return (size_t)e < ARRAY_LEN(err_text) ? err_text[e] : "error";
}

enum { L_ERR, L_WARN, L_INFO, L_DEBUG, L_TRACE };
static struct {
    int level;  /* highest level printed */
    int syslog; /* --syslog: lines go to the system log instead of stderr */
    int fd;     /* the socket to it, or -1 */
} lg = {L_INFO, 0, -1};

#ifndef _PATH_LOG /* <syslog.h> has it, except on musl */
#define _PATH_LOG "/dev/log"
#endif
static const char *log_path = _PATH_LOG;

/*
 * --syslog without libc's syslog(): the datagram it sends, "<PRI>alknet[PID]:
 * text" with facility daemon, to the local log socket, reconnecting once if
 * the daemon was restarted. musl's syslog() also puts the local time in it,
 * which pulls in all of libc's time zone code (6.6 KB); every syslog daemon
 * stamps a message that has no time with the time it arrives.
 */
static void log_syslog(int pri, const char *pre, const char *msg)
{
    char line[2100]; /* say()'s 2048 bytes fit */
    int n = fmt_s(line, sizeof line, "<%d>alknet[%ld]: %s%s", LOG_DAEMON | pri, (long)getpid(), pre,
                  msg);
    if (n < 0) return;
    size_t len = MIN((size_t)n, sizeof line - 1);
    for (int tries = 0; tries < 2; tries++) {
        if (lg.fd < 0) {
            struct sockaddr_un sa;
            memset(&sa, 0, sizeof sa);
            sa.sun_family = AF_UNIX;
            fmt_s(sa.sun_path, sizeof sa.sun_path, "%s", log_path);
            lg.fd = socket(AF_UNIX, SOCK_DGRAM, 0);
            if (lg.fd < 0) return;
            fcntl(lg.fd, F_SETFD, FD_CLOEXEC);
            if (connect(lg.fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
                close(lg.fd), lg.fd = -1;
                return;
            }
        }
        if (send(lg.fd, line, len, 0) >= 0) return;
        close(lg.fd), lg.fd = -1; /* the daemon restarted: once more */
    }
}

/*
 * One line per event: time, level, connection id, text. At -vv the
 * function name is added. Never log a secret; peer strings go through
 * log_esc() first.
 */
static ALK_PRINTF(4, 5) void log_emit(int lvl, unsigned id, const char *fn, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    fmt_v(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char pre[80] = ""; /* "cN " and, at -vv, "function: " */
    int pn = id ? fmt_s(pre, sizeof pre, "c%u ", id) : 0;
    if (lg.level >= L_TRACE && pn >= 0 && (size_t)pn < sizeof pre)
        fmt_s(pre + pn, sizeof pre - (size_t)pn, "%s: ", fn);
    if (lg.syslog) {
        static const int pri[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
        log_syslog(pri[lvl], pre, msg);
        return;
    }
    struct timespec ts;
    long f[6];
    clock_gettime(CLOCK_REALTIME, &ts);
    utc_date(ts.tv_sec, f); /* UTC: no time zone code in the binary */
    char tbuf[48];
    fmt_s(tbuf, sizeof tbuf, "%04ld-%02ld-%02ld %02ld:%02ld:%02ld", f[0], f[1], f[2], f[3], f[4],
          f[5]);
    fmt_to(stderr, "%s.%03ld %-5s %s%s\n", tbuf, ts.tv_nsec / 1000000, names[lvl], pre, msg);
}
#define LOG(lvl, id, ...)                                                                          \
    do {                                                                                           \
        if ((lvl) <= lg.level) log_emit((lvl), (id), __func__, __VA_ARGS__);                       \
    } while (0)

/*
 * Makes a peer-supplied string safe to print: printable ASCII is kept,
 * everything else becomes \xNN, and the result is cut at 200 bytes. The
 * result lives in one of four rotating static buffers, enough for one log
 * line.
 */
static const char *log_esc(const void *p, size_t n)
{
    static char bufs[4][220];
    static unsigned k;
    char *o = bufs[k++ & 3];
    const uint8_t *s = p;
    size_t j = 0;
    for (size_t i = 0; i < n && j < 200; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
            o[j++] = (char)s[i];
        else
            j += (size_t)fmt_s(o + j, 5, "\\x%02x", s[i]);
    }
    if (n > 0 && j >= 200) memcpy(o + j, "...", 4), j += 3;
    o[j] = 0;
    return o;
}
static const char *log_str(struct str s) { return log_esc(s.p, s.n); }

/* A user-facing message for the command line: "alknet: ...", always shown
 * (also with -q), used for start-up errors and final failures. */
static ALK_PRINTF(1, 2) void say(const char *fmt, ...)
{
    if (lg.level < L_ERR) return; /* silenced (fuzzing) */
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    fmt_v(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (lg.syslog)
        log_syslog(LOG_ERR, "", msg);
    else
        fmt_to(stderr, "alknet: %s\n", msg);
}

/* ==================== SECTION 5: Ed25519, Poly1305 (ed_ poly_) ==================== */

/*
 * What BearSSL 0.6 lacks and alknet needs: Ed25519 (RFC 8032 5.1, PureEdDSA, for
 * ssh-ed25519 host and user keys) and the bare Poly1305 MAC (RFC 8439 2.5, for
 * chacha20-poly1305@openssh.com). Written from the RFCs and the papers they cite;
 * SHA-512 comes from BearSSL.
 *
 *   fe_    GF(p), p = 2^255 - 19           ge_    twisted Edwards group, -x^2 + y^2 = 1 + d x^2 y^2
 *   sc_    integers mod L (group order)    ed_    sign / verify / public key
 *   poly_  Poly1305, 26-bit and 44-bit limbs
 *
 * Timing: everything that touches a secret (private key, nonce, MAC key) runs in
 * constant time: no branch and no table index depends on a secret. Only
 * ed_verify, whose inputs are all public, uses variable-time code (the *_vartime
 * functions). Secret buffers are wiped before return; field temporaries left on
 * the stack by the arithmetic are not (as in most C crypto code).
 *
 * Portability: C99, 32-bit limbs with 32x32->64 products so that 32-bit MIPS and
 * ARM routers run it well. We assume >> of a negative signed integer is an
 * arithmetic shift (true of every compiler alknet targets; C99 leaves it
 * implementation-defined). Left shifts are never applied to negative values.
 */

/* ---- fe_: field elements mod p = 2^255 - 19 ----
 * Ten signed limbs in radix 2^25.5: limb i holds bits from ceil(25.5 i) on, 26 bits
 * wide for even i and 25 bits for odd i. "Carried" means |limb| <= 2^25 (what
 * fe_mul, fe_sq and fe_carry return). fe_mul and fe_sq accept limbs up to
 * 1.5 * 2^26 in magnitude, i.e. the sum of three carried values: then 19*g fits
 * an int32 and each of the ten 64-bit column sums stays below 2^62. The comments
 * in the ge_ formulas track this bound. */
typedef int32_t fe[10];

#define FE_M(a, b) ((int64_t)(a) * (b)) /* the only product shape: 32x32 -> 64 */

static const uint8_t fe_width[10] = {26, 25, 26, 25, 26, 25, 26, 25, 26, 25};

static void fe_0(fe h) { memset(h, 0, sizeof(fe)); }
static void fe_1(fe h)
{
    fe_0(h);
    h[0] = 1;
}
static void fe_copy(fe h, const fe f) { memmove(h, f, sizeof(fe)); }

/* h = f + g and h = f - g, limb by limb, without carrying. */
static void fe_add(fe h, const fe f, const fe g)
{
    for (int i = 0; i < 10; i++)
        h[i] = f[i] + g[i];
}
static void fe_sub(fe h, const fe f, const fe g)
{
    for (int i = 0; i < 10; i++)
        h[i] = f[i] - g[i];
}
static void fe_neg(fe h, const fe f)
{
    for (int i = 0; i < 10; i++)
        h[i] = -f[i];
}

/* f = b ? g : f, for b in {0, 1}, without branching on b. */
static void fe_cmov(fe f, const fe g, uint32_t b)
{
    int32_t mask = -(int32_t)b;
    for (int i = 0; i < 10; i++)
        f[i] ^= mask & (f[i] ^ g[i]);
}

/* One rounding carry c = round(t_i / 2^w) out of limb i, leaving t_i in
 * [-2^(w-1), 2^(w-1)]. The carry out of limb 9 re-enters limb 0 times 19, since
 * 2^255 = 19 (mod p). Always called with a constant i, so it folds away. */
static inline void fe_carry_limb(int64_t t[10], int i)
{
    int w = 26 - (i & 1);
    int64_t c = (t[i] + ((int64_t)1 << (w - 1))) >> w;
    t[i] -= c * ((int64_t)1 << w);
    if (i == 9)
        t[0] += 19 * c;
    else
        t[i + 1] += c;
}

/* Carry 64-bit column sums t (|t_i| < 2^62) into carried limbs h. Two chains,
 * from limb 0 and from limb 4, run interleaved to halve the dependency depth;
 * limb 4 is carried a second time to pass on what it received from limb 3, and
 * limb 0 to pass on 19 times the carry out of limb 9 (at most 2^43). */
static void fe_carry64(fe h, int64_t t[10])
{
    fe_carry_limb(t, 0), fe_carry_limb(t, 4);
    fe_carry_limb(t, 1), fe_carry_limb(t, 5);
    fe_carry_limb(t, 2), fe_carry_limb(t, 6);
    fe_carry_limb(t, 3), fe_carry_limb(t, 7);
    fe_carry_limb(t, 4), fe_carry_limb(t, 8);
    fe_carry_limb(t, 9);
    fe_carry_limb(t, 0);
    for (int i = 0; i < 10; i++)
        h[i] = (int32_t)t[i];
}

/* Bring sums of a few carried values (|limb| < 2^30) back to carried form. */
static void fe_carry(fe h, const fe f)
{
    int64_t t[10];
    for (int i = 0; i < 10; i++)
        t[i] = f[i];
    fe_carry64(h, t);
}

/* h = f * g. Schoolbook on limbs: f_i g_j lands in column i + j, with weight
 * 2^(ceil(25.5 i) + ceil(25.5 j)). That is one bit more than the column's weight
 * when i and j are both odd (hence the doubled f_odd), and columns 10..18 wrap
 * around to 0..8 times 19 (hence g_j * 19). 100 products. h may alias f or g. */
static void fe_mul(fe h, const fe f, const fe g)
{
    int32_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
    int32_t f5 = f[5], f6 = f[6], f7 = f[7], f8 = f[8], f9 = f[9];
    int32_t g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4];
    int32_t g5 = g[5], g6 = g[6], g7 = g[7], g8 = g[8], g9 = g[9];
    int32_t f1_2 = 2 * f1, f3_2 = 2 * f3, f5_2 = 2 * f5, f7_2 = 2 * f7, f9_2 = 2 * f9;
    int32_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
    int32_t g5_19 = 19 * g5, g6_19 = 19 * g6, g7_19 = 19 * g7, g8_19 = 19 * g8;
    int32_t g9_19 = 19 * g9;
    int64_t t[10];
    t[0] = FE_M(f0, g0) + FE_M(f1_2, g9_19) + FE_M(f2, g8_19) + FE_M(f3_2, g7_19) +
           FE_M(f4, g6_19) + FE_M(f5_2, g5_19) + FE_M(f6, g4_19) + FE_M(f7_2, g3_19) +
           FE_M(f8, g2_19) + FE_M(f9_2, g1_19);
    t[1] = FE_M(f0, g1) + FE_M(f1, g0) + FE_M(f2, g9_19) + FE_M(f3, g8_19) + FE_M(f4, g7_19) +
           FE_M(f5, g6_19) + FE_M(f6, g5_19) + FE_M(f7, g4_19) + FE_M(f8, g3_19) + FE_M(f9, g2_19);
    t[2] = FE_M(f0, g2) + FE_M(f1_2, g1) + FE_M(f2, g0) + FE_M(f3_2, g9_19) + FE_M(f4, g8_19) +
           FE_M(f5_2, g7_19) + FE_M(f6, g6_19) + FE_M(f7_2, g5_19) + FE_M(f8, g4_19) +
           FE_M(f9_2, g3_19);
    t[3] = FE_M(f0, g3) + FE_M(f1, g2) + FE_M(f2, g1) + FE_M(f3, g0) + FE_M(f4, g9_19) +
           FE_M(f5, g8_19) + FE_M(f6, g7_19) + FE_M(f7, g6_19) + FE_M(f8, g5_19) + FE_M(f9, g4_19);
    t[4] = FE_M(f0, g4) + FE_M(f1_2, g3) + FE_M(f2, g2) + FE_M(f3_2, g1) + FE_M(f4, g0) +
           FE_M(f5_2, g9_19) + FE_M(f6, g8_19) + FE_M(f7_2, g7_19) + FE_M(f8, g6_19) +
           FE_M(f9_2, g5_19);
    t[5] = FE_M(f0, g5) + FE_M(f1, g4) + FE_M(f2, g3) + FE_M(f3, g2) + FE_M(f4, g1) + FE_M(f5, g0) +
           FE_M(f6, g9_19) + FE_M(f7, g8_19) + FE_M(f8, g7_19) + FE_M(f9, g6_19);
    t[6] = FE_M(f0, g6) + FE_M(f1_2, g5) + FE_M(f2, g4) + FE_M(f3_2, g3) + FE_M(f4, g2) +
           FE_M(f5_2, g1) + FE_M(f6, g0) + FE_M(f7_2, g9_19) + FE_M(f8, g8_19) + FE_M(f9_2, g7_19);
    t[7] = FE_M(f0, g7) + FE_M(f1, g6) + FE_M(f2, g5) + FE_M(f3, g4) + FE_M(f4, g3) + FE_M(f5, g2) +
           FE_M(f6, g1) + FE_M(f7, g0) + FE_M(f8, g9_19) + FE_M(f9, g8_19);
    t[8] = FE_M(f0, g8) + FE_M(f1_2, g7) + FE_M(f2, g6) + FE_M(f3_2, g5) + FE_M(f4, g4) +
           FE_M(f5_2, g3) + FE_M(f6, g2) + FE_M(f7_2, g1) + FE_M(f8, g0) + FE_M(f9_2, g9_19);
    t[9] = FE_M(f0, g9) + FE_M(f1, g8) + FE_M(f2, g7) + FE_M(f3, g6) + FE_M(f4, g5) + FE_M(f5, g4) +
           FE_M(f6, g3) + FE_M(f7, g2) + FE_M(f8, g1) + FE_M(f9, g0);
    fe_carry64(h, t);
}

/* h = f^2: fe_mul's columns with each cross term f_i f_j (i < j) taken once and
 * doubled, 55 products instead of 100. Factors stay within int32: at most
 * 4 f_i on the left and 19 f_j on the right. */
static void fe_sq(fe h, const fe f)
{
    int32_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
    int32_t f5 = f[5], f6 = f[6], f7 = f[7], f8 = f[8], f9 = f[9];
    int32_t f0_2 = 2 * f0, f1_2 = 2 * f1, f2_2 = 2 * f2, f3_2 = 2 * f3, f4_2 = 2 * f4;
    int32_t f5_2 = 2 * f5, f6_2 = 2 * f6, f7_2 = 2 * f7, f8_2 = 2 * f8, f9_2 = 2 * f9;
    int32_t f1_4 = 4 * f1, f3_4 = 4 * f3, f5_4 = 4 * f5, f7_4 = 4 * f7;
    int32_t f5_19 = 19 * f5, f6_19 = 19 * f6, f7_19 = 19 * f7, f8_19 = 19 * f8;
    int32_t f9_19 = 19 * f9;
    int64_t t[10];
    t[0] = FE_M(f0, f0) + FE_M(f1_4, f9_19) + FE_M(f2_2, f8_19) + FE_M(f3_4, f7_19) +
           FE_M(f4_2, f6_19) + FE_M(f5_2, f5_19);
    t[1] = FE_M(f0_2, f1) + FE_M(f2_2, f9_19) + FE_M(f3_2, f8_19) + FE_M(f4_2, f7_19) +
           FE_M(f5_2, f6_19);
    t[2] = FE_M(f0_2, f2) + FE_M(f1_2, f1) + FE_M(f3_4, f9_19) + FE_M(f4_2, f8_19) +
           FE_M(f5_4, f7_19) + FE_M(f6, f6_19);
    t[3] =
        FE_M(f0_2, f3) + FE_M(f1_2, f2) + FE_M(f4_2, f9_19) + FE_M(f5_2, f8_19) + FE_M(f6_2, f7_19);
    t[4] = FE_M(f0_2, f4) + FE_M(f1_4, f3) + FE_M(f2, f2) + FE_M(f5_4, f9_19) + FE_M(f6_2, f8_19) +
           FE_M(f7_2, f7_19);
    t[5] = FE_M(f0_2, f5) + FE_M(f1_2, f4) + FE_M(f2_2, f3) + FE_M(f6_2, f9_19) + FE_M(f7_2, f8_19);
    t[6] = FE_M(f0_2, f6) + FE_M(f1_4, f5) + FE_M(f2_2, f4) + FE_M(f3_2, f3) + FE_M(f7_4, f9_19) +
           FE_M(f8, f8_19);
    t[7] = FE_M(f0_2, f7) + FE_M(f1_2, f6) + FE_M(f2_2, f5) + FE_M(f3_2, f4) + FE_M(f8_2, f9_19);
    t[8] = FE_M(f0_2, f8) + FE_M(f1_4, f7) + FE_M(f2_2, f6) + FE_M(f3_4, f5) + FE_M(f4, f4) +
           FE_M(f9_2, f9_19);
    t[9] = FE_M(f0_2, f9) + FE_M(f1_2, f8) + FE_M(f2_2, f7) + FE_M(f3_2, f6) + FE_M(f4_2, f5);
    fe_carry64(h, t);
}

/* h = f^(2^n), n >= 1. */
static void fe_sqn(fe h, const fe f, int n)
{
    fe_sq(h, f);
    while (--n > 0)
        fe_sq(h, h);
}

/* Load 32 little-endian bytes, ignoring bit 255 (RFC 8032 5.1.3 takes the sign of
 * x from it). Limb i is bits [ceil(25.5 i), +width) and always sits inside one
 * 32-bit load. The result is carried. The value may be >= p. */
static void fe_frombytes(fe h, const uint8_t s[32])
{
    int pos = 0;
    for (int i = 0; i < 10; i++) {
        uint32_t v = ld32_le(s + pos / 8) >> (pos % 8);
        h[i] = (int32_t)(v & ((1u << fe_width[i]) - 1));
        pos += fe_width[i];
    }
    fe_carry(h, h);
}

/* Store the canonical encoding (value in [0, p)) of f, |limbs| < 2^30.
 * 1. Two passes of floor carries (the top carry re-entering limb 0 times 19) give
 *    limbs in [0, 2^width): after the first pass only limb 0 can be out of range,
 *    so the second pass carries at most +-1 through the limbs, and if that
 *    carry leaves limb 9 it has rippled through all of them, leaving limb 0 far
 *    enough from its bounds to absorb +-19. Now 0 <= v < 2^255.
 * 2. v >= p exactly when v + 19 >= 2^255: compute v + 19 and keep it (minus
 *    2^255) when that carry is set, by mask, not by branch. */
static void fe_tobytes(uint8_t s[32], const fe f)
{
    int32_t h[10], g[10], c = 0;
    fe_copy(h, f);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 9; i++) {
            c = h[i] >> fe_width[i];
            h[i] &= (1 << fe_width[i]) - 1;
            h[i + 1] += c;
        }
        c = h[9] >> 25;
        h[9] &= (1 << 25) - 1;
        h[0] += 19 * c;
    }
    c = 19;
    for (int i = 0; i < 10; i++) {
        g[i] = h[i] + c;
        c = g[i] >> fe_width[i];
        g[i] &= (1 << fe_width[i]) - 1;
    }
    fe_cmov(h, g, (uint32_t)c); /* c = carry out of bit 255 of v + 19 */
    uint64_t acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < 10; i++) {
        acc |= (uint64_t)(uint32_t)h[i] << bits;
        for (bits += fe_width[i]; bits >= 8; bits -= 8, acc >>= 8)
            s[o++] = (uint8_t)acc;
    }
    s[31] = (uint8_t)acc; /* the last 7 bits */
    wipe(h, sizeof h);
    wipe(g, sizeof g);
}

/* Low bit of the canonical value: the "sign" of x in RFC 8032 5.1.2. */
static uint32_t fe_isneg(const fe f)
{
    uint8_t s[32];
    fe_tobytes(s, f);
    uint32_t r = s[0] & 1u;
    wipe(s, sizeof s);
    return r;
}

/* 1 if f = 0 (mod p), else 0. Constant time. */
static uint32_t fe_iszero(const fe f)
{
    uint8_t s[32], acc = 0;
    fe_tobytes(s, f);
    for (int i = 0; i < 32; i++)
        acc |= s[i];
    return ((uint32_t)acc - 1) >> 31;
}

/* z^(2^250 - 1) and z^11: the common head of the two exponentiations below.
 * Addition chain: z^2, z^9 = (z^2)^4 z, z^11, then z^(2^k - 1) for
 * k = 5, 10, 20, 40, 50, 100, 200, 250 by square-and-multiply
 * (2^(a+b) - 1 = (2^a - 1) 2^b + (2^b - 1)): 249 squarings, 10 multiplications. */
static void fe_pow250(fe z250, fe z11, const fe z)
{
    fe z2, z9, a, b, c;
    fe_sq(z2, z);
    fe_sqn(a, z2, 2);
    fe_mul(z9, a, z);
    fe_mul(z11, z9, z2);
    fe_sq(a, z11);
    fe_mul(a, a, z9); /* z^(2^5 - 1) = z^22 * z^9 */
    fe_sqn(b, a, 5);
    fe_mul(b, b, a); /* 2^10 - 1 */
    fe_sqn(c, b, 10);
    fe_mul(c, c, b); /* 2^20 - 1 */
    fe_sqn(z250, c, 20);
    fe_mul(z250, z250, c); /* 2^40 - 1 */
    fe_sqn(z250, z250, 10);
    fe_mul(a, z250, b); /* 2^50 - 1 */
    fe_sqn(b, a, 50);
    fe_mul(b, b, a); /* 2^100 - 1 */
    fe_sqn(c, b, 100);
    fe_mul(c, c, b); /* 2^200 - 1 */
    fe_sqn(c, c, 50);
    fe_mul(z250, c, a); /* 2^250 - 1 */
}

/* h = 1/z = z^(p-2) = z^(2^255 - 21) (Fermat); 0 maps to 0. */
static void fe_invert(fe h, const fe z)
{
    fe t, z11;
    fe_pow250(t, z11, z);
    fe_sqn(t, t, 5); /* z^(2^255 - 32) */
    fe_mul(h, t, z11);
}

/* h = z^((p-5)/8) = z^(2^252 - 3), the exponent of the square-root trick in
 * RFC 8032 5.1.3 step 3. */
static void fe_pow2523(fe h, const fe z)
{
    fe t, z11;
    fe_pow250(t, z11, z);
    fe_sqn(t, t, 2); /* z^(2^252 - 4) */
    fe_mul(h, t, z);
}

/* ---- x25519: RFC 7748 5, the Montgomery ladder on the same field ----
 * For SSH's curve25519-sha256 and TLS's X25519 (ci_ec). Constant time: the
 * ladder runs all 255 steps, and the swaps are masks (fe_cswap). Limb bounds:
 * every fe_mul/fe_sq input is a carried value or the sum or difference of
 * two, as the fe_ comment asks. */
static void fe_cswap(fe f, fe g, uint32_t b)
{
    int32_t mask = -(int32_t)b;
    for (int i = 0; i < 10; i++) {
        int32_t x = mask & (f[i] ^ g[i]);
        f[i] ^= x, g[i] ^= x;
    }
}

/* out = X25519(scalar, u); out may alias u. Bit 255 of u is ignored and
 * the scalar is clamped (RFC 7748 5). */
static void x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t u[32])
{
    static const fe a24 = {121665};
    uint8_t k[32];
    fe x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d;
    uint32_t swap = 0;
    memcpy(k, scalar, 32);
    k[0] &= 248, k[31] &= 127, k[31] |= 64;
    fe_frombytes(x1, u);
    fe_1(x2), fe_0(z2), fe_copy(x3, x1), fe_1(z3);
    for (int t = 254; t >= 0; t--) {
        uint32_t bit = (uint32_t)(k[t >> 3] >> (t & 7)) & 1;
        swap ^= bit;
        fe_cswap(x2, x3, swap), fe_cswap(z2, z3, swap);
        swap = bit;
        fe_add(a, x2, z2), fe_sq(aa, a);
        fe_sub(b, x2, z2), fe_sq(bb, b);
        fe_sub(e, aa, bb);
        fe_add(c, x3, z3), fe_sub(d, x3, z3);
        fe_mul(d, d, a);                 /* DA */
        fe_mul(c, c, b);                 /* CB */
        fe_add(x3, d, c), fe_sq(x3, x3); /* (DA + CB)^2 */
        fe_sub(z3, d, c), fe_sq(z3, z3); /* (DA - CB)^2 */
        fe_mul(z3, z3, x1);
        fe_mul(x2, aa, bb);
        fe_mul(z2, e, a24), fe_add(z2, z2, aa), fe_mul(z2, z2, e); /* E (AA + a24 E) */
    }
    fe_cswap(x2, x3, swap), fe_cswap(z2, z3, swap);
    fe_invert(z2, z2);
    fe_mul(x2, x2, z2);
    fe_tobytes(out, x2);
    wipe(k, sizeof k);
    wipe(x2, sizeof x2), wipe(z2, sizeof z2), wipe(x3, sizeof x3), wipe(z3, sizeof z3);
}

/* ---- ge_: points of edwards25519 ----
 * Curve constants as 32-byte little-endian integers, computed with Python's
 * pow() from their definitions in RFC 8032 5.1 and checked again by crypto_test:
 *   d = -121665/121666 mod p; d2 = 2d; sqrt(-1) = 2^((p-1)/4) mod p;
 *   B = (x, 4/5) with x the even root of x^2 = (y^2 - 1)/(d y^2 + 1). */
static const uint8_t ge_d[32] = {0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41,
                                 0x41, 0x4d, 0x0a, 0x70, 0x00, 0x98, 0xe8, 0x79, 0x77, 0x79, 0x40,
                                 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52};
static const uint8_t ge_d2[32] = {0x59, 0xf1, 0xb2, 0x26, 0x94, 0x9b, 0xd6, 0xeb, 0x56, 0xb1, 0x83,
                                  0x82, 0x9a, 0x14, 0xe0, 0x00, 0x30, 0xd1, 0xf3, 0xee, 0xf2, 0x80,
                                  0x8e, 0x19, 0xe7, 0xfc, 0xdf, 0x56, 0xdc, 0xd9, 0x06, 0x24};
static const uint8_t ge_sqrtm1[32] = {
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b};
static const uint8_t ge_bx[32] = {0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25,
                                  0x95, 0x60, 0xc7, 0x2c, 0x69, 0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2,
                                  0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21};
static const uint8_t ge_by[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};

/* Extended coordinates (Hisil, Wong, Carter, Dawson 2008): x = X/Z, y = Y/Z,
 * x y = T/Z. The a = -1 formulas used here are complete on this curve (d is not
 * a square), so identity, doubling and P + (-P) need no special case. */
typedef struct {
    fe X, Y, Z, T;
} ge;
/* An addend prepared for ge_add: (Y+X, Y-X, Z, 2d T). */
typedef struct {
    fe YpX, YmX, Z, T2d;
} ge_cached;

static void ge_identity(ge *p)
{
    fe_0(p->X);
    fe_1(p->Y);
    fe_1(p->Z);
    fe_0(p->T);
}

static void ge_base(ge *p)
{
    fe_frombytes(p->X, ge_bx);
    fe_frombytes(p->Y, ge_by);
    fe_1(p->Z);
    fe_mul(p->T, p->X, p->Y);
}

static void ge_to_cached(ge_cached *c, const ge *p)
{
    fe d2;
    fe_frombytes(d2, ge_d2);
    fe_add(c->YpX, p->Y, p->X);
    fe_sub(c->YmX, p->Y, p->X);
    fe_copy(c->Z, p->Z);
    fe_mul(c->T2d, p->T, d2);
}

/* -q: swap Y+X and Y-X, negate 2dT (since -(x, y) = (-x, y)). */
static void ge_cached_neg(ge_cached *r, const ge_cached *q)
{
    fe t;
    fe_copy(t, q->YpX);
    fe_copy(r->YpX, q->YmX);
    fe_copy(r->YmX, t);
    fe_copy(r->Z, q->Z);
    fe_neg(r->T2d, q->T2d);
}

/* r = p + q, "add-2008-hwcd-3" (a = -1) with 2d folded into q: 8M.
 *   A = (Y1-X1)(Y2-X2)  B = (Y1+X1)(Y2+X2)  C = T1 2d T2  D = 2 Z1 Z2
 *   E = B-A  F = D-C  G = D+C  H = B+A  X3 = EF  Y3 = GH  T3 = EH  Z3 = FG
 * Inputs carried (q's fields are sums of two); F and G are <= 1.5 * 2^26. r may
 * alias p. */
static void ge_add(ge *r, const ge *p, const ge_cached *q)
{
    fe a, b, c, d, e, f, g, h;
    fe_sub(a, p->Y, p->X);
    fe_mul(a, a, q->YmX);
    fe_add(b, p->Y, p->X);
    fe_mul(b, b, q->YpX);
    fe_mul(c, p->T, q->T2d);
    fe_mul(d, p->Z, q->Z);
    fe_add(d, d, d);
    fe_sub(e, b, a);
    fe_sub(f, d, c);
    fe_add(g, d, c);
    fe_add(h, b, a);
    fe_mul(r->X, e, f);
    fe_mul(r->Y, g, h);
    fe_mul(r->T, e, h);
    fe_mul(r->Z, f, g);
}

/* r = 2p, "dbl-2008-hwcd" (a = -1), 4M + 4S, T1 unused. Written with E, F, G, H
 * all negated, which leaves the products unchanged:
 *   A = X1^2  B = Y1^2  C = 2 Z1^2  H = A+B  E = H-(X1+Y1)^2  G = A-B  F = C+G
 *   X3 = EF  Y3 = GH  T3 = EH  Z3 = FG
 * F = C + G could reach 2^27, so it is carried. T3 costs one more multiplication
 * and is computed only if want_t (a following ge_add reads it; a following ge_dbl
 * does not). r may alias p. */
static void ge_dbl(ge *r, const ge *p, int want_t)
{
    fe a, b, c, e, f, g, h;
    fe_sq(a, p->X);
    fe_sq(b, p->Y);
    fe_sq(c, p->Z);
    fe_add(c, c, c);
    fe_add(h, a, b);
    fe_add(e, p->X, p->Y);
    fe_sq(e, e);
    fe_sub(e, h, e);
    fe_sub(g, a, b);
    fe_add(f, c, g);
    fe_carry(f, f);
    fe_mul(r->X, e, f);
    fe_mul(r->Y, g, h);
    fe_mul(r->Z, f, g);
    if (want_t) fe_mul(r->T, e, h); /* want_t is public: fixed by the algorithm */
}

/* RFC 8032 5.1.2: 32 bytes = y (little endian) with the low bit of x in bit 255. */
static void ge_tobytes(uint8_t s[32], const ge *p)
{
    fe zi, x, y;
    fe_invert(zi, p->Z);
    fe_mul(x, p->X, zi);
    fe_mul(y, p->Y, zi);
    fe_tobytes(s, y);
    s[31] = (uint8_t)(s[31] ^ (fe_isneg(x) << 7));
    wipe(zi, sizeof zi);
    wipe(x, sizeof x);
    wipe(y, sizeof y);
}

/* RFC 8032 5.1.3 point decoding, for public keys only (variable time). Rejects
 * y >= p, x^2 = (y^2 - 1)/(d y^2 + 1) without square root, and x = 0 with the
 * sign bit set. Returns 0 or -1. */
static int ge_frombytes_vartime(ge *p, const uint8_t s[32])
{
    fe u, v, v3, t, chk;
    uint8_t back[32];
    unsigned sign = s[31] >> 7;

    fe_frombytes(p->Y, s);
    fe_tobytes(back, p->Y); /* canonical iff re-encoding gives the same 255 bits */
    back[31] = (uint8_t)(back[31] | (sign << 7));
    if (memcmp(back, s, 32) != 0) return -1;

    fe_frombytes(t, ge_d);
    fe_sq(u, p->Y);
    fe_mul(v, u, t);
    fe_1(t);
    fe_sub(u, u, t); /* u = y^2 - 1 */
    fe_add(v, v, t); /* v = d y^2 + 1 */
    fe_sq(v3, v);
    fe_mul(v3, v3, v); /* v^3 */
    fe_sq(t, v3);
    fe_mul(t, t, v);
    fe_mul(t, t, u); /* u v^7 */
    fe_pow2523(t, t);
    fe_mul(t, t, v3);
    fe_mul(p->X, t, u); /* x = u v^3 (u v^7)^((p-5)/8) */

    fe_sq(chk, p->X);
    fe_mul(chk, chk, v); /* v x^2 */
    fe_sub(t, chk, u);
    if (!fe_iszero(t)) {
        fe_add(t, chk, u);
        if (!fe_iszero(t)) return -1; /* v x^2 != +-u: u/v is not a square */
        fe_frombytes(t, ge_sqrtm1);
        fe_mul(p->X, p->X, t);
    }
    if (fe_iszero(p->X) && sign) return -1;
    if (fe_isneg(p->X) != sign) fe_neg(p->X, p->X);
    fe_1(p->Z);
    fe_mul(p->T, p->X, p->Y);
    return 0;
}

/* t = e * q for e in [-8, 8], choosing from tab[j] = (j+1) q in constant time:
 * every entry is read, and the match and the sign are applied by mask. */
static void ge_select(ge_cached *t, const ge_cached tab[8], int e)
{
    uint32_t neg = (uint32_t)e >> 31;
    uint32_t abs = ((uint32_t)e ^ (0u - neg)) + neg;
    fe mt;
    fe_1(t->YpX);
    fe_1(t->YmX);
    fe_1(t->Z);
    fe_0(t->T2d); /* the identity */
    for (uint32_t j = 1; j <= 8; j++) {
        uint32_t eq = ((abs ^ j) - 1) >> 31;
        fe_cmov(t->YpX, tab[j - 1].YpX, eq);
        fe_cmov(t->YmX, tab[j - 1].YmX, eq);
        fe_cmov(t->Z, tab[j - 1].Z, eq);
        fe_cmov(t->T2d, tab[j - 1].T2d, eq);
    }
    fe_copy(mt, t->YpX); /* negate: swap Y+X and Y-X, negate 2dT, if neg */
    fe_cmov(t->YpX, t->YmX, neg);
    fe_cmov(t->YmX, mt, neg);
    fe_neg(mt, t->T2d);
    fe_cmov(t->T2d, mt, neg);
    wipe(mt, sizeof mt);
}

/* r = a B for a secret 256-bit a (a < 2^255), in constant time. Fixed window:
 * a = sum e_i 16^i with signed digits e_i in [-8, 8) (e_63 in [0, 8]), so
 * 63 x 4 doublings and 64 additions of a table entry picked by ge_select. */
static void ge_scalarmult_base(ge *r, const uint8_t a[32])
{
    int8_t e[64];
    int carry = 0;
    ge_cached tab[8], t;
    ge p;

    for (int i = 0; i < 32; i++) {
        e[2 * i] = (int8_t)(a[i] & 15);
        e[2 * i + 1] = (int8_t)(a[i] >> 4);
    }
    for (int i = 0; i < 63; i++) { /* recode digits in [0, 16) to [-8, 8) */
        int v = e[i] + carry;      /* in [0, 16] */
        carry = (v + 8) >> 4;      /* v >= 8: use v - 16, carry 1 upward */
        e[i] = (int8_t)(v - 16 * carry);
    }
    e[63] = (int8_t)(e[63] + carry);

    ge_base(&p);
    ge_to_cached(&tab[0], &p);
    for (int j = 1; j < 8; j++) { /* tab[j] = (j+1) B; public, not wiped */
        ge_add(&p, &p, &tab[0]);
        ge_to_cached(&tab[j], &p);
    }
    ge_identity(r);
    for (int i = 63; i >= 0; i--) {
        if (i != 63) {
            ge_dbl(r, r, 0);
            ge_dbl(r, r, 0);
            ge_dbl(r, r, 0);
            ge_dbl(r, r, 1);
        }
        ge_select(&t, tab, e[i]);
        ge_add(r, r, &t);
    }
    wipe(e, sizeof e);
    wipe(&t, sizeof t);
}

/* Width-5 NAF of a 253-bit scalar (value < 2^253): naf[i] is 0 or odd in
 * [-15, 15], sum naf[i] 2^i = s, and any nonzero digit is followed by at least
 * four zeros. A window starts at the lowest bit that is 1 after the pending carry;
 * digits >= 16 become negative and carry 1 upward. For s < 2^253 no digit lands
 * above bit 253. Variable time: public scalars only. */
static void sc_wnaf_vartime(int8_t naf[256], const uint8_t s[32])
{
    int carry = 0;
    memset(naf, 0, 256);
    for (int i = 0; i < 256;) {
        if (((s[i / 8] >> (i % 8)) & 1) == carry) {
            i++;
            continue;
        }
        int w = 0;
        for (int b = 4; b >= 0; b--) {
            int j = i + b;
            w = 2 * w + (j < 256 ? (s[j / 8] >> (j % 8)) & 1 : 0);
        }
        w += carry;     /* odd, in [1, 31] */
        carry = w >> 4; /* w >= 16: use w - 32 and carry into bit i + 5 */
        naf[i] = (int8_t)(w - 32 * carry);
        i += 5;
    }
}

/* r = a A + b B, variable time (ed_verify: all inputs public), a, b < 2^253.
 * Joint double-and-add over width-5 NAFs with tables of the odd multiples
 * A, 3A, ..., 15A and the same for B: 253 doublings, about 2 x 253/6 additions. */
static void ge_double_scalarmult_vartime(ge *r, const uint8_t a[32], const ge *A,
                                         const uint8_t b[32])
{
    int8_t na[256], nb[256];
    ge_cached ta[8], tb[8], tmp;
    ge p2, q, B;

    sc_wnaf_vartime(na, a);
    sc_wnaf_vartime(nb, b);
    ge_base(&B);
    for (int k = 0; k < 2; k++) { /* t[j] = (2j+1) P */
        const ge *P = k ? &B : A;
        ge_cached *t = k ? tb : ta;
        ge_to_cached(&t[0], P);
        ge_dbl(&p2, P, 1);
        ge_to_cached(&tmp, &p2);
        q = *P;
        for (int j = 1; j < 8; j++) {
            ge_add(&q, &q, &tmp);
            ge_to_cached(&t[j], &q);
        }
    }
    int i = 255;
    while (i >= 0 && !na[i] && !nb[i])
        i--;
    ge_identity(r);
    for (; i >= 0; i--) {
        ge_dbl(r, r, na[i] || nb[i]);
        if (na[i] > 0) ge_add(r, r, &ta[na[i] / 2]);
        if (na[i] < 0) {
            ge_cached_neg(&tmp, &ta[-na[i] / 2]);
            ge_add(r, r, &tmp);
        }
        if (nb[i] > 0) ge_add(r, r, &tb[nb[i] / 2]);
        if (nb[i] < 0) {
            ge_cached_neg(&tmp, &tb[-nb[i] / 2]);
            ge_add(r, r, &tmp);
        }
    }
    /* r->T may be stale after a final doubling; ge_tobytes does not read it */
}

/* ---- sc_: integers mod L = 2^252 + 27742317777372353535851937790883648493 ----
 * As 32-bit little-endian limbs, with mu = floor(2^512 / L) for Barrett reduction
 * (Menezes, van Oorschot, Vanstone, Handbook of Applied Cryptography, 14.42,
 * base b = 2^32, k = 8). Both computed with Python from the definition of L. */
static const uint32_t sc_L[9] = {0x5cf5d3ed, 0x5812631a, 0xa2f79cd6, 0x14def9de, 0x00000000,
                                 0x00000000, 0x00000000, 0x10000000, 0x00000000};
static const uint32_t sc_mu[9] = {0x0a2c131b, 0xed9ce5a3, 0x086329a7, 0x2106215d, 0xffffffeb,
                                  0xffffffff, 0xffffffff, 0xffffffff, 0x0000000f};

/* r = r - L if r >= L, in constant time (r has 9 limbs, r < 2^288). */
static void sc_cond_sub(uint32_t r[9])
{
    uint32_t t[9], borrow = 0;
    for (int i = 0; i < 9; i++) {
        uint64_t d = (uint64_t)r[i] - sc_L[i] - borrow;
        t[i] = (uint32_t)d;
        borrow = (uint32_t)(d >> 63);
    }
    uint32_t keep = 0u - borrow; /* borrow: r < L, keep r */
    for (int i = 0; i < 9; i++)
        r[i] = (r[i] & keep) | (t[i] & ~keep);
}

/* out = x mod L for x < 2^512 (16 limbs), constant time. HAC 14.42:
 * q3 = floor(floor(x / b^7) mu / b^9) is at most 2 below floor(x / L), so
 * r = x - q3 L, computed mod b^9, lies in [0, 3L) and two conditional
 * subtractions finish. Wipes x. */
static void sc_barrett(uint8_t out[32], uint32_t x[16])
{
    uint32_t q[18] = {0}, r[9] = {0}, borrow = 0;
    for (int i = 0; i < 9; i++) { /* q = x[7..15] * mu */
        uint64_t c = 0;
        for (int j = 0; j < 9; j++) {
            c += (uint64_t)x[7 + i] * sc_mu[j] + q[i + j];
            q[i + j] = (uint32_t)c;
            c >>= 32;
        }
        q[i + 9] = (uint32_t)c;
    }
    for (int i = 0; i < 9; i++) { /* r = q[9..17] * L mod b^9 */
        uint64_t c = 0;
        for (int j = 0; i + j < 9; j++) {
            c += (uint64_t)q[9 + i] * sc_L[j] + r[i + j];
            r[i + j] = (uint32_t)c;
            c >>= 32;
        }
    }
    for (int i = 0; i < 9; i++) { /* r = x - r mod b^9 */
        uint64_t d = (uint64_t)x[i] - r[i] - borrow;
        r[i] = (uint32_t)d;
        borrow = (uint32_t)(d >> 63);
    }
    sc_cond_sub(r);
    sc_cond_sub(r);
    for (int i = 0; i < 8; i++)
        st32_le(out + 4 * i, r[i]);
    wipe(q, sizeof q);
    wipe(r, sizeof r);
    wipe(x, 16 * sizeof x[0]);
}

/* out = (64-byte little-endian integer) mod L: for SHA-512 outputs. */
static void sc_reduce(uint8_t out[32], const uint8_t in[64])
{
    uint32_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = ld32_le(in + 4 * i);
    sc_barrett(out, x);
}

/* out = (a b + c) mod L for 32-byte a, b, c (then a b + c < 2^512). */
static void sc_muladd(uint8_t out[32], const uint8_t a[32], const uint8_t b[32],
                      const uint8_t c[32])
{
    uint32_t x[16] = {0}, al[8], bl[8];
    for (int i = 0; i < 8; i++) {
        al[i] = ld32_le(a + 4 * i);
        bl[i] = ld32_le(b + 4 * i);
        x[i] = ld32_le(c + 4 * i);
    }
    for (int i = 0; i < 8; i++) {
        uint64_t t = 0;
        for (int j = 0; j < 8; j++) {
            t += (uint64_t)al[i] * bl[j] + x[i + j];
            x[i + j] = (uint32_t)t;
            t >>= 32;
        }
        x[i + 8] = (uint32_t)t; /* row i - 1 stopped at x[i + 7] */
    }
    sc_barrett(out, x);
    wipe(al, sizeof al);
    wipe(bl, sizeof bl);
}

/* 1 if s < L (a canonical scalar, RFC 8032 5.1.7 step 1), else 0. */
static int sc_is_canonical(const uint8_t s[32])
{
    uint32_t borrow = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t d = (uint64_t)ld32_le(s + 4 * i) - sc_L[i] - borrow;
        borrow = (uint32_t)(d >> 63);
    }
    return (int)borrow;
}

/* ---- ed_: Ed25519, RFC 8032 5.1 ---- */

/* SHA-512 of up to three pieces; RFC 8032 hashes dom || R || A || M with an
 * empty dom for Ed25519. */
static void ed_hash(uint8_t out[64], const void *a, size_t na, const void *b, size_t nb,
                    const void *c, size_t nc)
{
    br_sha512_context h;
    br_sha512_init(&h);
    if (na) br_sha512_update(&h, a, na); /* skip empty pieces: they may be NULL */
    if (nb) br_sha512_update(&h, b, nb);
    if (nc) br_sha512_update(&h, c, nc);
    br_sha512_out(&h, out);
    wipe(&h, sizeof h);
}

/* 5.1.5: h = SHA-512(seed); the scalar a is h[0..31] with bits 0-2 and 255
 * cleared and bit 254 set; h[32..63] is the prefix that keys the nonce. */
static void ed_expand(uint8_t az[64], const uint8_t seed[32])
{
    ed_hash(az, seed, 32, NULL, 0, NULL, 0);
    az[0] &= 248;
    az[31] &= 127;
    az[31] |= 64;
}

/* pk = encode(a B) (5.1.5). */
static void ed_pubkey(uint8_t pk[32], const uint8_t seed[32])
{
    uint8_t az[64];
    ge A;
    ed_expand(az, seed);
    ge_scalarmult_base(&A, az);
    ge_tobytes(pk, &A);
    wipe(az, sizeof az);
    wipe(&A, sizeof A);
}

/* 5.1.6: r = SHA-512(prefix || M) mod L, R = r B, k = SHA-512(R || A || M) mod L,
 * S = (r + k a) mod L, signature R || S. Deterministic; constant time in seed, r
 * and a. pk must be ed_pubkey(seed): it is hashed as given, and two signatures of
 * one message under different pk (same r, different k) would reveal a. sig must
 * not overlap m. */
static void ed_sign(uint8_t sig[64], const uint8_t seed[32], const uint8_t pk[32], const uint8_t *m,
                    size_t n)
{
    uint8_t az[64], h[64], r[32], k[32];
    ge R;
    ed_expand(az, seed);
    ed_hash(h, az + 32, 32, m, n, NULL, 0);
    sc_reduce(r, h);
    ge_scalarmult_base(&R, r);
    ge_tobytes(sig, &R);
    ed_hash(h, sig, 32, pk, 32, m, n);
    sc_reduce(k, h);
    sc_muladd(sig + 32, k, az, r);
    wipe(az, sizeof az);
    wipe(h, sizeof h);
    wipe(r, sizeof r);
    wipe(&R, sizeof R);
}

/* 5.1.7, cofactorless: accept iff S < L, A decodes, and
 * encode([S]B - [k]A) = R with k = SHA-512(R || A || M) mod L. R itself is not
 * decoded: the left side is a canonical encoding of a curve point, so an R with
 * y >= p, without square root, or with x = 0 and the sign bit set never matches.
 * Returns 0 if valid, -1 if not. Variable time (all inputs are public). */
static int ed_verify(const uint8_t sig[64], const uint8_t pk[32], const uint8_t *m, size_t n)
{
    uint8_t h[64], k[32], rcheck[32];
    ge A, P;
    if (!sc_is_canonical(sig + 32)) return -1;
    if (ge_frombytes_vartime(&A, pk) != 0) return -1;
    fe_neg(A.X, A.X);
    fe_neg(A.T, A.T);
    ed_hash(h, sig, 32, pk, 32, m, n);
    sc_reduce(k, h);
    ge_double_scalarmult_vartime(&P, k, &A, sig + 32);
    ge_tobytes(rcheck, &P);
    return ct_cmp(rcheck, sig, 32);
}

/* ---- poly_: Poly1305, RFC 8439 2.5 ----
 * acc = ((acc + block + 2^(8 len)) r) mod 2^130 - 5 per 16-byte block, then
 * tag = (acc + s) mod 2^128, with r = clamp(key[0..15]), s = key[16..31].
 * Two limb layouts, same algorithm: poly_26 (five 26-bit limbs, 32x32->64
 * products) for 32-bit CPUs, poly_44 (three 44-bit limbs, 64x64->128) where the
 * compiler has unsigned __int128. 2^130 = 5 (mod p) folds the high columns back. */

/* RFC 8439 2.5: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff. */
static void poly_clamp(uint8_t r[16], const uint8_t key[16])
{
    memcpy(r, key, 16);
    r[3] &= 15;
    r[7] &= 15;
    r[11] &= 15;
    r[15] &= 15;
    r[4] &= 252;
    r[8] &= 252;
    r[12] &= 252;
}

struct poly26 {
    uint32_t r[5], h[5];
};

/* Absorb nb 16-byte blocks, each with 2^128 added if hibit (a full block). Limb i
 * is bits [26 i, 26 i + 26). Column k of h r gets h_i r_j for i + j = k, and
 * 5 h_i r_j for i + j = k + 5. With h_i < 2^27 and 5 r_j < 2^29 each column sum
 * is below 2^58. After the carry h_i < 2^26, except h_1 < 2^26 + 2^10. */
static void poly_26_blocks(struct poly26 *st, const uint8_t *m, size_t nb, uint32_t hibit)
{
    const uint32_t M = (1u << 26) - 1;
    uint32_t r0 = st->r[0], r1 = st->r[1], r2 = st->r[2], r3 = st->r[3], r4 = st->r[4];
    uint32_t s1 = 5 * r1, s2 = 5 * r2, s3 = 5 * r3, s4 = 5 * r4;
    uint32_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4];
    for (; nb > 0; nb--, m += 16) {
        h0 += ld32_le(m) & M;
        h1 += (ld32_le(m + 3) >> 2) & M;
        h2 += (ld32_le(m + 6) >> 4) & M;
        h3 += (ld32_le(m + 9) >> 6) & M;
        h4 += (ld32_le(m + 12) >> 8) | hibit;
        uint64_t d0 = (uint64_t)h0 * r0 + (uint64_t)h1 * s4 + (uint64_t)h2 * s3 +
                      (uint64_t)h3 * s2 + (uint64_t)h4 * s1;
        uint64_t d1 = (uint64_t)h0 * r1 + (uint64_t)h1 * r0 + (uint64_t)h2 * s4 +
                      (uint64_t)h3 * s3 + (uint64_t)h4 * s2;
        uint64_t d2 = (uint64_t)h0 * r2 + (uint64_t)h1 * r1 + (uint64_t)h2 * r0 +
                      (uint64_t)h3 * s4 + (uint64_t)h4 * s3;
        uint64_t d3 = (uint64_t)h0 * r3 + (uint64_t)h1 * r2 + (uint64_t)h2 * r1 +
                      (uint64_t)h3 * r0 + (uint64_t)h4 * s4;
        uint64_t d4 = (uint64_t)h0 * r4 + (uint64_t)h1 * r3 + (uint64_t)h2 * r2 +
                      (uint64_t)h3 * r1 + (uint64_t)h4 * r0;
        d1 += d0 >> 26;
        d2 += d1 >> 26;
        d3 += d2 >> 26;
        d4 += d3 >> 26;
        d0 = (d0 & M) + (d4 >> 26) * 5;
        h0 = (uint32_t)d0 & M;
        h1 = ((uint32_t)d1 & M) + (uint32_t)(d0 >> 26);
        h2 = (uint32_t)d2 & M;
        h3 = (uint32_t)d3 & M;
        h4 = (uint32_t)d4 & M;
    }
    st->h[0] = h0, st->h[1] = h1, st->h[2] = h2, st->h[3] = h3, st->h[4] = h4;
}

/* r from the key's first half, h = 0. */
static void poly_26_init(struct poly26 *st, const uint8_t key[32])
{
    const uint32_t M = (1u << 26) - 1;
    uint8_t r[16];
    poly_clamp(r, key);
    st->r[0] = ld32_le(r) & M;
    st->r[1] = (ld32_le(r + 3) >> 2) & M;
    st->r[2] = (ld32_le(r + 6) >> 4) & M;
    st->r[3] = (ld32_le(r + 9) >> 6) & M;
    st->r[4] = ld32_le(r + 12) >> 8;
    memset(st->h, 0, sizeof st->h);
    wipe(r, sizeof r);
}

/* tag = (h mod p + s) mod 2^128, s the key's second half; wipes st. */
static void poly_26_final(struct poly26 *st, uint8_t tag[16], const uint8_t key[32])
{
    const uint32_t M = (1u << 26) - 1;
    /* Full carry. h < 2^130 + 2^36 before it, so if a carry wraps around from h4
     * the result is tiny and cannot carry again out of h1. */
    uint32_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4], c;
    c = h1 >> 26, h1 &= M, h2 += c;
    c = h2 >> 26, h2 &= M, h3 += c;
    c = h3 >> 26, h3 &= M, h4 += c;
    c = h4 >> 26, h4 &= M, h0 += 5 * c;
    c = h0 >> 26, h0 &= M, h1 += c;
    /* h < 2^130 < 2p: g = h - p = h + 5 - 2^130; keep g if it did not go negative */
    uint32_t g0 = h0 + 5, g1, g2, g3, g4, keep;
    c = g0 >> 26, g0 &= M;
    g1 = h1 + c, c = g1 >> 26, g1 &= M;
    g2 = h2 + c, c = g2 >> 26, g2 &= M;
    g3 = h3 + c, c = g3 >> 26, g3 &= M;
    g4 = h4 + c - (1u << 26);
    keep = (g4 >> 31) - 1; /* all ones if g >= 0 */
    h0 = (h0 & ~keep) | (g0 & keep);
    h1 = (h1 & ~keep) | (g1 & keep);
    h2 = (h2 & ~keep) | (g2 & keep);
    h3 = (h3 & ~keep) | (g3 & keep);
    h4 = (h4 & ~keep) | (g4 & keep);
    /* tag = (h + s) mod 2^128 */
    uint64_t f;
    f = (uint64_t)(h0 | h1 << 26) + ld32_le(key + 16);
    st32_le(tag, (uint32_t)f);
    f = (uint64_t)(h1 >> 6 | h2 << 20) + ld32_le(key + 20) + (f >> 32);
    st32_le(tag + 4, (uint32_t)f);
    f = (uint64_t)(h2 >> 12 | h3 << 14) + ld32_le(key + 24) + (f >> 32);
    st32_le(tag + 8, (uint32_t)f);
    f = (uint64_t)(h3 >> 18 | h4 << 8) + ld32_le(key + 28) + (f >> 32);
    st32_le(tag + 12, (uint32_t)f);
    wipe(st, sizeof *st);
}

/* The final partial block of an n-byte message, 0x01 appended and zeros
 * after it (without 2^128), into last; 0 when there is none. */
static int poly_tail(uint8_t last[16], const uint8_t *m, size_t n)
{
    if (n % 16 == 0) return 0;
    memset(last, 0, 16);
    memcpy(last, m + n - n % 16, n % 16);
    last[n % 16] = 1;
    return 1;
}

/* Poly1305 with 26-bit limbs (for CPUs without a 64x64->128 multiply). */
static ALK_UNUSED void poly_26(uint8_t tag[16], const uint8_t *m, size_t n, const uint8_t key[32])
{
    struct poly26 st;
    uint8_t last[16];
    poly_26_init(&st, key);
    poly_26_blocks(&st, m, n / 16, 1u << 24);
    if (poly_tail(last, m, n)) poly_26_blocks(&st, last, 1, 0), wipe(last, sizeof last);
    poly_26_final(&st, tag, key);
}

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 poly_u128;

struct poly44 {
    uint64_t r[3], rr[3], h[3]; /* r, r^2 (partly reduced), the accumulator */
};

/* d += h * r for limbs of 44, 44 and 42 bits. Columns that reach 2^132 =
 * 4 * 2^130 wrap around times 20. With h_i < 2^46 and 20 r_j < 2^49 each
 * column gains less than 2^97, so two products fit in the 128-bit sums. */
static inline void poly_44_mac(poly_u128 d[3], const uint64_t h[3], const uint64_t r[3])
{
    uint64_t s1 = 20 * r[1], s2 = 20 * r[2];
    d[0] += (poly_u128)h[0] * r[0] + (poly_u128)h[1] * s2 + (poly_u128)h[2] * s1;
    d[1] += (poly_u128)h[0] * r[1] + (poly_u128)h[1] * r[0] + (poly_u128)h[2] * s2;
    d[2] += (poly_u128)h[0] * r[2] + (poly_u128)h[1] * r[1] + (poly_u128)h[2] * r[0];
}
/* h = d, carried back into limbs of at most 44 (+ a few), 44 and 42 bits */
static inline void poly_44_carry(uint64_t h[3], poly_u128 d[3])
{
    const uint64_t M44 = ((uint64_t)1 << 44) - 1, M42 = ((uint64_t)1 << 42) - 1;
    d[1] += (uint64_t)(d[0] >> 44);
    d[2] += (uint64_t)(d[1] >> 44);
    h[0] = ((uint64_t)d[0] & M44) + (uint64_t)(d[2] >> 42) * 5;
    h[1] = ((uint64_t)d[1] & M44) + (h[0] >> 44);
    h[0] &= M44;
    h[2] = (uint64_t)d[2] & M42;
}
/* h += one 16-byte block, with 2^128 added when hibit is 2^40 */
static inline void poly_44_add(uint64_t h[3], const uint8_t *m, uint64_t hibit)
{
    const uint64_t M44 = ((uint64_t)1 << 44) - 1;
    uint64_t t0 = ld64_le(m), t1 = ld64_le(m + 8);
    h[0] += t0 & M44;
    h[1] += (t0 >> 44 | t1 << 20) & M44;
    h[2] += (t1 >> 24) | hibit;
}

/*
 * As poly_26_blocks, two blocks a step where it can: h = (h + m1) r^2 +
 * m2 r. The two products do not wait for each other, so the multiplier
 * works on both at once instead of finishing one block before the next.
 */
static void poly_44_blocks(struct poly44 *st, const uint8_t *m, size_t nb, uint64_t hibit)
{
    uint64_t h[3] = {st->h[0], st->h[1], st->h[2]};
    for (; nb >= 2; nb -= 2, m += 32) {
        uint64_t b[3] = {0, 0, 0};
        poly_u128 d[3] = {0, 0, 0};
        poly_44_add(h, m, hibit);
        poly_44_add(b, m + 16, hibit);
        poly_44_mac(d, h, st->rr);
        poly_44_mac(d, b, st->r);
        poly_44_carry(h, d);
    }
    if (nb) {
        poly_u128 d[3] = {0, 0, 0};
        poly_44_add(h, m, hibit);
        poly_44_mac(d, h, st->r);
        poly_44_carry(h, d);
    }
    memcpy(st->h, h, sizeof h);
}

static void poly_44_init(struct poly44 *st, const uint8_t key[32])
{
    const uint64_t M44 = ((uint64_t)1 << 44) - 1;
    uint8_t r[16];
    poly_clamp(r, key);
    uint64_t t0 = ld64_le(r), t1 = ld64_le(r + 8);
    st->r[0] = t0 & M44;
    st->r[1] = (t0 >> 44 | t1 << 20) & M44;
    st->r[2] = t1 >> 24;
    poly_u128 d[3] = {0, 0, 0};
    poly_44_mac(d, st->r, st->r);
    poly_44_carry(st->rr, d);
    memset(st->h, 0, sizeof st->h);
    wipe(r, sizeof r);
}

static void poly_44_final(struct poly44 *st, uint8_t tag[16], const uint8_t key[32])
{
    const uint64_t M44 = ((uint64_t)1 << 44) - 1, M42 = ((uint64_t)1 << 42) - 1;
    /* full carry, then subtract p if h >= p, as in poly_26 */
    uint64_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], c;
    c = h1 >> 44, h1 &= M44, h2 += c;
    c = h2 >> 42, h2 &= M42, h0 += 5 * c;
    c = h0 >> 44, h0 &= M44, h1 += c;
    uint64_t g0 = h0 + 5, g1, g2, keep;
    c = g0 >> 44, g0 &= M44;
    g1 = h1 + c, c = g1 >> 44, g1 &= M44;
    g2 = h2 + c - ((uint64_t)1 << 42);
    keep = (g2 >> 63) - 1;
    h0 = (h0 & ~keep) | (g0 & keep);
    h1 = (h1 & ~keep) | (g1 & keep);
    h2 = (h2 & ~keep) | (g2 & keep);
    uint64_t lo = h0 | h1 << 44, hi = h1 >> 20 | h2 << 24;
    uint64_t s0 = ld64_le(key + 16), s1 = ld64_le(key + 24);
    lo += s0;
    hi += s1 + (uint64_t)(lo < s0);
    st64_le(tag, lo);
    st64_le(tag + 8, hi);
    wipe(st, sizeof *st);
}

/* Poly1305 with 44-bit limbs: fewer, wider products where they are cheap. */
static void poly_44(uint8_t tag[16], const uint8_t *m, size_t n, const uint8_t key[32])
{
    struct poly44 st;
    uint8_t last[16];
    poly_44_init(&st, key);
    poly_44_blocks(&st, m, n / 16, (uint64_t)1 << 40);
    if (poly_tail(last, m, n)) poly_44_blocks(&st, last, 1, 0), wipe(last, sizeof last);
    poly_44_final(&st, tag, key);
}
#endif

/* One-shot Poly1305 MAC of m[0..n) under a one-time key (r || s). */
static void poly1305(uint8_t tag[16], const uint8_t *m, size_t n, const uint8_t key[32])
{
#ifdef __SIZEOF_INT128__
    poly_44(tag, m, n, key);
#else
    poly_26(tag, m, n, key);
#endif
}

/* The limb layout this CPU uses, for the AEAD below. */
#ifdef __SIZEOF_INT128__
typedef struct poly44 poly_st;
#define POLY(f) poly_44_##f
#define POLY_HIBIT ((uint64_t)1 << 40)
#else
typedef struct poly26 poly_st;
#define POLY(f) poly_26_##f
#define POLY_HIBIT (1u << 24)
#endif

/* Absorbs m[0..n) zero-padded to a multiple of 16 bytes (RFC 8439 2.8). */
static void poly_pad16(poly_st *st, const uint8_t *m, size_t n)
{
    uint8_t last[16] = {0};
    POLY(blocks)(st, m, n / 16, POLY_HIBIT);
    if (n % 16) {
        memcpy(last, m + n - n % 16, n % 16);
        POLY(blocks)(st, last, 1, POLY_HIBIT);
        wipe(last, sizeof last);
    }
}

/* RFC 8439 2.8 AEAD tag: Poly1305 under key of aad | pad16 | ct | pad16 |
 * le64(aad length) | le64(ct length). TLS uses it (tls_poly1305_run);
 * SSH's chacha20-poly1305@openssh.com does not. */
static void poly1305_aead(uint8_t tag[16], const uint8_t key[32], const uint8_t *aad, size_t aadlen,
                          const uint8_t *ct, size_t n)
{
    poly_st st;
    uint8_t lens[16];
    st64_le(lens, (uint64_t)aadlen);
    st64_le(lens + 8, (uint64_t)n);
    POLY(init)(&st, key);
    poly_pad16(&st, aad, aadlen);
    poly_pad16(&st, ct, n);
    poly_pad16(&st, lens, 16);
    POLY(final)(&st, tag, key);
}

/* ==================== SECTION 6: ciphers, X25519 glue (ci_) ==================== */

/*
 * Packet protection. Every cipher alknet speaks is an AEAD with a 16-byte
 * tag, so a sealed packet is  uint32 length | body | tag  and sealing
 * happens in place in the output buffer (the tag lands right after the
 * body). Opening verifies the tag and decrypts in place in the input
 * buffer. Those in-place passes are the only touches of payload bytes
 * between the read() and the write() (see SECTION 9).
 *
 * chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305) is not
 * the RFC 8439 AEAD: 64 bytes of key are K_2 (first 32, payload and MAC) and
 * K_1 (last 32, length only); the nonce is the 64-bit big-endian sequence
 * number in the original 64/64 ChaCha layout; the Poly1305 key is the first
 * 32 bytes of K_2's block 0; the tag covers the encrypted length and body.
 * BearSSL's ChaCha20 takes an RFC 8439 12-byte nonce (32-bit counter), so
 * the 64-bit counter's high word becomes the first nonce word (always 0).
 *
 * aes128-gcm@openssh.com / aes256-gcm@openssh.com (RFC 5647 as OpenSSH does
 * it): the length is additional data, in the clear; the 12-byte IV is a
 * 4-byte fixed part and a 64-bit invocation counter bumped per packet.
 */
struct ci_dir;
struct ci_alg {
    const char *name;
    unsigned keylen, ivlen, block;
    void (*init)(struct ci_dir *d, const uint8_t *key, const uint8_t *iv);
    uint32_t (*len)(struct ci_dir *d, const uint8_t in[4]); /* packet_length, input untouched */
    void (*seal)(struct ci_dir *d, uint8_t *pkt, size_t n); /* pkt: 4-byte length + n bytes */
    int (*open)(struct ci_dir *d, uint8_t *pkt, size_t n);  /* 0, or -1 if the tag is wrong */
};

/* One direction of a connection's packet protection. */
struct ci_dir {
    const struct ci_alg *alg; /* NULL before the first NEWKEYS: no protection */
    uint32_t seq;             /* RFC 4253 6.4 sequence number */
    uint64_t bytes;           /* since the last kex, for our own rekey */
    union {
        struct {
            uint8_t main[32], hdr[32]; /* K_2, K_1 */
        } cc;
        struct {
            br_aes_gen_ctr_keys aes;
            br_gcm_context gcm; /* points into .aes: never memcpy a ci_dir */
            uint8_t iv[12];
        } gcm;
    } k;
};

/* Fastest implementations for this CPU, chosen once (ci_init). */
static struct {
    br_chacha20_run chacha, chacha_tail; /* the second: BearSSL's, for cc_wide's last bytes */
    const br_block_ctr_class *aes;
    br_ghash ghash;
    int aes_hw; /* AES-NI + PCLMUL present: AES-GCM goes first by default */
} ci;

/*
 * ChaCha20 (RFC 8439 2.3, 2.4) eight blocks at a time, with the same
 * interface as BearSSL's br_chacha20_run. BearSSL's SSE2 code works on one
 * block at a time and costs about 4 cycles a byte; here vector lane b of
 * x[i] holds state word i of block b, so each instruction advances eight
 * blocks (GCC and clang vector extensions: two SSE2 or NEON operations per
 * step, one with AVX2). The keystream is then read out of the lanes, block
 * by block, and XORed into the data. A tail of less than 512 bytes goes to
 * BearSSL's code, which continues from the same counter. Built where the
 * CPU always has 128-bit vectors (x86_64, aarch64); elsewhere ci_init keeps
 * BearSSL's implementation.
 */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__aarch64__))
#define CC_WIDE 8
typedef uint32_t cc_vec __attribute__((vector_size(4 * CC_WIDE)));
#define CC_ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define CC_QR(a, b, c, d)                                                                          \
    (a += b, d ^= a, d = CC_ROTL(d, 16), c += d, b ^= c, b = CC_ROTL(b, 12), a += b, d ^= a,       \
     d = CC_ROTL(d, 8), c += d, b ^= c, b = CC_ROTL(b, 7))

static inline __attribute__((always_inline)) uint32_t cc_wide_body(const void *key, const void *iv,
                                                                   uint32_t cc, void *data,
                                                                   size_t len, br_chacha20_run tail)
{
    uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    for (int i = 0; i < 8; i++)
        in[4 + i] = ld32_le((const uint8_t *)key + 4 * i);
    for (int i = 0; i < 3; i++)
        in[13 + i] = ld32_le((const uint8_t *)iv + 4 * i);
    uint8_t *p = data;
    for (; len >= 64 * CC_WIDE; p += 64 * CC_WIDE, len -= 64 * CC_WIDE, cc += CC_WIDE) {
        cc_vec s[16], x[16];
        in[12] = cc;
        for (int i = 0; i < 16; i++)
            s[i] = (cc_vec){0} + in[i];
        for (uint32_t b = 0; b < CC_WIDE; b++)
            s[12][b] += b;
        memcpy(x, s, sizeof x);
        for (int r = 0; r < 10; r++) {
            CC_QR(x[0], x[4], x[8], x[12]), CC_QR(x[1], x[5], x[9], x[13]);
            CC_QR(x[2], x[6], x[10], x[14]), CC_QR(x[3], x[7], x[11], x[15]);
            CC_QR(x[0], x[5], x[10], x[15]), CC_QR(x[1], x[6], x[11], x[12]);
            CC_QR(x[2], x[7], x[8], x[13]), CC_QR(x[3], x[4], x[9], x[14]);
        }
        uint32_t ks[16][CC_WIDE];
        for (int i = 0; i < 16; i++) {
            x[i] += s[i];
            memcpy(ks[i], &x[i], sizeof x[i]);
        }
        for (int b = 0; b < CC_WIDE; b++)
            for (int i = 0; i < 16; i++) {
                uint8_t *w = p + 64 * b + 4 * i;
                st32_le(w, ld32_le(w) ^ ks[i][b]);
            }
    }
    return len ? tail(key, iv, cc, p, len) : cc;
}
static uint32_t cc_wide(const void *key, const void *iv, uint32_t cc, void *data, size_t len)
{
    return cc_wide_body(key, iv, cc, data, len, ci.chacha_tail);
}
#ifdef __x86_64__
/* AVX2 is usable: the CPU has it (CPUID leaf 7, EBX bit 5) and the kernel
 * saves the YMM registers (OSXSAVE set, XCR0 bits 1 and 2). Asked here
 * rather than through __builtin_cpu_supports, which links 4 KiB of libgcc. */
static int cc_avx2_usable(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
    uint32_t xcr0, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    return (xcr0 & 6) == 6 && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2);
}
__attribute__((target("avx2"))) static uint32_t cc_wide_avx2(const void *key, const void *iv,
                                                             uint32_t cc, void *data, size_t len)
{
    return cc_wide_body(key, iv, cc, data, len, ci.chacha_tail);
}
#endif
#endif

static void ci_init(void)
{
    ci.chacha = ci.chacha_tail = br_chacha20_sse2_get();
    if (!ci.chacha) ci.chacha = ci.chacha_tail = &br_chacha20_ct_run;
#ifdef CC_WIDE
    ci.chacha = cc_wide;
#ifdef __x86_64__
    if (cc_avx2_usable()) ci.chacha = cc_wide_avx2;
#endif
#endif
    ci.aes = br_aes_x86ni_ctr_get_vtable();
    ci.ghash = br_ghash_pclmul_get();
    ci.aes_hw = ci.aes && ci.ghash;
    if (!ci.aes) ci.aes = sizeof(void *) >= 8 ? &br_aes_ct64_ctr_vtable : &br_aes_ct_ctr_vtable;
    if (!ci.ghash) ci.ghash = sizeof(void *) >= 8 ? &br_ghash_ctmul64 : &br_ghash_ctmul;
}

static void cc_init(struct ci_dir *d, const uint8_t *key, const uint8_t *iv)
{
    (void)iv;
    memcpy(d->k.cc.main, key, 32);
    memcpy(d->k.cc.hdr, key + 32, 32);
}
static void cc_nonce(uint8_t iv[12], uint32_t seq)
{
    memset(iv, 0, 12);
    st32_be(iv + 8, seq);
}
static uint32_t cc_len(struct ci_dir *d, const uint8_t in[4])
{
    uint8_t iv[12], b[4];
    memcpy(b, in, 4);
    cc_nonce(iv, d->seq);
    ci.chacha(d->k.cc.hdr, iv, 0, b, 4);
    return ld32_be(b);
}
static void cc_polykey(struct ci_dir *d, const uint8_t iv[12], uint8_t pk[32])
{
    memset(pk, 0, 32);
    ci.chacha(d->k.cc.main, iv, 0, pk, 32);
}
static void cc_seal(struct ci_dir *d, uint8_t *pkt, size_t n)
{
    uint8_t iv[12], pk[32];
    cc_nonce(iv, d->seq);
    ci.chacha(d->k.cc.hdr, iv, 0, pkt, 4);
    ci.chacha(d->k.cc.main, iv, 1, pkt + 4, n);
    cc_polykey(d, iv, pk);
    poly1305(pkt + 4 + n, pkt, 4 + n, pk);
    WIPE(pk);
}
static int cc_open(struct ci_dir *d, uint8_t *pkt, size_t n)
{
    uint8_t iv[12], pk[32], tag[16];
    cc_nonce(iv, d->seq);
    cc_polykey(d, iv, pk);
    poly1305(tag, pkt, 4 + n, pk);
    WIPE(pk);
    if (ct_cmp(tag, pkt + 4 + n, 16) != 0) return -1;
    ci.chacha(d->k.cc.hdr, iv, 0, pkt, 4);
    ci.chacha(d->k.cc.main, iv, 1, pkt + 4, n);
    return 0;
}

static void gcm_init(struct ci_dir *d, const uint8_t *key, const uint8_t *iv)
{
    ci.aes->init(&d->k.gcm.aes.vtable, key, d->alg->keylen);
    br_gcm_init(&d->k.gcm.gcm, &d->k.gcm.aes.vtable, ci.ghash);
    memcpy(d->k.gcm.iv, iv, 12);
}
static uint32_t gcm_len(struct ci_dir *d, const uint8_t in[4])
{
    (void)d;
    return ld32_be(in);
}
/* RFC 5647 7.1: the invocation counter is the IV's last 8 bytes. */
static void gcm_next_iv(uint8_t iv[12]) { st64_be(iv + 4, ld64_be(iv + 4) + 1); }
static void gcm_seal(struct ci_dir *d, uint8_t *pkt, size_t n)
{
    br_gcm_context *g = &d->k.gcm.gcm;
    br_gcm_reset(g, d->k.gcm.iv, 12);
    br_gcm_aad_inject(g, pkt, 4);
    br_gcm_flip(g);
    br_gcm_run(g, 1, pkt + 4, n);
    br_gcm_get_tag(g, pkt + 4 + n);
    gcm_next_iv(d->k.gcm.iv);
}
static int gcm_open(struct ci_dir *d, uint8_t *pkt, size_t n)
{
    br_gcm_context *g = &d->k.gcm.gcm;
    br_gcm_reset(g, d->k.gcm.iv, 12);
    br_gcm_aad_inject(g, pkt, 4);
    br_gcm_flip(g);
    br_gcm_run(g, 0, pkt + 4, n);
    gcm_next_iv(d->k.gcm.iv);
    return br_gcm_check_tag(g, pkt + 4 + n) ? 0 : -1;
}

#ifdef ALKNET_FUZZ
/* none@fuzz: the framing of the AEADs (length outside the padding, a
 * 16-byte tag) without any protection; the tag is zeros and never checked. */
static void none_init(struct ci_dir *d, const uint8_t *key, const uint8_t *iv)
{
    (void)d, (void)key, (void)iv;
}
static void none_seal(struct ci_dir *d, uint8_t *pkt, size_t n)
{
    (void)d;
    memset(pkt + 4 + n, 0, ALK_TAG);
}
static int none_open(struct ci_dir *d, uint8_t *pkt, size_t n)
{
    (void)d, (void)pkt, (void)n;
    return 0;
}
#endif

/* The table: adding a cipher is adding a row. */
static const struct ci_alg ci_algs[] = {
    {"chacha20-poly1305@openssh.com", 64, 0, 8, cc_init, cc_len, cc_seal, cc_open},
    {"aes128-gcm@openssh.com", 16, 12, 16, gcm_init, gcm_len, gcm_seal, gcm_open},
    {"aes256-gcm@openssh.com", 32, 12, 16, gcm_init, gcm_len, gcm_seal, gcm_open},
#ifdef ALKNET_FUZZ
    {"none@fuzz", 0, 0, 8, none_init, gcm_len, none_seal, none_open},
#endif
};

static const struct ci_alg *ci_find(const char *name, size_t n)
{
    for (size_t i = 0; i < ARRAY_LEN(ci_algs); i++)
        if (strlen(ci_algs[i].name) == n && memcmp(ci_algs[i].name, name, n) == 0)
            return &ci_algs[i];
    return NULL;
}

/* Default preference: AES-GCM first where the CPU has AES and carry-less
 * multiply instructions, ChaCha20-Poly1305 first everywhere else. */
static void ci_default_list(char *out, size_t cap)
{
    if (ci.aes_hw)
        fmt_s(out, cap,
              "aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
              "chacha20-poly1305@openssh.com");
    else
        fmt_s(out, cap,
              "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,"
              "aes256-gcm@openssh.com");
}

/* Installs key material for one direction; wipes the previous keys. */
static void ci_install(struct ci_dir *d, const struct ci_alg *alg, const uint8_t *key,
                       const uint8_t *iv)
{
    WIPE(d->k);
    d->alg = alg;
    d->bytes = 0;
    alg->init(d, key, iv);
}

/*
 * X25519 through BearSSL (RFC 7748). BearSSL's Curve25519 takes the point
 * and the scalar as the RFC writes them (little-endian) and clamps the
 * scalar itself. Returns -1 when the result is all zeros (a small-order
 * peer point: RFC 7748 6.1, RFC 8731 3), which SSH must reject.
 */
static int ci_x25519(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32])
{
    x25519(out, sk, pk);
    uint8_t z = 0;
    for (int i = 0; i < 32; i++)
        z |= out[i];
    return z ? 0 : -1;
}
static void ci_x25519_base(uint8_t pk[32], const uint8_t sk[32])
{
    static const uint8_t nine[32] = {9};
    ci_x25519(pk, sk, nine);
}

/*
 * The curves for BearSSL (TLS ECDHE and ECDSA, the self-signed certificate):
 * br_ec_all_m31 without its two special-purpose halves. X25519 is ours
 * (x25519() above, instead of br_ec_c25519_m31, 3.7 KB); P-256, P-384 and
 * P-521 all go to the generic br_ec_prime_i31 (ECDSA needs it anyway), not
 * br_ec_p256_m31 (8 KB), which is faster, but a handshake's few P-256
 * operations take milliseconds either way. The Curve25519 methods follow
 * br_ec_c25519_m31: generator 9, "order" 2^255 - 1 for key generation, the
 * whole 32 bytes as X, no muladd (there is no ECDSA on it).
 */
static const uint8_t ci_c25519_gen[32] = {9};
static const uint8_t ci_c25519_order[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const unsigned char *ci_ec_generator(int curve, size_t *len)
{
    if (curve != BR_EC_curve25519) return br_ec_prime_i31.generator(curve, len);
    *len = 32;
    return ci_c25519_gen;
}
static const unsigned char *ci_ec_order(int curve, size_t *len)
{
    if (curve != BR_EC_curve25519) return br_ec_prime_i31.order(curve, len);
    *len = 32;
    return ci_c25519_order;
}
static size_t ci_ec_xoff(int curve, size_t *len)
{
    if (curve != BR_EC_curve25519) return br_ec_prime_i31.xoff(curve, len);
    *len = 32;
    return 0;
}
static uint32_t ci_ec_mul(unsigned char *G, size_t Glen, const unsigned char *x, size_t xlen,
                          int curve)
{
    if (curve != BR_EC_curve25519) return br_ec_prime_i31.mul(G, Glen, x, xlen, curve);
    uint8_t k[32] = {0};
    if (Glen != 32 || xlen > 32) return 0;
    memcpy(k, x, xlen); /* little-endian: a short scalar has zero high bytes */
    x25519(G, k, G);
    wipe(k, sizeof k);
    return 1;
}
static size_t ci_ec_mulgen(unsigned char *R, const unsigned char *x, size_t xlen, int curve)
{
    if (curve != BR_EC_curve25519) return br_ec_prime_i31.mulgen(R, x, xlen, curve);
    memcpy(R, ci_c25519_gen, 32);
    return ci_ec_mul(R, 32, x, xlen, curve) ? 32 : 0;
}
static uint32_t ci_ec_muladd(unsigned char *A, const unsigned char *B, size_t len,
                             const unsigned char *x, size_t xlen, const unsigned char *y,
                             size_t ylen, int curve)
{
    if (curve != BR_EC_curve25519)
        return br_ec_prime_i31.muladd(A, B, len, x, xlen, y, ylen, curve);
    return 0;
}
static const br_ec_impl ci_ec = {(uint32_t)1 << BR_EC_curve25519 | (uint32_t)1 << BR_EC_secp256r1 |
                                     (uint32_t)1 << BR_EC_secp384r1 |
                                     (uint32_t)1 << BR_EC_secp521r1,
                                 ci_ec_generator,
                                 ci_ec_order,
                                 ci_ec_xoff,
                                 ci_ec_mul,
                                 ci_ec_mulgen,
                                 ci_ec_muladd};

static void sha256(uint8_t out[32], const void *p, size_t n)
{
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, p, n);
    br_sha256_out(&h, out);
}

/* ==================== SECTION 6a: TLS ClientHello, X.509 (tls_ x509_ der_) ==================== */

/*
 * What --tls-listen needs before BearSSL sees a byte, and what BearSSL
 * lacks: an X.509 encoder.
 *
 *   tls_hello_parse()   judges the first bytes of a TLS visitor: is it a
 *                       ClientHello, and does it offer ALPN "alknet-ssh"?
 *                       The stealth rule (spec 4) is decided on that
 *                       answer, before anything is sent: alknet clients go
 *                       to the BearSSL server engine, everyone else is
 *                       spliced byte-for-byte to --fallback. The bytes are
 *                       only looked at, never consumed, so either consumer
 *                       gets them all afterwards.
 *   x509_selfsigned()   the certificate --tls-listen presents when no
 *                       --tls-cert is given (SSH host keys carry the trust).
 *   x509_spki_sha256()  the value a --tls-pin is compared with.
 *
 * Needs SECTION 3 (struct rd, struct wr), sha256() and rnd_bytes(). All
 * parsing goes through struct rd; nothing here allocates, and the parsers
 * are pure functions of their input.
 *
 * Written from RFC 5246 6.2.1 and 7.4.1.2, RFC 8446 4.1.2, 4.2 and 5.1
 * (records, ClientHello), RFC 6066 3 (server_name), RFC 7301 3.1 (ALPN),
 * RFC 5280 4.1 and 4.2 (certificates), RFC 5480 2 and RFC 5758 3.2 (EC
 * keys and ECDSA), X.690 8.1, 8.19 and 10.1 (DER).
 *
 * Sizes: tls_hello_parse() copies the handshake message out of its records
 * into a TLS_HELLO_MAX stack buffer (16 KiB, the only large frame here);
 * struct tls_hello is 2.3 KiB. A generated certificate is about 325 bytes
 * plus three times the name (at most 64 characters), built in an
 * X509_CERT_MAX (1 KiB) stack buffer.
 */
#define TLS_HELLO_MAX 16384   /* we read at most this much before deciding */
#define TLS_REC_MAX 16384     /* RFC 8446 5.1, RFC 5246 6.2.1: fragment length <= 2^14 */
#define TLS_ALPN_MAX 8        /* ALPN names kept from one ClientHello */
#define TLS_CT_HANDSHAKE 22   /* RFC 5246 6.2.1 ContentType handshake */
#define TLS_HT_CLIENT_HELLO 1 /* RFC 5246 7.4 HandshakeType client_hello */
#define TLS_EXT_SERVER_NAME 0 /* RFC 6066 3 */
#define TLS_EXT_ALPN 16       /* RFC 7301 3.1 */
#define X509_CN_MAX 64        /* RFC 5280 A.1 ub-common-name */
#define X509_CERT_MAX 1024    /* a generated certificate always fits */

/* What a ClientHello says that matters before the handshake. Strings are
 * NUL-terminated; a name holding a NUL byte is never stored, so strcmp()
 * on them is exact. */
struct tls_hello {
    char sni[256];         /* RFC 6066 host_name, "" when the client sent none */
    unsigned nalpn;        /* ALPN names stored in alpn[], in the client's order */
    unsigned alpn_skipped; /* names offered but not stored: past TLS_ALPN_MAX, or with a NUL */
    char alpn[TLS_ALPN_MAX][256];
    uint8_t random[32]; /* ClientHello.random: never repeats, so a repeat is a replay */
};

/* A big-endian u16 through the bounded reader (0 once it has failed). */
static size_t tls_u16(struct rd *r)
{
    struct str s = rd_bytes(r, 2);
    return s.p ? (size_t)s.p[0] << 8 | s.p[1] : 0;
}

/*
 * The records that carry the first handshake message, and their pieces
 * joined into msg (capacity TLS_HELLO_MAX).
 *
 * RFC 5246 6.2.1, RFC 8446 5.1 TLSPlaintext:
 *   u8 type (22 handshake)  u16 legacy_record_version  u16 length  fragment
 * RFC 5246 7.4, RFC 8446 4 Handshake:
 *   u8 msg_type (1 client_hello)  u24 length  body
 *
 * A handshake message may be cut across records anywhere, even inside its
 * 4-byte header; records of another type must not come between the pieces
 * (RFC 8446 5.1), handshake records are never empty (RFC 5246 6.2.1) and
 * carry at most 2^14 bytes. Each header byte is judged as soon as it is
 * there, so "GET /", "SSH-2.0-" or an SSLv2 hello are refused on their
 * first byte. The record version must be 3.0 to 3.3: clients put 3.1 or
 * 3.3 there, TLS 1.3 ones included (RFC 8446 5.1 legacy_record_version).
 *
 * The message must end within the first TLS_HELLO_MAX input bytes: when
 * the next byte needed lies past that, or the u24 length already says it
 * cannot fit, the answer is -1 ("too long"), not 0. Bytes after the
 * message (rest of its record, later records) are not looked at.
 *
 * Returns 1 and *mlen when the message is complete, 0 when more input is
 * needed, -1 when this is not a TLS ClientHello.
 */
static int tls_hs_gather(const uint8_t *p, size_t n, uint8_t msg[TLS_HELLO_MAX], size_t *mlen)
{
    size_t off = 0, have = 0, need = 4; /* need: the header, then header + body */
    int known = 0;                      /* the u24 length has been read */
    if (n > TLS_HELLO_MAX) n = TLS_HELLO_MAX;
    for (;;) {
        size_t hn = MIN(n - off, 5); /* header bytes present */
        if (hn >= 1 && p[off] != TLS_CT_HANDSHAKE) return -1;
        if (hn >= 2 && p[off + 1] != 3) return -1;
        if (hn >= 3 && p[off + 2] > 3) return -1;
        if (hn < 5) break;
        size_t len = (size_t)p[off + 3] << 8 | p[off + 4];
        if (len == 0 || len > TLS_REC_MAX) return -1;
        size_t pos = off + 5, end = pos + MIN(len, n - pos);
        while (pos < end && have < need) {
            size_t t = MIN(end - pos, need - have);
            memcpy(msg + have, p + pos, t);
            have += t, pos += t;
            if (msg[0] != TLS_HT_CLIENT_HELLO) return -1;
            if (!known && have == 4) {
                size_t body = (size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3];
                /* at best one 5-byte record header precedes the message */
                if (body > TLS_HELLO_MAX - 5 - 4) return -1;
                need = 4 + body, known = 1;
            }
        }
        if (known && have == need) {
            *mlen = need;
            return 1;
        }
        if (len > n - off - 5) break; /* this record is not all here yet */
        off += 5 + len;
    }
    return n == TLS_HELLO_MAX ? -1 : 0; /* more is needed: is it beyond the limit? */
}

/*
 * RFC 6066 3 server_name extension_data:
 *   ServerName server_name_list<1..2^16-1>
 *   ServerName: u8 name_type (0 host_name)  opaque HostName<1..2^16-1>
 * "MUST NOT contain more than one name of the same name_type", and as no
 * other type was ever defined, we accept what OpenSSL accepts: exactly one
 * entry, a host_name. The name is kept as sent (no case folding), at most
 * 255 bytes and without NUL bytes, which no DNS name has (RFC 1035 2.3.4);
 * anything else is refused as a real server would refuse it.
 */
static int tls_sni(struct str d, struct tls_hello *out)
{
    struct rd r = rd_init(d.p, d.n);
    size_t ln = tls_u16(&r);
    uint8_t type = rd_u8(&r);
    struct str name = rd_bytes(&r, tls_u16(&r));
    if (!rd_end(&r) || ln != d.n - 2 || type != 0) return -1;
    if (name.n == 0 || name.n >= sizeof out->sni || memchr(name.p, 0, name.n)) return -1;
    memcpy(out->sni, name.p, name.n);
    out->sni[name.n] = 0;
    return 0;
}

/*
 * RFC 7301 3.1 application_layer_protocol_negotiation extension_data:
 *   ProtocolName protocol_name_list<2..2^16-1>
 *   ProtocolName: opaque<1..2^8-1>   ("empty strings MUST NOT be included")
 * The first TLS_ALPN_MAX names without a NUL byte are stored; the others
 * are only counted (alknet's own client offers one name).
 */
static int tls_alpn(struct str d, struct tls_hello *out)
{
    struct rd r = rd_init(d.p, d.n);
    struct str list = rd_bytes(&r, tls_u16(&r));
    if (!rd_end(&r) || list.n < 2) return -1;
    struct rd l = rd_init(list.p, list.n);
    while (l.off < l.len) {
        struct str name = rd_bytes(&l, rd_u8(&l));
        if (l.bad || name.n == 0) return -1;
        if (out->nalpn < TLS_ALPN_MAX && !memchr(name.p, 0, name.n)) {
            memcpy(out->alpn[out->nalpn], name.p, name.n); /* n <= 255 */
            out->alpn[out->nalpn++][name.n] = 0;
        } else {
            out->alpn_skipped++;
        }
    }
    return 0;
}

/*
 * RFC 8446 4.1.2 (RFC 5246 7.4.1.2) ClientHello body:
 *   u16 legacy_version  u8 random[32]  opaque legacy_session_id<0..32>
 *   CipherSuite cipher_suites<2..2^16-2>  (u16 each)
 *   opaque legacy_compression_methods<1..2^8-1>
 *   Extension extensions<0..2^16-1>       absent altogether in old hellos
 * RFC 8446 4.2 Extension:  u16 extension_type  opaque extension_data<0..2^16-1>
 * The extensions must fill their block and the block must end the body.
 * Other extensions are skipped unread; server_name and ALPN may appear
 * once each (RFC 8446 4.2: no two extensions of one type).
 */
static int tls_hello_body(const uint8_t *m, size_t n, struct tls_hello *out)
{
    struct rd r = rd_init(m, n);
    size_t ver = tls_u16(&r);
    struct str random = rd_bytes(&r, 32);
    if (random.p) memcpy(out->random, random.p, 32);
    size_t sid = rd_u8(&r);
    rd_bytes(&r, sid);
    size_t cs = tls_u16(&r);
    rd_bytes(&r, cs);
    size_t cm = rd_u8(&r);
    rd_bytes(&r, cm);
    if (r.bad || ver >> 8 != 3 || sid > 32 || cs < 2 || cs % 2 || cm < 1) return -1;
    if (r.off == r.len) return 1; /* RFC 5246 7.4.1.2: no extensions */
    struct str ext = rd_bytes(&r, tls_u16(&r));
    if (!rd_end(&r)) return -1;
    struct rd e = rd_init(ext.p, ext.n);
    int sni = 0, alpn = 0;
    while (e.off < e.len) {
        size_t type = tls_u16(&e);
        struct str d = rd_bytes(&e, tls_u16(&e));
        if (e.bad) return -1;
        if (type == TLS_EXT_SERVER_NAME && (sni++ || tls_sni(d, out) < 0)) return -1;
        if (type == TLS_EXT_ALPN && (alpn++ || tls_alpn(d, out) < 0)) return -1;
    }
    return 1;
}

/*
 * Looks at the first bytes a TLS client sent (TLS records, possibly several
 * records and any split). Returns 1 when a whole ClientHello is there (out
 * filled), 0 when more bytes are needed, -1 when this is not a TLS
 * ClientHello at all (wrong record type or version, wrong handshake type,
 * malformed, or not complete within TLS_HELLO_MAX bytes). Never reads past
 * p[n - 1]; pure. out is cleared on every call and meaningful only after 1.
 *
 * Called again with the longer buffer after each read; the caller keeps
 * the bytes (at most TLS_HELLO_MAX) for BearSSL or for the fallback splice.
 */
static ALK_UNUSED int tls_hello_parse(const uint8_t *p, size_t n, struct tls_hello *out)
{
    uint8_t msg[TLS_HELLO_MAX]; /* not secret, not wiped */
    size_t mlen = 0;
    memset(out, 0, sizeof *out);
    int rc = tls_hs_gather(p, n, msg, &mlen);
    if (rc == 1) rc = tls_hello_body(msg + 4, mlen - 4, out);
    if (rc != 1) memset(out, 0, sizeof *out);
    return rc;
}

/* Does the hello offer this ALPN protocol name (exact, case-sensitive
 * bytes, RFC 7301 3.1)? */
static ALK_UNUSED int tls_hello_has_alpn(const struct tls_hello *h, const char *proto)
{
    for (unsigned i = 0; i < h->nalpn && i < TLS_ALPN_MAX; i++)
        if (strcmp(h->alpn[i], proto) == 0) return 1;
    return 0;
}

/*
 * DER (X.690 10.1: definite length in the fewest octets). The writer keeps
 * three length octets free when a TLV is opened (0x82 + two bytes: up to
 * 65535 bytes of contents) and der_close() slides the contents left over
 * the octets the real length does not need. One memmove per TLV, a few
 * hundred bytes each: the certificate is built once at start.
 */
static size_t der_open(struct wr *w, uint8_t tag)
{
    wr_u8(w, tag);
    wr_room(w, 3);
    return w->len; /* where the contents start */
}
static void der_close(struct wr *w, size_t start)
{
    if (w->bad) return;
    size_t n = w->len - start, hl = n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
    uint8_t *h = w->p + start - 3;
    if (n > 0xffff) {
        w->bad = 1;
        return;
    }
    if (hl == 1) h[0] = (uint8_t)n;
    if (hl == 2) h[0] = 0x81, h[1] = (uint8_t)n;
    if (hl == 3) h[0] = 0x82, h[1] = (uint8_t)(n >> 8), h[2] = (uint8_t)n;
    memmove(h + hl, w->p + start, n);
    w->len -= 3 - hl;
}
static void der_prim(struct wr *w, uint8_t tag, const void *p, size_t n)
{
    size_t at = der_open(w, tag);
    wr_bytes(w, p, n);
    der_close(w, at);
}

/* X.690 8.19 object identifiers, contents octets. */
static const uint8_t x509_oid_ecdsa_sha256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t x509_oid_ec_pubkey[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t x509_oid_p256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t x509_oid_cn[] = {0x55, 0x04, 0x03};         /* 2.5.4.3 */
static const uint8_t x509_oid_key_usage[] = {0x55, 0x1d, 0x0f};  /* 2.5.29.15 */
static const uint8_t x509_oid_san[] = {0x55, 0x1d, 0x11};        /* 2.5.29.17 */
static const uint8_t x509_oid_basic_cons[] = {0x55, 0x1d, 0x13}; /* 2.5.29.19 */

/* RFC 5758 3.2: AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2),
 * parameters absent. Used for the TBS signature field and the outer one. */
static void x509_sigalg(struct wr *w)
{
    size_t at = der_open(w, 0x30);
    der_prim(w, 0x06, x509_oid_ecdsa_sha256, sizeof x509_oid_ecdsa_sha256);
    der_close(w, at);
}

/* RFC 5280 4.1.2.4 Name with one RDN:  SEQUENCE { SET { SEQUENCE {
 * id-at-commonName, UTF8String cn } } }  (UTF8String: RFC 5280 4.1.2.6). */
static void x509_name(struct wr *w, const char *cn, size_t cnlen)
{
    size_t seq = der_open(w, 0x30), set = der_open(w, 0x31), atv = der_open(w, 0x30);
    der_prim(w, 0x06, x509_oid_cn, sizeof x509_oid_cn);
    der_prim(w, 0x0c, cn, cnlen);
    der_close(w, atv), der_close(w, set), der_close(w, seq);
}

/*
 * RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ for years 1950 to 2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ for the others; always UTC ("Z") with
 * seconds and no fractions. Years past 9999 cannot be written (-1).
 */
static int x509_time(struct wr *w, const long f[6])
{
    long year = f[0];
    char s[16];
    size_t o = 0;
    if (year < 0 || year > 9999) return -1;
    int utc = year >= 1950 && year <= 2049;
    for (int i = 0; i < 6; i++) {
        long v = f[i];
        if (i == 0 && !utc) s[o++] = (char)('0' + v / 1000), s[o++] = (char)('0' + v / 100 % 10);
        s[o++] = (char)('0' + v / 10 % 10), s[o++] = (char)('0' + v % 10);
    }
    s[o++] = 'Z';
    der_prim(w, utc ? 0x17 : 0x18, s, o);
    return 0;
}

/* RFC 5480 2: SubjectPublicKeyInfo for a P-256 key:
 *   SEQUENCE { SEQUENCE { id-ecPublicKey, secp256r1 }, BIT STRING 00 04|X|Y } */
static void x509_spki(struct wr *w, const br_ec_public_key *pk)
{
    size_t spki = der_open(w, 0x30), alg = der_open(w, 0x30);
    der_prim(w, 0x06, x509_oid_ec_pubkey, sizeof x509_oid_ec_pubkey);
    der_prim(w, 0x06, x509_oid_p256, sizeof x509_oid_p256);
    der_close(w, alg);
    size_t bits = der_open(w, 0x03);
    wr_u8(w, 0); /* no unused bits */
    wr_bytes(w, pk->q, pk->qlen);
    der_close(w, bits);
    der_close(w, spki);
}

/* RFC 5280 4.1 Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT
 * FALSE, extnValue OCTET STRING }: opens the OCTET STRING; close both with
 * x509_ext_end(). */
static void x509_ext_begin(struct wr *w, const uint8_t *oid, size_t oidlen, int critical,
                           size_t at[2])
{
    static const uint8_t yes[] = {0x01, 0x01, 0xff}; /* BOOLEAN TRUE */
    at[0] = der_open(w, 0x30);
    der_prim(w, 0x06, oid, oidlen);
    if (critical) wr_bytes(w, yes, sizeof yes);
    at[1] = der_open(w, 0x04);
}
static void x509_ext_end(struct wr *w, const size_t at[2])
{
    der_close(w, at[1]);
    der_close(w, at[0]);
}

/* A DNS name for the subject and subjectAltName: 1 to 64 characters of
 * letters, digits, '-' and '.' (RFC 5280 4.2.1.6 preferred name syntax;
 * 64 is ub-common-name). */
static size_t x509_cn_len(const char *cn)
{
    size_t n = 0;
    for (; n <= X509_CN_MAX && cn[n]; n++) {
        char c = cn[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return 0;
    }
    return n <= X509_CN_MAX ? n : 0;
}

static int x509_leap(long y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

/*
 * A self-signed X.509 v3 certificate (DER) for an EC P-256 key pair:
 * subject = issuer = CN=<cn>; extensions basicConstraints (critical,
 * CA:FALSE), keyUsage (critical, digitalSignature: all an ECDHE_ECDSA
 * server key does, RFC 5280 4.2.1.3) and subjectAltName DNS:<cn>; serial
 * 16 random bytes, positive; valid from `now` - 1 day to the same instant
 * 10 calendar years after `now` (29 February becomes the 28th);
 * signature ecdsa-with-SHA256 by BearSSL (RFC 6979 nonces).
 *
 * RFC 5280 4.1:
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { [0] EXPLICIT version v3(2), serialNumber INTEGER,
 *       signature AlgorithmIdentifier, issuer Name, validity SEQUENCE { notBefore,
 *       notAfter }, subject Name, subjectPublicKeyInfo, [3] EXPLICIT Extensions }
 *
 * sk and pk must be a P-256 pair (checked: pk is recomputed from sk). The
 * calendar comes from utc_date() on 64 bits, so a 32-bit time_t has no 2038
 * problem here beyond `now` itself. Returns the DER length, 0 on error (bad key,
 * bad name, date not writable, cap too small; X509_CERT_MAX always
 * suffices: a 64-character name gives about 560 bytes).
 */
static ALK_UNUSED size_t x509_selfsigned(uint8_t *out, size_t cap, const br_ec_private_key *sk,
                                         const br_ec_public_key *pk, const char *cn, time_t now)
{
    static const uint8_t v3[] = {0xa0, 0x03, 0x02, 0x01, 0x02}; /* [0] INTEGER 2 */
    static const uint8_t ku_dsig[] = {0x03, 0x02, 0x07, 0x80};  /* BIT STRING, bit 0 */
    const br_ec_impl *ec = &ci_ec;
    uint8_t q[BR_EC_KBUF_PUB_MAX_SIZE], serial[16], h[32], sig[160]; /* not secret */
    uint8_t buf[X509_CERT_MAX]; /* der_open() needs slack: build here, then copy */
    size_t cnlen = x509_cn_len(cn), at[2];
    long nb[6], na[6];

    if (cnlen == 0 || now < 0 || sk->curve != BR_EC_secp256r1 || pk->curve != BR_EC_secp256r1 ||
        pk->qlen != 65 || pk->q[0] != 0x04)
        return 0;
    if (br_ec_compute_pub(ec, NULL, q, sk) != pk->qlen || memcmp(q, pk->q, pk->qlen) != 0) return 0;
    utc_date((int64_t)now - 86400, nb);
    utc_date(now, na);
    na[0] += 10;
    if (na[1] == 2 && na[2] == 29 && !x509_leap(na[0])) na[2] = 28;
    rnd_bytes(serial, sizeof serial);
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes, minimal */

    struct wr w = wr_init(buf, sizeof buf);
    size_t cert = der_open(&w, 0x30);
    size_t tbs_at = w.len;
    size_t tbs = der_open(&w, 0x30);
    wr_bytes(&w, v3, sizeof v3);
    der_prim(&w, 0x02, serial, sizeof serial);
    x509_sigalg(&w);
    x509_name(&w, cn, cnlen);
    size_t val = der_open(&w, 0x30);
    if (x509_time(&w, nb) < 0 || x509_time(&w, na) < 0) return 0;
    der_close(&w, val);
    x509_name(&w, cn, cnlen);
    x509_spki(&w, pk);
    size_t exts = der_open(&w, 0xa3), seq = der_open(&w, 0x30);
    x509_ext_begin(&w, x509_oid_basic_cons, sizeof x509_oid_basic_cons, 1, at);
    der_prim(&w, 0x30, NULL, 0); /* cA DEFAULT FALSE: empty in DER */
    x509_ext_end(&w, at);
    x509_ext_begin(&w, x509_oid_key_usage, sizeof x509_oid_key_usage, 1, at);
    wr_bytes(&w, ku_dsig, sizeof ku_dsig);
    x509_ext_end(&w, at);
    x509_ext_begin(&w, x509_oid_san, sizeof x509_oid_san, 0, at);
    size_t names = der_open(&w, 0x30);
    der_prim(&w, 0x82, cn, cnlen); /* [2] IMPLICIT IA5String dNSName */
    der_close(&w, names);
    x509_ext_end(&w, at);
    der_close(&w, seq), der_close(&w, exts);
    der_close(&w, tbs);
    if (w.bad) return 0;

    sha256(h, buf + tbs_at, w.len - tbs_at);
    size_t sl = br_ecdsa_i31_sign_asn1(ec, &br_sha256_vtable, h, sk, sig);
    if (sl == 0) return 0;
    x509_sigalg(&w);
    size_t bits = der_open(&w, 0x03);
    wr_u8(&w, 0); /* no unused bits */
    wr_bytes(&w, sig, sl);
    der_close(&w, bits);
    der_close(&w, cert);
    if (w.bad || w.len > cap) return 0;
    memcpy(out, buf, w.len);
    return w.len;
}

/*
 * A fresh P-256 key pair for x509_selfsigned(): BearSSL's key generator fed
 * by an HMAC-DRBG seeded with 32 bytes from rnd_bytes(). sk->x points into
 * skbuf and pk->q into pkbuf; the caller wipes skbuf when done. The seed
 * and the DRBG state are wiped here. Returns 0, or -1 (skbuf wiped).
 */
static ALK_UNUSED int x509_ec_keygen(br_ec_private_key *sk, uint8_t skbuf[BR_EC_KBUF_PRIV_MAX_SIZE],
                                     br_ec_public_key *pk, uint8_t pkbuf[BR_EC_KBUF_PUB_MAX_SIZE])
{
    const br_ec_impl *ec = &ci_ec;
    br_hmac_drbg_context drbg;
    uint8_t seed[32];
    rnd_bytes(seed, sizeof seed);
    br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof seed);
    size_t sn = br_ec_keygen(&drbg.vtable, ec, sk, skbuf, BR_EC_secp256r1);
    size_t pn = sn ? br_ec_compute_pub(ec, pk, pkbuf, sk) : 0;
    WIPE(seed);
    WIPE(drbg);
    if (sn == 0 || pn == 0) {
        wipe(skbuf, BR_EC_KBUF_PRIV_MAX_SIZE);
        return -1;
    }
    return 0;
}

/*
 * One DER TLV (X.690 8.1) through the bounded reader: a one-octet
 * identifier equal to `tag` (any low-tag-number identifier when tag < 0;
 * every level walked here uses those), then a definite length in the
 * fewest octets (X.690 10.1: 0x80 indefinite, 0x81 below 128 and leading
 * zero octets are not DER), at most 4 length octets. Returns the contents
 * as a view and sets *tlv (if not NULL) to the whole element.
 */
static struct str der_get(struct rd *r, int tag, struct str *tlv)
{
    struct str none = {NULL, 0};
    size_t start = r->off;
    uint8_t t = rd_u8(r);
    size_t n = rd_u8(r);
    if (tag >= 0 ? t != tag : (t & 0x1f) == 0x1f) r->bad = 1;
    if (n & 0x80) {
        size_t k = n & 0x7f;
        n = 0;
        if (k == 0 || k > 4) r->bad = 1;
        for (size_t i = 0; i < k && !r->bad; i++)
            n = n << 8 | rd_u8(r);
        if (n < 0x80 || (k > 1 && n >> 8 * (k - 1) == 0)) r->bad = 1;
    }
    struct str c = rd_bytes(r, n);
    if (r->bad) return none;
    if (tlv) tlv->p = r->p + start, tlv->n = r->off - start;
    return c;
}
static int der_peek(const struct rd *r) { return r->bad || r->off >= r->len ? -1 : r->p[r->off]; }

/*
 * SHA-256 of the subjectPublicKeyInfo of a DER certificate, the whole
 * SEQUENCE as it stands in the certificate, which is what
 *   openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256
 * hashes (and HPKP's pin-sha256, RFC 7469 2.4). As a --tls-pin it is
 * written "SHA256:" + base64: b64_enc(pad=1) gives openssl's text,
 * pad=0 ssh-keygen's style; b64_dec() reads both.
 *
 * RFC 5280 4.1 (see x509_selfsigned): the walk checks that the input is
 * exactly one Certificate SEQUENCE holding a TBSCertificate SEQUENCE, a
 * signatureAlgorithm SEQUENCE and a signatureValue BIT STRING; that the
 * TBSCertificate is [0] version (optional), INTEGER, four SEQUENCEs, the
 * SubjectPublicKeyInfo SEQUENCE { SEQUENCE, BIT STRING }, then well-formed
 * TLVs to its end. Names, dates and keys are not interpreted: BearSSL has
 * parsed this certificate already, this only finds the bytes to hash.
 * 0 and out set, or -1 if the DER is not a certificate. Bounded; pure.
 */
static ALK_UNUSED int x509_spki_sha256(const uint8_t *der, size_t n, uint8_t out[32])
{
    struct rd r = rd_init(der, n);
    struct str cert = der_get(&r, 0x30, NULL);
    if (!rd_end(&r)) return -1;
    struct rd c = rd_init(cert.p, cert.n);
    struct str tbs = der_get(&c, 0x30, NULL);
    der_get(&c, 0x30, NULL); /* signatureAlgorithm */
    der_get(&c, 0x03, NULL); /* signatureValue */
    if (!rd_end(&c)) return -1;
    struct rd t = rd_init(tbs.p, tbs.n);
    if (der_peek(&t) == 0xa0) der_get(&t, 0xa0, NULL); /* version */
    der_get(&t, 0x02, NULL);                           /* serialNumber */
    for (int i = 0; i < 4; i++)
        der_get(&t, 0x30, NULL); /* signature, issuer, validity, subject */
    struct str whole = {NULL, 0};
    struct str spki = der_get(&t, 0x30, &whole);
    while (!t.bad && t.off < t.len)
        der_get(&t, -1, NULL); /* issuerUniqueID, subjectUniqueID, extensions */
    if (!rd_end(&t)) return -1;
    struct rd s = rd_init(spki.p, spki.n);
    der_get(&s, 0x30, NULL); /* algorithm */
    der_get(&s, 0x03, NULL); /* subjectPublicKey */
    if (!rd_end(&s)) return -1;
    sha256(out, whole.p, whole.n);
    return 0;
}

/* ==================== SECTION 7: keys, known_hosts (key_ kh_) ==================== */

/*
 * Keys are ssh-ed25519 only, stored as OpenSSH stores them, so that files
 * move freely between alknet and ssh/ssh-keygen:
 *   private: PEM "OPENSSH PRIVATE KEY" around openssh-key-v1 (PROTOCOL.key),
 *            unencrypted; encrypted ones are refused with advice.
 *   public:  "ssh-ed25519 BASE64(blob) comment", blob = string "ssh-ed25519"
 *            string pk[32]   (RFC 8709 4).
 */
#define KEY_BLOB_LEN 51 /* 4 + 11 + 4 + 32 */
#define KEY_FP_LEN 51   /* "SHA256:" + 43 base64 characters + NUL */
#define KEY_FILE_MAX 65536
static const char key_magic[] = "openssh-key-v1"; /* followed by a NUL on the wire */
static const char pem_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
static const char pem_end[] = "-----END OPENSSH PRIVATE KEY-----";

struct key {
    uint8_t pk[32];
    uint8_t seed[32]; /* the private key proper; zero in public-only keys */
    int priv;
    char comment[256];
};

static void key_blob(const uint8_t pk[32], uint8_t out[KEY_BLOB_LEN])
{
    struct wr w = wr_init(out, KEY_BLOB_LEN);
    wr_cstr(&w, "ssh-ed25519");
    wr_str(&w, pk, 32);
}

/* "SHA256:..." exactly as ssh-keygen -l prints it. */
static void key_fp(const uint8_t pk[32], char out[KEY_FP_LEN])
{
    uint8_t blob[KEY_BLOB_LEN], h[32];
    key_blob(pk, blob);
    sha256(h, blob, sizeof blob);
    memcpy(out, "SHA256:", 7);
    b64_enc(out + 7, h, 32, 0);
}

/* Parses a public key blob; 0, or -1 if it is not ssh-ed25519. */
static int key_from_blob(struct str blob, uint8_t pk[32])
{
    struct rd r = rd_init(blob.p, blob.n);
    struct str t = rd_str(&r, 64);
    const uint8_t *k = rd_fixed(&r, 32);
    if (!rd_end(&r) || !str_eq(t, "ssh-ed25519")) return -1;
    memcpy(pk, k, 32);
    return 0;
}

/* Writes "ssh-ed25519 BASE64 comment" (no newline). */
static void key_pub_line(const struct key *k, char *out, size_t cap)
{
    uint8_t blob[KEY_BLOB_LEN];
    char b64[80];
    key_blob(k->pk, blob);
    b64_enc(b64, blob, sizeof blob, 1);
    fmt_s(out, cap, "ssh-ed25519 %s%s%s", b64, k->comment[0] ? " " : "", k->comment);
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}
static size_t word_len(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\n' && s[n] != '\r')
        n++;
    return n;
}

/*
 * Parses "TYPE BASE64 [comment]" from s (NUL-terminated; may be followed by
 * a newline). Returns 0 for an ssh-ed25519 key, 1 for a well-formed key of
 * another type (callers skip those), -1 for garbage.
 */
static int key_parse_pub(const char *s, struct key *k)
{
    memset(k, 0, sizeof *k);
    s = skip_ws(s);
    size_t tn = word_len(s);
    const char *b = skip_ws(s + tn);
    size_t bn = word_len(b);
    if (tn == 0 || bn == 0) return -1;
    uint8_t blob[4096]; /* other key types are skipped, but must still parse */
    long n = b64_dec(blob, sizeof blob, b, bn);
    if (n < 0) return -1;
    struct rd r = rd_init(blob, (size_t)n);
    struct str t = rd_str(&r, 64);
    if (r.bad || t.n != tn || memcmp(t.p, s, tn) != 0) return -1;
    if (!str_eq(t, "ssh-ed25519")) return 1;
    struct str all = {blob, (size_t)n};
    if (key_from_blob(all, k->pk) != 0) return -1;
    const char *c = skip_ws(b + bn);
    size_t cn = strcspn(c, "\r\n");
    if (cn >= sizeof k->comment) cn = sizeof k->comment - 1;
    memcpy(k->comment, c, cn);
    k->comment[cn] = 0;
    return 0;
}

/* Reads a whole small file into a NUL-terminated heap buffer. */
static char *file_read(const char *path, size_t max, size_t *len, char *err, size_t errcap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fmt_s(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(max + 1);
    size_t n = 0;
    int bad = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, max - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            fmt_s(err, errcap, "cannot read %s: %s", path, strerror(errno));
            bad = 1;
            break;
        }
        n += (size_t)r;
        if (r == 0 || n == max) break;
    }
    char extra;
    if (n == max && read(fd, &extra, 1) == 1) {
        fmt_s(err, errcap, "%s is too large (over %zu bytes)", path, max);
        bad = 1;
    }
    close(fd);
    if (bad) {
        wipe(buf, max + 1);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/*
 * Loads an OpenSSH private key file. On failure returns -1 with a message
 * in err that names the file and says what to do. The checks follow
 * OpenSSH: a private key readable by group or others is refused.
 */
/*
 * Parses the text of an OpenSSH private key file (n bytes, NUL after
 * them); `path` only names the file in messages. 0, or -1 with err set.
 */
static int key_parse_private(const char *text, size_t n, const char *path, struct key *k, char *err,
                             size_t errcap)
{
    memset(k, 0, sizeof *k);
    int rc = -1;
    uint8_t *bin = xmalloc(n);
    const char *b = strstr(text, pem_begin), *e = b ? strstr(b, pem_end) : NULL;
    long bn;
    if (!b || !e) {
        fmt_s(err, errcap,
              "%s is not an OpenSSH private key (expected \"%s\"; convert other formats with "
              "ssh-keygen -p -f FILE)",
              path, pem_begin);
        goto out;
    }
    b += strlen(pem_begin);
    bn = b64_dec(bin, n, b, (size_t)(e - b));
    struct rd r = rd_init(bin, bn < 0 ? 0 : (size_t)bn);
    struct str magic = rd_bytes(&r, sizeof key_magic);
    if (bn < 0 || r.bad || memcmp(magic.p, key_magic, sizeof key_magic) != 0) {
        fmt_s(err, errcap, "%s: damaged OpenSSH private key (bad base64 or header)", path);
        goto out;
    }
    struct str cipher = rd_str(&r, 64), kdf = rd_str(&r, 64);
    rd_str(&r, 1024); /* kdf options */
    uint32_t nkeys = rd_u32(&r);
    struct str pub = rd_str(&r, 1024), sec = rd_str(&r, 8192);
    if (!rd_end(&r)) {
        fmt_s(err, errcap, "%s: damaged OpenSSH private key", path);
        goto out;
    }
    if (!str_eq(cipher, "none") || !str_eq(kdf, "none")) {
        fmt_s(err, errcap,
              "private key %s is encrypted with a passphrase (%s); alknet reads only "
              "unencrypted keys: decrypt a copy with ssh-keygen -p -f COPY and an empty new "
              "passphrase, chmod 600 it, and use that",
              path, log_str(cipher));
        goto out;
    }
    uint8_t pk[32];
    if (nkeys != 1 || key_from_blob(pub, pk) != 0) {
        fmt_s(err, errcap,
              "%s holds no ssh-ed25519 key (alknet uses ed25519 only; make one "
              "with alknet keygen or ssh-keygen -t ed25519)",
              path);
        goto out;
    }
    /* private section: uint32 check, uint32 check, string type, string pk,
     * string sk (seed || pk), string comment, padding 1 2 3 ... */
    r = rd_init(sec.p, sec.n);
    uint32_t c1 = rd_u32(&r), c2 = rd_u32(&r);
    struct str t = rd_str(&r, 64);
    const uint8_t *pk2 = rd_fixed(&r, 32), *sk = rd_fixed(&r, 64);
    struct str cm = rd_str(&r, 1024);
    size_t padn = r.len - r.off;
    for (size_t i = 0; !r.bad && i < padn; i++)
        if (r.p[r.off + i] != (uint8_t)(i + 1)) r.bad = 1;
    if (r.bad || c1 != c2 || sec.n % 8 != 0 || !str_eq(t, "ssh-ed25519") || padn >= 8 ||
        memcmp(pk2, pk, 32) != 0 || memcmp(sk + 32, pk, 32) != 0) {
        fmt_s(err, errcap, "%s: damaged OpenSSH private key (private part)", path);
        goto out;
    }
    memcpy(k->seed, sk, 32);
    ed_pubkey(k->pk, k->seed);
    if (memcmp(k->pk, pk, 32) != 0) {
        fmt_s(err, errcap, "%s: private and public halves do not match", path);
        wipe(k, sizeof *k);
        goto out;
    }
    k->priv = 1;
    size_t cn = MIN(cm.n, sizeof k->comment - 1);
    memcpy(k->comment, cm.p, cn);
    k->comment[cn] = 0;
    rc = 0;
out:
    wipe(bin, n);
    free(bin);
    return rc;
}
static int key_load(const char *path, struct key *k, char *err, size_t errcap)
{
    struct stat st;
    memset(k, 0, sizeof *k);
    err[0] = 0;
    if (stat(path, &st) != 0) {
        fmt_s(err, errcap, "cannot open private key %s: %s", path, strerror(errno));
        return -1;
    }
    if ((st.st_mode & 077) != 0 && st.st_uid == geteuid()) {
        fmt_s(err, errcap,
              "permissions %04o for private key %s are too open: it must not be accessible "
              "by others, so it is ignored (fix: chmod 600 %s)",
              (unsigned)(st.st_mode & 07777), path, path);
        return -1;
    }
    size_t n;
    char *text = file_read(path, KEY_FILE_MAX, &n, err, errcap);
    if (!text) return -1;
    int rc = key_parse_private(text, n, path, k, err, errcap);
    wipe(text, n);
    free(text);
    return rc;
}

/* Creates path with mode, refusing to replace an existing file. */
static int file_create(const char *path, const char *data, size_t n, mode_t mode, char *err,
                       size_t errcap)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        fmt_s(err, errcap, "cannot create %s: %s%s", path, strerror(errno),
              errno == EEXIST ? " (remove it first, or choose another file with -f)" : "");
        return -1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fmt_s(err, errcap, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        fmt_s(err, errcap, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

/* Writes k as an OpenSSH private key (0600) at path and its public key
 * line at path.pub (0644). Neither file may exist yet. */
static int key_save(const char *path, const struct key *k, char *err, size_t errcap)
{
    uint8_t bin[512], sec[256], blob[KEY_BLOB_LEN];
    struct wr s = wr_init(sec, sizeof sec);
    uint32_t check = rnd_u32();
    wr_u32(&s, check);
    wr_u32(&s, check);
    wr_cstr(&s, "ssh-ed25519");
    wr_str(&s, k->pk, 32);
    wr_u32(&s, 64);
    wr_bytes(&s, k->seed, 32);
    wr_bytes(&s, k->pk, 32);
    wr_cstr(&s, k->comment);
    for (uint8_t i = 1; s.len % 8 != 0; i++)
        wr_u8(&s, i);
    key_blob(k->pk, blob);
    struct wr w = wr_init(bin, sizeof bin);
    wr_bytes(&w, key_magic, sizeof key_magic);
    wr_cstr(&w, "none");
    wr_cstr(&w, "none");
    wr_cstr(&w, "");
    wr_u32(&w, 1);
    wr_str(&w, blob, sizeof blob);
    wr_str(&w, sec, s.len);
    wipe(sec, sizeof sec);
    if (s.bad || w.bad) {
        fmt_s(err, errcap, "key comment too long");
        wipe(bin, sizeof bin);
        return -1;
    }
    char b64[720], text[900];
    size_t bl = b64_enc(b64, bin, w.len, 1), tl = 0;
    wipe(bin, sizeof bin);
    tl += (size_t)fmt_s(text, sizeof text, "%s\n", pem_begin);
    for (size_t i = 0; i < bl; i += 70)
        tl += (size_t)fmt_s(text + tl, sizeof text - tl, "%.*s\n", (int)MIN(70, bl - i), b64 + i);
    tl += (size_t)fmt_s(text + tl, sizeof text - tl, "%s\n", pem_end);
    wipe(b64, sizeof b64);
    char pubpath[PATH_MAX], line[512];
    fmt_s(pubpath, sizeof pubpath, "%s.pub", path);
    key_pub_line(k, line, sizeof line - 1);
    strcat(line, "\n");
    int rc = file_create(path, text, tl, 0600, err, errcap);
    wipe(text, sizeof text);
    if (rc == 0 && file_create(pubpath, line, strlen(line), 0644, err, errcap) != 0) {
        unlink(path);
        rc = -1;
    }
    return rc;
}

/*
 * known_hosts, OpenSSH format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 *   [@revoked|@cert-authority] PATTERNS KEYTYPE BASE64 [comment]
 * PATTERNS is a comma list of host names with * and ? wildcards, negated
 * with !, written [host]:port for ports other than 22, or one hashed entry
 * |1|base64(salt)|base64(HMAC-SHA1(salt, name)). Lines for other key types
 * are skipped; @cert-authority lines too (no certificates here).
 */
enum { KH_UNKNOWN, KH_OK, KH_CHANGED, KH_REVOKED };

/* The name known_hosts stores for host:port. */
static void kh_name(char *out, size_t cap, const char *host, unsigned port)
{
    if (port == 22)
        fmt_s(out, cap, "%s", host);
    else
        fmt_s(out, cap, "[%s]:%u", host, port);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
}

/*
 * Glob with * and ?, case-insensitive (names are lowercased already). On a
 * mismatch it returns to the last * and lets it take one more character:
 * at most pattern x string steps, never the exponential backtracking of
 * the recursive form (patterns come from operators, strings from clients).
 */
static int kh_glob(const char *pat, size_t pn, const char *s)
{
    size_t p = 0, star = (size_t)-1;
    const char *mark = s;
    while (*s) {
        if (p < pn && pat[p] == '*') {
            star = ++p;
            mark = s;
            continue;
        }
        char a = p < pn && pat[p] >= 'A' && pat[p] <= 'Z' ? (char)(pat[p] - 'A' + 'a')
                 : p < pn                                 ? pat[p]
                                                          : 0;
        if (p < pn && (a == '?' || a == *s)) {
            p++, s++;
        } else if (star != (size_t)-1) {
            p = star;
            s = ++mark;
        } else {
            return 0;
        }
    }
    while (p < pn && pat[p] == '*')
        p++;
    return p == pn;
}

/* Does the host field (n bytes at f) match name? */
static int kh_match(const char *f, size_t n, const char *name)
{
    if (n > 3 && memcmp(f, "|1|", 3) == 0) {
        const char *salt = f + 3, *bar = memchr(salt, '|', n - 3);
        uint8_t s[64], h[20], mac[20];
        if (!bar) return 0;
        long sn = b64_dec(s, sizeof s, salt, (size_t)(bar - salt));
        long hn = b64_dec(h, sizeof h, bar + 1, n - (size_t)(bar + 1 - f));
        if (sn <= 0 || hn != 20) return 0;
        br_hmac_key_context kc;
        br_hmac_context hc;
        br_hmac_key_init(&kc, &br_sha1_vtable, s, (size_t)sn);
        br_hmac_init(&hc, &kc, 0);
        br_hmac_update(&hc, name, strlen(name));
        br_hmac_out(&hc, mac);
        return memcmp(mac, h, 20) == 0;
    }
    int pos = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && f[j] != ',')
            j++;
        int neg = f[i] == '!';
        if (kh_glob(f + i + neg, j - i - (size_t)neg, name)) {
            if (neg) return 0;
            pos = 1;
        }
        i = j + 1;
    }
    return pos;
}

/*
 * Looks host:port up in a known_hosts file. Returns KH_OK if one of its
 * ed25519 keys is pk, KH_REVOKED if pk is marked @revoked, KH_CHANGED if
 * the host has ed25519 keys but none is pk (where = "file:line" of one),
 * KH_UNKNOWN otherwise (also when the file does not exist). -1 if the file
 * exists but cannot be read.
 */
/* kh_check on the text of a file (modified in place); path names it in `where`. */
static int kh_check_text(char *text, const char *path, const char *host, unsigned port,
                         const uint8_t pk[32], char *where, size_t wcap)
{
    char name[300];
    kh_name(name, sizeof name, host, port);
    int ok = 0, changed = 0, revoked = 0, lineno = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        const char *s = skip_ws(line);
        int rev = 0;
        if (*s == '@') {
            size_t mn = word_len(s);
            if (mn == 8 && memcmp(s, "@revoked", 8) == 0)
                rev = 1;
            else
                goto next; /* @cert-authority and unknown markers */
            s = skip_ws(s + mn);
        }
        if (*s == '#' || *s == 0) goto next;
        size_t hn = word_len(s);
        if (!kh_match(s, hn, name)) goto next;
        struct key k;
        if (key_parse_pub(s + hn, &k) != 0) goto next;
        if (rev) {
            if (memcmp(k.pk, pk, 32) == 0) revoked = 1;
        } else if (memcmp(k.pk, pk, 32) == 0) {
            ok = 1;
        } else if (!changed) {
            changed = 1;
            fmt_s(where, wcap, "%s:%d", path, lineno);
        }
    next:
        line = nl ? nl + 1 : NULL;
    }
    return revoked ? KH_REVOKED : ok ? KH_OK : changed ? KH_CHANGED : KH_UNKNOWN;
}

static int kh_check(const char *path, const char *host, unsigned port, const uint8_t pk[32],
                    char *where, size_t wcap)
{
    char err[256];
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) return KH_UNKNOWN;
    char *text = file_read(path, 4u << 20, NULL, err, sizeof err);
    if (!text) return -1;
    int r = kh_check_text(text, path, host, port, pk, where, wcap);
    free(text);
    return r;
}

/* Creates a directory and its missing parents (mode for the new ones). */
static void mkdirs(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    fmt_s(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, mode);
            *p = '/';
        }
    mkdir(tmp, mode);
}

/* Appends "name ssh-ed25519 BASE64" to a known_hosts file, creating the
 * file (and its directory, 0700) if needed. */
static int kh_add(const char *path, const char *host, unsigned port, const uint8_t pk[32],
                  char *err, size_t errcap)
{
    char dir[PATH_MAX], name[300], line[512];
    fmt_s(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdirs(dir, 0700);
    }
    struct key k;
    memset(&k, 0, sizeof k);
    memcpy(k.pk, pk, 32);
    kh_name(name, sizeof name, host, port);
    size_t n = (size_t)fmt_s(line, sizeof line, "%s ", name);
    key_pub_line(&k, line + n, sizeof line - n - 1);
    strcat(line, "\n");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        fmt_s(err, errcap, "cannot add the host key to %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static const char *home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h) return h;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "/";
}

/* ==================== SECTION 8: sockets, byte queues (net_ buf_) ==================== */

/*
 * A byte queue: data is p[off .. off+len). Appends go to the tail, reads
 * come from the head; when the head catches up the queue rewinds to 0, and
 * when the tail hits the end the remaining data is moved to the front
 * (buf_reserve). That move is the one copy not forced by the protocol: in
 * the SSH input buffer it moves at most one partial packet per 128 KiB
 * read; in the output buffer it happens only while the peer is slow.
 */
struct buf {
    uint8_t *p;
    size_t cap, off, len;
};
static uint8_t *buf_head(const struct buf *b) { return b->p + b->off; }
static uint8_t *buf_tail(const struct buf *b) { return b->p + b->off + b->len; }
static size_t buf_room(const struct buf *b) { return b->cap - b->off - b->len; }

/* Makes room for n more bytes at the tail, growing to at least `want`. */
static void buf_reserve(struct buf *b, size_t n, size_t want)
{
    if (buf_room(b) >= n) return;
    if (b->off > 0 && b->cap - b->len >= n) {
        memmove(b->p, b->p + b->off, b->len);
        b->off = 0;
        return;
    }
    size_t cap = MAX(MAX(want, b->cap * 2), b->len + n);
    if (b->off > 0) memmove(b->p, b->p + b->off, b->len), b->off = 0;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}
static void buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n, n);
    memcpy(buf_tail(b), p, n);
    b->len += n;
}
static void buf_consume(struct buf *b, size_t n)
{
    b->off += n, b->len -= n;
    if (b->len == 0) b->off = 0;
}
static void buf_free(struct buf *b)
{
    if (b->p) wipe(b->p, b->cap);
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Our own sockets: non-blocking, and not inherited by a -- COMMAND. */
static int net_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}
static void net_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
/* Closes a socket with a TCP reset instead of a FIN: how a stream that
 * failed tells its local client so (spec 4 "reset on failure"). */
static void net_close_reset(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/*
 * inet_ntop() on fmt_s() (musl's would link libc's printf back in): IPv4
 * dotted, IPv6 as RFC 5952 4 writes it (lowercase hex without leading zeros,
 * the first longest run of two or more zero groups as "::") and IPv4-mapped
 * addresses as ::ffff:a.b.c.d (RFC 5952 5).
 */
static void net_ntop(int af, const void *src, char *dst, size_t cap)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    const uint8_t *a = src;
    if (af == AF_INET || memcmp(a, mapped, 12) == 0) {
        const uint8_t *v4 = af == AF_INET ? a : a + 12;
        fmt_s(dst, cap, "%s%u.%u.%u.%u", af == AF_INET ? "" : "::ffff:", v4[0], v4[1], v4[2],
              v4[3]);
        return;
    }
    int best = -1, bestlen = 1;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && !a[2 * j] && !a[2 * j + 1])
            j++;
        if (j - i > bestlen) best = i, bestlen = j - i;
        i = j > i ? j : i + 1;
    }
    char t[48];
    size_t o = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            t[o++] = ':', t[o++] = ':';
            i += bestlen - 1;
            continue;
        }
        if (o > 0 && t[o - 1] != ':') t[o++] = ':';
        o += (size_t)fmt_s(t + o, sizeof t - o, "%x", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
    }
    t[o] = 0;
    fmt_s(dst, cap, "%s", t);
}

/* "1.2.3.4:80", "[::1]:80" for logs. */
static void net_addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
    char h[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)sa;
        net_ntop(AF_INET, &s->sin_addr, h, sizeof h);
        port = ntohs(s->sin_port);
        fmt_s(out, cap, "%s:%u", h, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)sa;
        net_ntop(AF_INET6, &s->sin6_addr, h, sizeof h);
        port = ntohs(s->sin6_port);
        fmt_s(out, cap, "[%s]:%u", h, port);
    } else {
        fmt_s(out, cap, "unix");
    }
}

static int net_port(const char *s, unsigned *port)
{
    unsigned long v = 0;
    if (!*s || strlen(s) > 5) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > 65535) return -1;
    *port = (unsigned)v;
    return 0;
}

/*
 * Splits "HOST:PORT", "[V6]:PORT" or (with allow_bare) "PORT" into parts.
 * host gets defhost when absent. Returns 0 or -1.
 */
static int net_split(const char *s, char *host, size_t hcap, unsigned *port, const char *defhost,
                     int allow_bare)
{
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= hcap || rb == s + 1) return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = 0;
        return net_port(rb + 2, port);
    }
    colon = strrchr(s, ':');
    if (!colon) {
        if (!allow_bare || !defhost) return -1;
        fmt_s(host, hcap, "%s", defhost);
        return net_port(s, port);
    }
    if (memchr(s, ':', (size_t)(colon - s))) return -1; /* bare IPv6 needs brackets */
    if ((size_t)(colon - s) >= hcap) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    if (!host[0]) {
        if (!defhost) return -1;
        fmt_s(host, hcap, "%s", defhost);
    }
    return net_port(colon + 1, port);
}

/* "host:port", or "[host]:port" for an IPv6 address. */
static void net_hostport(char *out, size_t cap, const char *host, unsigned port)
{
    fmt_s(out, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

/* The addresses of host:port: listen addresses and the backends named in
 * the options (--fallback, --outbound). */
#define NET_ADDRS_MAX 8
struct net_addrs {
    struct sockaddr_storage a[NET_ADDRS_MAX];
    unsigned n;
};
static int rs_addrs(const char *host, unsigned port, struct net_addrs *out, char *err,
                    size_t errcap); /* SECTION 12a */

static socklen_t net_sa_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* A non-blocking listening socket on host:port (port 0: any free port); a
 * name binds its first address. */
static int net_listen(const char *host, unsigned port, char *err, size_t errcap)
{
    struct net_addrs a;
    if (rs_addrs(host, port, &a, err, errcap) != 0) return -1;
    int family = a.a[0].ss_family;
    int fd = socket(family, SOCK_STREAM, 0), one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* [::] means IPv6 only, so that 0.0.0.0 on the same port can be a listener too */
    if (fd >= 0 && family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a.a[0], net_sa_len(&a.a[0])) != 0 ||
        listen(fd, 512) != 0 || net_nonblock(fd) != 0) {
        fmt_s(err, errcap, "cannot listen on %s:%u: %s", host, port, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    return fd;
}

/* Out of descriptors or buffers: a reason to wait, not a fault of the peer.
 * Says so once per minute at most. */
static int net_out_of_fds(int e)
{
    static int64_t said;
    if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) return 0;
    int64_t t = now_ms();
    if (!said || t - said >= 60000) {
        LOG(L_WARN, 0, "out of resources: %s (raise ulimit -n?)", strerror(e));
        said = t;
    }
    return 1;
}

/* Starts a non-blocking connect(); the socket, or -1 with errno set. */
static int net_connect(const struct sockaddr_storage *ss)
{
    socklen_t sl =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    net_nonblock(fd);
    if (connect(fd, (const struct sockaddr *)ss, sl) == 0 || errno == EINPROGRESS) return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static unsigned net_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

static int net_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) ==
               127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        static const uint8_t lo[16] = {[15] = 1};
        return memcmp(a->s6_addr, lo, 16) == 0;
    }
    return 0;
}

struct lsn;
struct chan;
struct ssh;
struct splice;
/* The loop's tables (SECTION 15 runs them). Objects are marked dead and
 * freed only by ev_reap, between passes, so pointers stay valid within a
 * pass. */
static struct {
    struct chan **ch;
    size_t nch, capch;
    struct lsn **lsn;
    size_t nlsn;
    struct ssh **ssh; /* connections (the client has one) */
    size_t nssh, capssh;
    struct splice **sp; /* visitors joined to --fallback (SECTION 18) */
    size_t nsp, capsp;
    int sig[2]; /* self-pipe: signal number bytes */
    int quit;
    int64_t now;
} ev = {.sig = {-1, -1}};

/* ==================== SECTION 8a: destination policy (pol_) ==================== */

/*
 * Which destinations a client may make `alknet serve` connect to. The
 * operator writes rules with --allow RULE and --deny RULE (config file:
 * "allow RULE", "deny RULE"), kept in the order given:
 *
 *   RULE   = TARGET [":" PORTS]           10.0.0.0/8   *.corp.example:443
 *          | "[" IPV6 ["/" BITS] "]" [":" PORTS]        [2001:db8::/32]:443
 *          | ":" PORTS | "*:" PORTS        every destination, these ports
 *   TARGET = "*"                           anything
 *          | IPV4 ["/" 0-32]               one address, or a CIDR network
 *          | IPV6 ["/" 0-128]              written bare only without PORTS
 *          | NAME-PATTERN                  letters, digits, - . _ and the
 *                                          wildcards * (any run) and ? (one)
 *   PORTS  = N | N "-" M | "*"             no PORTS part means every port
 *
 * How a destination is judged, in plain words:
 *
 * - The question is always (the name as the client sent it, the port, one
 *   address). The server resolves the name and asks once per address it
 *   got, and connects only to the allowed ones; so a public name that
 *   resolves to 10.0.0.1 cannot walk a client into the server's network.
 * - Rules are tried in order; the first one that matches decides, allow or
 *   deny. A rule matches when its target matches and the port is in its
 *   range.
 * - Address and CIDR targets look at the address, never at the name. IPv4
 *   targets also see the IPv4 address inside an IPv6 one: mapped
 *   (::ffff:a.b.c.d), compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d),
 *   because connecting there reaches that IPv4 host. IPv6 targets see an
 *   IPv4 address as ::ffff:a.b.c.d.
 * - Name patterns look at the name the client sent (any case; one trailing
 *   dot ignored), never at the address. So "--allow intranet.example" lets
 *   clients reach that name whatever it resolves to, its 10.x address
 *   included: the operator vouches for the name. A deny by name is weaker
 *   than it looks: another name for the same host, or its bare address, is
 *   not caught; deny addresses with CIDRs. For the same reason a pattern
 *   made only of digits, dots and wildcards (192.0.2.*) is refused with
 *   advice to write 192.0.2.0/24.
 * - When no rule matches, the default decides: addresses in the "internal"
 *   ranges of pol_defaults[] (this network, private, CGNAT, loopback,
 *   link-local, IETF protocol, benchmarking, multicast, reserved and
 *   broadcast; IPv6 unspecified, loopback, link-local, unique-local,
 *   multicast) are denied, everything else is allowed. "--deny *" as the
 *   last rule turns this into deny-by-default.
 * - Names beginning with "alknet-" are served by the server itself and have
 *   no address; pol_check_name(..., reserved=1) judges them by the rules
 *   that do not need an address and allows them when none matches.
 *
 * Rules are the operator's text, trusted; names and ports are the client's.
 */
#define POL_RULES_MAX 4096 /* rules per policy */
#define POL_TEXT_MAX 300   /* one rule, as written */
#define POL_NAME_MAX 255   /* a requested name longer than this is denied */
#define POL_STARS_MAX 3    /* kh_glob backtracks: 3 stars against 255 bytes cost ~2 ms */

enum { POL_ANY, POL_V4, POL_V6, POL_NAME };

/* One rule. Fixed size; the only pointer is the owned name pattern. */
struct pol_rule {
    uint8_t allow;   /* 1 allow, 0 deny */
    uint8_t kind;    /* POL_ANY, POL_V4, POL_V6, POL_NAME */
    uint8_t bits;    /* prefix length, POL_V4 and POL_V6 */
    uint8_t a[16];   /* network address, host bits zero (IPv4: first 4 bytes) */
    uint16_t lo, hi; /* port range, inclusive */
    char *pat;       /* POL_NAME: pattern in lowercase, owned; else NULL */
};
struct pol {
    struct pol_rule *r; /* in the order given: first match wins */
    size_t n;
};

/* An address as the policy sees it. */
struct pol_ip {
    uint8_t v6[16]; /* the address as IPv6; an IPv4 one as ::ffff:a.b.c.d */
    uint8_t v4[4];  /* the IPv4 address, if has4 */
    uint8_t has4;   /* an IPv4 address, or one carried inside IPv6 */
    uint8_t fam4;   /* the socket address was AF_INET */
};

static const uint8_t pol_pfx_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t pol_pfx_nat64[12] = {0, 0x64, 0xff, 0x9b}; /* 64:ff9b::/96, RFC 6052 */
static const uint8_t pol_pfx_compat[12] = {0};                  /* ::/96, RFC 4291 2.5.5.1 */

/*
 * The defaults when no rule matches: these ranges are denied, the rest of
 * the address space is allowed. `allow` is the rule text that lifts the
 * ban; the why text suggests it. IPv4 entries use the first 4 bytes of a.
 */
static const struct pol_def {
    uint8_t v4, bits;
    uint8_t a[16];
    const char *allow, *what;
} pol_defaults[] = {
    {1, 8, {0}, "0.0.0.0/8", "a \"this network\" address"},
    {1, 8, {10}, "10.0.0.0/8", "a private address"},
    {1, 10, {100, 64}, "100.64.0.0/10", "a shared (carrier-grade NAT) address"},
    {1, 8, {127}, "127.0.0.0/8", "a loopback address"},
    {1, 16, {169, 254}, "169.254.0.0/16", "a link-local address"},
    {1, 12, {172, 16}, "172.16.0.0/12", "a private address"},
    {1, 24, {192, 0, 0}, "192.0.0.0/24", "an IETF protocol address"},
    {1, 16, {192, 168}, "192.168.0.0/16", "a private address"},
    {1, 15, {198, 18}, "198.18.0.0/15", "a benchmarking address"},
    {1, 4, {224}, "224.0.0.0/4", "a multicast address"},
    {1, 4, {240}, "240.0.0.0/4", "a reserved or broadcast address"},
    {0, 128, {0}, "::/128", "the unspecified address"},
    {0, 128, {[15] = 1}, "::1", "the loopback address"},
    {0, 10, {0xfe, 0x80}, "fe80::/10", "a link-local address"},
    {0, 7, {0xfc}, "fc00::/7", "a unique-local address"},
    {0, 8, {0xff}, "ff00::/8", "a multicast address"},
};

/* fmt_s() into dst, then return rc: "return pol_say(-1, err, errcap, ...);". */
static ALK_PRINTF(4, 5) int pol_say(int rc, char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_v(dst, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* Do the first `bits` bits of a and b agree? */
static int pol_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t n = bits / 8;
    if (memcmp(a, b, n) != 0) return 0;
    if (bits % 8 == 0) return 1;
    uint8_t m = (uint8_t)(0xff00u >> (bits % 8));
    return ((a[n] ^ b[n]) & m) == 0;
}

/*
 * Fills ip from a socket address; -1 if it is not IPv4 or IPv6. IPv4-mapped
 * IPv6 addresses always count as IPv4 (that is how a dual-stack socket shows
 * an IPv4 peer). With `embedded`, compatible (::a.b.c.d, but not :: and
 * ::1) and NAT64 (64:ff9b::a.b.c.d) addresses count as IPv4 too: a
 * destination written that way reaches the IPv4 host.
 */
static int pol_ip_of(const struct sockaddr *sa, int embedded, struct pol_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)sa;
        memcpy(ip->v4, &s->sin_addr, 4);
        memcpy(ip->v6, pol_pfx_mapped, 12);
        memcpy(ip->v6 + 12, ip->v4, 4);
        ip->has4 = ip->fam4 = 1;
        return 0;
    }
    if (!sa || sa->sa_family != AF_INET6) return -1;
    const struct sockaddr_in6 *s = (const void *)sa;
    memcpy(ip->v6, s->sin6_addr.s6_addr, 16);
    const uint8_t *t = ip->v6 + 12;
    int compat = memcmp(ip->v6, pol_pfx_compat, 12) == 0 && (t[0] | t[1] | t[2] | (t[3] & 0xfe));
    if (memcmp(ip->v6, pol_pfx_mapped, 12) == 0 ||
        (embedded && (compat || memcmp(ip->v6, pol_pfx_nat64, 12) == 0))) {
        memcpy(ip->v4, t, 4);
        ip->has4 = 1;
    }
    return 0;
}

/* "10.1.2.3", "2001:db8::1", or "64:ff9b::a00:1 (IPv4 10.0.0.1)" for messages. */
static void pol_ip_text(const struct pol_ip *ip, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "?", b[INET_ADDRSTRLEN] = "?";
    if (ip->fam4) {
        net_ntop(AF_INET, ip->v4, a, sizeof a);
        fmt_s(out, cap, "%s", a);
        return;
    }
    net_ntop(AF_INET6, ip->v6, a, sizeof a);
    if (ip->has4 && memcmp(ip->v6, pol_pfx_mapped, 12) != 0) {
        net_ntop(AF_INET, ip->v4, b, sizeof b);
        fmt_s(out, cap, "%s (IPv4 %s)", a, b);
    } else {
        fmt_s(out, cap, "%s", a);
    }
}

/*
 * A requested host name made ready for matching: lowercased, one trailing
 * dot removed ("a.example." names the same host as "a.example", and must
 * not slip past a rule for it). -1 if it is longer than POL_NAME_MAX.
 */
static int pol_norm_name(const char *name, char out[POL_NAME_MAX + 1])
{
    size_t n = 0;
    for (; name[n]; n++) {
        if (n >= POL_NAME_MAX) return -1;
        char c = name[n];
        out[n] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    if (n > 1 && out[n - 1] == '.') n--;
    out[n] = 0;
    return 0;
}

/* Parses an IP literal (no brackets, no prefix) into a[16]; returns 4, 6,
 * or 0 if s is not one. */
static int pol_literal(const char *s, uint8_t a[16])
{
    memset(a, 0, 16);
    if (inet_pton(AF_INET, s, a) == 1) return 4;
    if (inet_pton(AF_INET6, s, a) == 1) return 6;
    return 0;
}

/*
 * Parses "ADDR" or "ADDR/BITS", IPv4 or IPv6, into a[16] (IPv4: the first 4
 * bytes), *bits and *v4. Returns 0, or -1 with the reason in err. A prefix
 * with bits set after it (10.1.2.3/8) is refused: it may mean 10.0.0.0/8
 * or be a typo for 10.1.2.3/32, and guessing wrong opens or closes a
 * network.
 */
static int pol_cidr(const char *s, uint8_t a[16], uint8_t *bits, int *v4, char *err, size_t errcap)
{
    char buf[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof buf) {
        fmt_s(err, errcap, "%s is not an IP address", log_esc(s, strlen(s)));
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    int fam = pol_literal(buf, a);
    if (fam == 0) {
        fmt_s(err, errcap, "%s is not an IP address", log_esc(buf, n));
        return -1;
    }
    unsigned max = fam == 4 ? 32 : 128, b = max;
    if (slash) {
        const char *d = slash + 1;
        size_t dn = strlen(d), i;
        for (i = 0, b = 0; i < dn && i < 3 && d[i] >= '0' && d[i] <= '9'; i++)
            b = b * 10 + (unsigned)(d[i] - '0');
        if (dn == 0 || i != dn || b > max) {
            fmt_s(err, errcap, "bad prefix length /%s (0-%u for %s)", log_esc(d, dn), max,
                  fam == 4 ? "IPv4" : "IPv6");
            return -1;
        }
    }
    for (unsigned i = b; i < max; i++) {
        if (a[i / 8] & (0x80u >> (i % 8))) {
            uint8_t net[16];
            char t[INET6_ADDRSTRLEN] = "?";
            memcpy(net, a, 16);
            for (unsigned j = b; j < max; j++)
                net[j / 8] = (uint8_t)(net[j / 8] & ~(0x80u >> (j % 8)));
            net_ntop(fam == 4 ? AF_INET : AF_INET6, net, t, sizeof t);
            fmt_s(err, errcap, "%s has bits set after the prefix (the network is %s/%u)",
                  log_esc(s, strlen(s)), t, b);
            return -1;
        }
    }
    *bits = (uint8_t)b;
    *v4 = fam == 4;
    return 0;
}

/* Does an address target (POL_V4 / POL_V6) cover ip? */
static int pol_hit_addr(uint8_t kind, const uint8_t a[16], unsigned bits, const struct pol_ip *ip)
{
    if (kind == POL_V4) return ip->has4 && pol_prefix_eq(a, ip->v4, bits);
    return kind == POL_V6 && pol_prefix_eq(a, ip->v6, bits);
}

/* "PORTS" after the colon: N, N-M or *. s is modified. */
static int pol_ports(char *s, uint16_t *lo, uint16_t *hi, char *err, size_t errcap)
{
    unsigned a = 0, b = 0;
    if (strcmp(s, "*") == 0) {
        *lo = 0, *hi = 65535;
        return 0;
    }
    char *dash = strchr(s, '-');
    if (dash) *dash = 0;
    if (net_port(s, &a) != 0 || (dash && net_port(dash + 1, &b) != 0)) {
        if (dash) *dash = '-';
        fmt_s(err, errcap, "bad port %s (write N, N-M or *)", log_esc(s, strlen(s)));
        return -1;
    }
    if (!dash) b = a;
    if (a > b) {
        fmt_s(err, errcap, "port range %u-%u is backwards", a, b);
        return -1;
    }
    *lo = (uint16_t)a, *hi = (uint16_t)b;
    return 0;
}

/* A target that is neither "*" nor an address: a host-name pattern. */
static int pol_name_pattern(struct pol_rule *r, const char *t, char *err, size_t errcap)
{
    size_t n = strlen(t);
    int digit = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c >= '0' && c <= '9')
            digit = 1;
        else if (c != '.' && c != '*' && c != '?')
            other = 1;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '*' || c == '?')) {
            fmt_s(err, errcap, "bad character '%s' in host pattern %s", log_esc(&t[i], 1),
                  log_esc(t, n));
            return -1;
        }
    }
    if (!other && digit) {
        if (strchr(t, '*') || strchr(t, '?'))
            fmt_s(err, errcap,
                  "%s looks like an address pattern, but name patterns only match the name a "
                  "client sends: write a CIDR such as 192.0.2.0/24",
                  t);
        else
            fmt_s(err, errcap, "%s is not a valid IPv4 address", t);
        return -1;
    }
    if (n > 253) {
        fmt_s(err, errcap, "host pattern longer than 253 characters");
        return -1;
    }
    size_t stars = 0;
    for (size_t i = 0; i < n; i++)
        stars += t[i] == '*';
    if (stars > POL_STARS_MAX) {
        fmt_s(err, errcap, "more than %d * in host pattern %s (matching would be slow)",
              POL_STARS_MAX, t);
        return -1;
    }
    r->kind = POL_NAME;
    r->pat = xmalloc(POL_NAME_MAX + 1);
    pol_norm_name(t, r->pat); /* cannot fail: n <= 253 */
    return 0;
}

/* An address or CIDR target (bracketed: it was written in [ ]). */
static int pol_addr_target(struct pol_rule *r, const char *t, int bracketed, char *err,
                           size_t errcap)
{
    int v4 = 0;
    if (pol_cidr(t, r->a, &r->bits, &v4, err, errcap) != 0) return -1;
    if (v4 && bracketed) {
        fmt_s(err, errcap, "brackets are only for IPv6 addresses: write %s", t);
        return -1;
    }
    r->kind = v4 ? POL_V4 : POL_V6;
    return 0;
}

/* Parses one rule's text into r (allow already set). 0, or -1 with err. */
static int pol_parse(struct pol_rule *r, const char *text, char *err, size_t errcap)
{
    char buf[POL_TEXT_MAX + 1];
    while (*text == ' ' || *text == '\t')
        text++;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\r' ||
                     text[n - 1] == '\n'))
        n--;
    if (n == 0) return pol_say(-1, err, errcap, "empty rule");
    if (n > POL_TEXT_MAX)
        return pol_say(-1, err, errcap, "rule longer than %d bytes", POL_TEXT_MAX);
    memcpy(buf, text, n);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f)
            return pol_say(-1, err, errcap, "white space or a control character inside the rule");

    r->lo = 0, r->hi = 65535;
    char *target = buf, *ports = NULL;
    int rc;
    if (buf[0] == '[') {
        char *rb = strchr(buf, ']');
        if (!rb) return pol_say(-1, err, errcap, "missing ] after [%s", buf + 1);
        *rb = 0;
        target = buf + 1;
        if (rb[1] == ':')
            ports = rb + 2;
        else if (rb[1])
            return pol_say(-1, err, errcap, "expected :PORT after ], not %s", rb + 1);
        rc = pol_addr_target(r, target, 1, err, errcap);
    } else {
        char *c1 = strchr(buf, ':');
        if (c1 && strchr(c1 + 1, ':')) { /* several colons: a bare IPv6 target, no port */
            if (pol_addr_target(r, buf, 0, err, errcap) == 0) return 0;
            size_t k = strlen(err);
            fmt_s(err + k, errcap - k, " (an IPv6 rule with a port is written [ADDRESS]:PORT)");
            return -1;
        }
        if (c1) *c1 = 0, ports = c1 + 1;
        if (target[0] == 0 || strcmp(target, "*") == 0) {
            r->kind = POL_ANY;
            rc = 0;
        } else if (strchr(target, '/') || pol_literal(target, r->a) == 4) {
            rc = pol_addr_target(r, target, 0, err, errcap);
        } else {
            rc = pol_name_pattern(r, target, err, errcap);
        }
    }
    if (rc == 0 && ports && pol_ports(ports, &r->lo, &r->hi, err, errcap) != 0) rc = -1;
    if (rc != 0) {
        free(r->pat);
        r->pat = NULL;
    }
    return rc;
}

/*
 * Appends one rule (`allow` nonzero for --allow). Returns NULL, or what is
 * wrong with the rule for the caller's error message; that text lives in a
 * static buffer until the next call.
 */
static const char *pol_add(struct pol *p, int allow, const char *text)
{
    static char err[256];
    struct pol_rule r;
    memset(&r, 0, sizeof r);
    r.allow = allow != 0;
    if (pol_parse(&r, text, err, sizeof err) != 0) return err;
    if (p->n >= POL_RULES_MAX) {
        free(r.pat);
        fmt_s(err, sizeof err, "too many rules (at most %d)", POL_RULES_MAX);
        return err;
    }
    p->r = xrealloc(p->r, (p->n + 1) * sizeof *p->r);
    p->r[p->n++] = r;
    return NULL;
}

static void pol_free(struct pol *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->r[i].pat);
    free(p->r);
    p->r = NULL, p->n = 0;
}

/* The rule's text in canonical form: "10.0.0.0/8", "[2001:db8::/32]:443",
 * "*.example:25-26", "*:25", "*". Reads back to the same rule. */
static void pol_rule_text(const struct pol_rule *r, char *out, size_t cap)
{
    char t[INET6_ADDRSTRLEN + 8] = "*", ps[16] = "";
    if (r->kind == POL_V4 || r->kind == POL_V6) {
        char a[INET6_ADDRSTRLEN] = "?";
        int v4 = r->kind == POL_V4;
        net_ntop(v4 ? AF_INET : AF_INET6, r->a, a, sizeof a);
        if (r->bits == (v4 ? 32 : 128))
            fmt_s(t, sizeof t, "%s", a);
        else
            fmt_s(t, sizeof t, "%s/%u", a, r->bits);
    }
    if (r->lo != 0 || r->hi != 65535) {
        if (r->lo == r->hi)
            fmt_s(ps, sizeof ps, ":%u", r->lo);
        else
            fmt_s(ps, sizeof ps, ":%u-%u", r->lo, r->hi);
    }
    if (r->kind == POL_NAME)
        fmt_s(out, cap, "%s%s", r->pat, ps);
    else if (r->kind == POL_V6 && ps[0])
        fmt_s(out, cap, "[%s]%s", t, ps);
    else
        fmt_s(out, cap, "%s%s", t, ps);
}

/* The verdict of rule r, with its sentence. */
static int pol_verdict(const struct pol_rule *r, char *why, size_t whycap)
{
    char t[POL_TEXT_MAX + 16];
    pol_rule_text(r, t, sizeof t);
    fmt_s(why, whycap, "%s by --%s %s", r->allow ? "allowed" : "denied",
          r->allow ? "allow" : "deny", t);
    return r->allow;
}

/* The verdict when no rule matched. */
static int pol_default(const struct pol_ip *ip, char *why, size_t whycap)
{
    for (size_t i = 0; i < ARRAY_LEN(pol_defaults); i++) {
        const struct pol_def *d = &pol_defaults[i];
        if (pol_hit_addr(d->v4 ? POL_V4 : POL_V6, d->a, d->bits, ip)) {
            char t[INET6_ADDRSTRLEN + 32];
            pol_ip_text(ip, t, sizeof t);
            fmt_s(why, whycap, "%s is %s, denied by default (allow it with --allow %s)", t, d->what,
                  d->allow);
            return 0;
        }
    }
    fmt_s(why, whycap, "allowed by default");
    return 1;
}

/*
 * The verdict for one resolved address of a destination: 1 allow, 0 deny.
 * name is what the client asked for (a host name or an IP literal, NUL
 * free; NULL or "" if none), addr one address it resolved to (the port in
 * addr is ignored; `port` counts). why, if not NULL, gets one sentence for
 * the log and the client: "denied by --deny *.example:25", "10.1.2.3 is a
 * private address, denied by default (allow it with --allow 10.0.0.0/8)".
 */
static int pol_check(const struct pol *p, const char *name, unsigned port,
                     const struct sockaddr *addr, char *why, size_t whycap)
{
    char lname[POL_NAME_MAX + 1];
    struct pol_ip ip;
    if (!why) whycap = 0;
    if (port > 65535) return pol_say(0, why, whycap, "port %u is out of range, denied", port);
    if (pol_ip_of(addr, 1, &ip) != 0)
        return pol_say(0, why, whycap, "not an IPv4 or IPv6 address, denied");
    int named = name && name[0];
    if (named && pol_norm_name(name, lname) != 0)
        return pol_say(0, why, whycap, "requested name longer than %d bytes, denied", POL_NAME_MAX);
    for (size_t i = 0; i < p->n; i++) {
        const struct pol_rule *r = &p->r[i];
        if (port < r->lo || port > r->hi) continue;
        int hit = r->kind == POL_ANY ||
                  (r->kind == POL_NAME ? named && kh_glob(r->pat, strlen(r->pat), lname)
                                       : pol_hit_addr(r->kind, r->a, r->bits, &ip));
        if (hit) return pol_verdict(r, why, whycap);
    }
    return pol_default(&ip, why, whycap);
}

/*
 * The verdict from the name and port alone, before (or instead of)
 * resolving: 1 allow, 0 deny, -1 "the address decides" (resolve, then ask
 * pol_check for each address). A 0 or 1 here is exactly what pol_check
 * would say for every address the name could have, so a server may refuse
 * early without a DNS query. An IP-literal name is judged as its address.
 *
 * reserved: the name is one the server serves itself (alknet-*); it has no
 * address, so address rules are passed over, and when no rule matches the
 * answer is 1 (never -1).
 */
static int pol_check_name(const struct pol *p, const char *name, unsigned port, int reserved,
                          char *why, size_t whycap)
{
    char lname[POL_NAME_MAX + 1];
    if (!why) whycap = 0;
    if (port > 65535) return pol_say(0, why, whycap, "port %u is out of range, denied", port);
    if (!name) name = "";
    if (pol_norm_name(name, lname) != 0)
        return pol_say(0, why, whycap, "requested name longer than %d bytes, denied", POL_NAME_MAX);
    if (!reserved) {
        struct sockaddr_storage ss;
        uint8_t a[16];
        int fam = pol_literal(name, a);
        memset(&ss, 0, sizeof ss);
        if (fam == 4) {
            struct sockaddr_in *s4 = (void *)&ss;
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, a, 4);
        } else if (fam == 6) {
            struct sockaddr_in6 *s6 = (void *)&ss;
            s6->sin6_family = AF_INET6;
            memcpy(s6->sin6_addr.s6_addr, a, 16);
        }
        if (fam) return pol_check(p, name, port, (const struct sockaddr *)&ss, why, whycap);
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct pol_rule *r = &p->r[i];
        if (port < r->lo || port > r->hi) continue;
        if (r->kind == POL_ANY ||
            (r->kind == POL_NAME && lname[0] && kh_glob(r->pat, strlen(r->pat), lname)))
            return pol_verdict(r, why, whycap);
        if ((r->kind == POL_V4 || r->kind == POL_V6) && !reserved) {
            fmt_s(why, whycap, "the address decides");
            return -1;
        }
    }
    if (reserved) return pol_say(1, why, whycap, "allowed by default (served by alknet itself)");
    fmt_s(why, whycap, "the address decides");
    return -1;
}

/* ==================== SECTION 8b: authorized_keys (ak_) ==================== */

/*
 * The server's list of client keys, in OpenSSH's format (sshd(8)
 * "AUTHORIZED_KEYS FILE FORMAT"), one key per line:
 *
 *   [OPTIONS] KEYTYPE BASE64 [COMMENT]        "#" comments and blank lines skipped
 *   OPTIONS = OPT *("," OPT)                  no white space except inside quotes
 *   OPT     = NAME | NAME "=" '"' VALUE '"'   NAME in any case; \" in VALUE is "
 *
 * Only ssh-ed25519 keys count; lines with other key types are skipped
 * without a word. Options alknet honours:
 *
 *   from="PATTERNS"     the client's IP address must match the comma list:
 *                       * and ? wildcards over the address text, CIDR
 *                       a.b.c.d/n or v6/n, "!" before a pattern: a match
 *                       refuses, whatever else matched. Addresses only; no
 *                       reverse DNS, so a host-name pattern never matches
 *                       (the loader warns). An IPv4 peer seen on an IPv6
 *                       socket (::ffff:a.b.c.d) is matched as a.b.c.d.
 *   permitopen="H:P"    repeatable; then only these destinations may be
 *                       opened with this key. H is a name or address
 *                       matched literally against the name the client asked
 *                       for (any case), IPv6 in brackets, or * for any host;
 *                       P is a port or * for any port.
 *   restrict            no port forwarding (the key authenticates but opens
 *                       nothing) unless a later port-forwarding lifts it;
 *   port-forwarding, no-port-forwarding: the last one given wins.
 *
 * The rest of OpenSSH's options are accepted and ignored (alknet has no
 * sessions, agents, X11, ptys or certificates); the loader warns once per
 * option name per load. cert-authority lines are skipped with a warning.
 * An unknown option, a missing value, or broken quoting makes the line
 * invalid: it is skipped with a warning naming its number, as sshd does.
 * So are lines longer than AK_LINE_MAX (sshd's own limit).
 *
 * Several lines may carry the same key with different options. As in sshd,
 * the first line, in file order, whose key matches and whose from= admits
 * the client is the one that applies (ak_find).
 *
 * Public keys are not secret: nothing here is wiped, and keys are compared
 * with memcmp.
 */
#define AK_LINE_MAX 8192 /* sshd(8): "up to a limit of 8 kilobytes" */
#define AK_OPEN_MAX 64   /* permitopen= per line */
#define AK_FROM_MAX 256  /* patterns per from= list */
#define AK_WARN_MAX 64   /* warnings kept per load; the rest are counted */
#define AK_STARS_MAX 5   /* per from= pattern: kh_glob backtracks; addresses are <= 45 bytes */

/* One permitopen: host "*" is any host; port 0 is any port. */
struct ak_open {
    char *host; /* lowercase, no brackets, no trailing dot */
    unsigned port;
};
struct ak_entry {
    struct key k;        /* public key and comment; no private part */
    int line;            /* line number in the file, for logs */
    unsigned no_fwd : 1; /* restrict / no-port-forwarding: opens nothing */
    char **from;         /* from= patterns as written, "!" kept; none: any peer */
    size_t nfrom;
    struct ak_open *open; /* permitopen=; none: any destination */
    size_t nopen;
};
struct ak {
    struct ak_entry *e; /* in file order */
    size_t n;
    char **warn; /* warnings for the log, one line each, "PATH:LINE: ..." */
    size_t nwarn;
};

enum { AKO_FROM, AKO_OPEN, AKO_RESTRICT, AKO_FWD, AKO_NOFWD, AKO_CA, AKO_REFUSE, AKO_IGNORE };
static const struct ak_opt {
    const char *name;
    uint8_t what, value; /* value: takes ="..." (and needs it) */
    const char *note;    /* added to the "ignored" warning */
} ak_opts[] = {
    {"from", AKO_FROM, 1, NULL},
    {"permitopen", AKO_OPEN, 1, NULL},
    {"restrict", AKO_RESTRICT, 0, NULL},
    {"port-forwarding", AKO_FWD, 0, NULL},
    {"no-port-forwarding", AKO_NOFWD, 0, NULL},
    {"cert-authority", AKO_CA, 0, NULL},
    {"command", AKO_IGNORE, 1, " (alknet runs no commands)"},
    {"environment", AKO_IGNORE, 1, NULL},
    /* a key meant to expire is not loaded at all: never valid for too long */
    {"expiry-time", AKO_REFUSE, 1, NULL},
    {"permitlisten", AKO_IGNORE, 1, " (alknet has no remote forwarding)"},
    {"principals", AKO_IGNORE, 1, NULL},
    {"tunnel", AKO_IGNORE, 1, NULL},
    {"no-pty", AKO_IGNORE, 0, NULL},
    {"no-agent-forwarding", AKO_IGNORE, 0, NULL},
    {"no-x11-forwarding", AKO_IGNORE, 0, NULL},
    {"no-user-rc", AKO_IGNORE, 0, NULL},
    {"pty", AKO_IGNORE, 0, NULL},
    {"agent-forwarding", AKO_IGNORE, 0, NULL},
    {"x11-forwarding", AKO_IGNORE, 0, NULL},
    {"user-rc", AKO_IGNORE, 0, NULL},
    {"verify-required", AKO_IGNORE, 0, NULL},
    {"no-touch-required", AKO_IGNORE, 0, NULL},
};
typedef char ak_opts_fit_u32[ARRAY_LEN(ak_opts) <= 32 ? 1 : -1]; /* one bit each in a uint32_t */

/* Parsing state for one file. */
struct ak_ctx {
    struct ak *out;
    const char *path;
    int line;
    size_t dropped;  /* warnings past AK_WARN_MAX */
    uint32_t warned; /* ak_opts[] bits already reported as ignored */
    char *val;       /* scratch for one dequoted value, AK_LINE_MAX + 1 */
};

/* Grows an array when n is 0 or a power of two, so n appends cost O(n). */
static void *ak_grow(void *p, size_t n, size_t size)
{
    if (n != 0 && (n & (n - 1)) != 0) return p;
    return xrealloc(p, (n ? 2 * n : 1) * size);
}

static void ak_push_warn(struct ak *a, const char *msg)
{
    a->warn = ak_grow(a->warn, a->nwarn, sizeof *a->warn);
    a->warn[a->nwarn++] = xstrdup(msg);
}
static ALK_PRINTF(2, 3) void ak_warn(struct ak_ctx *cx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (cx->out->nwarn >= AK_WARN_MAX) {
        cx->dropped++;
        return;
    }
    va_start(ap, fmt);
    fmt_v(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ak_push_warn(cx->out, msg);
}

static void ak_entry_free(struct ak_entry *e)
{
    for (size_t i = 0; i < e->nfrom; i++)
        free(e->from[i]);
    for (size_t i = 0; i < e->nopen; i++)
        free(e->open[i].host);
    free(e->from);
    free(e->open);
    e->from = NULL, e->open = NULL, e->nfrom = e->nopen = 0;
}

static void ak_free(struct ak *a)
{
    for (size_t i = 0; i < a->n; i++)
        ak_entry_free(&a->e[i]);
    for (size_t i = 0; i < a->nwarn; i++)
        free(a->warn[i]);
    free(a->e);
    free(a->warn);
    memset(a, 0, sizeof *a);
}

/* Length of the options field at s: up to the first space or tab outside
 * double quotes (\" inside quotes does not end them). (size_t)-1 if a
 * quote is left open. */
static size_t ak_opts_len(const char *s)
{
    int q = 0;
    size_t i;
    for (i = 0; s[i]; i++) {
        if (q && s[i] == '\\' && s[i + 1] == '"')
            i++;
        else if (s[i] == '"')
            q = !q;
        else if (!q && (s[i] == ' ' || s[i] == '\t'))
            break;
    }
    return q ? (size_t)-1 : i;
}

/* Is [s, s+n) equal to z, ignoring ASCII case? */
static int ak_ieq(const char *s, size_t n, const char *z)
{
    size_t i;
    for (i = 0; i < n && z[i]; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (c != z[i]) return 0;
    }
    return i == n && z[i] == 0;
}

/* Does the first word look like a key type (so the key is what is bad)? */
static int ak_keyish(const char *s)
{
    return strncmp(s, "ssh-", 4) == 0 || strncmp(s, "ecdsa-", 6) == 0 || strncmp(s, "sk-", 3) == 0;
}
/* Is the first word ssh-ed25519? (key_parse_pub cannot decode every key of
 * other types, e.g. RSA over 8 kbit; those are skipped silently all the same.) */
static int ak_is_ed(const char *s)
{
    return strncmp(s, "ssh-ed25519", 11) == 0 && (s[11] == ' ' || s[11] == '\t' || !s[11]);
}

/* from="...": validates and stores the comma list. NULL or what is wrong. */
static const char *ak_from(struct ak_entry *e, const char *v, char *err, size_t errcap)
{
    if (e->nfrom) return "from= given twice";
    for (const char *p = v;;) {
        size_t n = strcspn(p, ",");
        const char *body = p[0] == '!' ? p + 1 : p;
        size_t bn = n - (size_t)(body - p);
        if (bn == 0) return "empty pattern in from=";
        if (e->nfrom >= AK_FROM_MAX) return "too many patterns in from=";
        char *pat = xstrndup(p, n);
        e->from = ak_grow(e->from, e->nfrom, sizeof *e->from);
        e->from[e->nfrom++] = pat;
        size_t stars = 0;
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)pat[i] <= ' ' || (unsigned char)pat[i] >= 0x7f)
                return "white space or a control character in from=";
            stars += pat[i] == '*';
        }
        if (stars > AK_STARS_MAX) return "too many * in a from= pattern";
        if (memchr(body, '/', bn)) {
            uint8_t a[16], bits;
            int v4;
            char why[200];
            if (pol_cidr(pat + (body - p), a, &bits, &v4, why, sizeof why) != 0) {
                fmt_s(err, errcap, "from=: %s", why);
                return err;
            }
        }
        if (!p[n]) return NULL;
        p += n + 1;
    }
}

/* permitopen="host:port" into o. NULL or what is wrong. */
static const char *ak_permitopen(const char *v, struct ak_open *o)
{
    char buf[POL_NAME_MAX + 8], host[POL_NAME_MAX + 1], norm[POL_NAME_MAX + 1];
    size_t n = strlen(v);
    unsigned port = 0;
    int anyport = 0;
    if (n == 0 || n >= sizeof buf) return "bad permitopen= (want host:port)";
    memcpy(buf, v, n + 1);
    if (n >= 2 && buf[n - 2] == ':' && buf[n - 1] == '*') anyport = 1, buf[n - 1] = '1';
    if (net_split(buf, host, sizeof host, &port, NULL, 0) != 0)
        return "bad permitopen= (want host:port, [IPv6]:port, host:* or *:*)";
    if (!anyport && port == 0) return "permitopen= port 0";
    for (size_t i = 0; host[i]; i++)
        if ((unsigned char)host[i] <= ' ' || (unsigned char)host[i] >= 0x7f)
            return "white space or a control character in permitopen=";
    pol_norm_name(host, norm); /* fits: host has at most POL_NAME_MAX bytes */
    o->host = xstrdup(norm);
    o->port = anyport ? 0 : port;
    return NULL;
}

/*
 * Parses the options field s[0, n) into e. *ca is set for cert-authority,
 * *ign gets the bits of ignored options. 0, or -1 with the reason in err.
 */
static int ak_options(struct ak_ctx *cx, const char *s, size_t n, struct ak_entry *e, int *ca,
                      uint32_t *ign, char *err, size_t errcap)
{
    int fwd = 1;
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < n && s[j] != ',' && s[j] != '=')
            j++;
        const struct ak_opt *o = NULL;
        for (size_t k = 0; k < ARRAY_LEN(ak_opts); k++)
            if (ak_ieq(s + i, j - i, ak_opts[k].name)) o = &ak_opts[k];
        if (j == i) return pol_say(-1, err, errcap, "empty option");
        if (!o) return pol_say(-1, err, errcap, "unknown option %s", log_esc(s + i, j - i));
        if (j < n && s[j] == '=') {
            size_t vn = 0;
            if (!o->value) return pol_say(-1, err, errcap, "option %s takes no value", o->name);
            if (++j >= n || s[j] != '"')
                return pol_say(-1, err, errcap, "the value of %s must be in double quotes",
                               o->name);
            for (j++;;) {
                if (j >= n) return pol_say(-1, err, errcap, "missing end quote in %s", o->name);
                if (s[j] == '\\' && j + 1 < n && s[j + 1] == '"')
                    cx->val[vn++] = '"', j += 2;
                else if (s[j] == '"')
                    break;
                else
                    cx->val[vn++] = s[j++];
            }
            j++;
            cx->val[vn] = 0; /* vn < n <= AK_LINE_MAX */
        } else if (o->value) {
            return pol_say(-1, err, errcap, "option %s needs a value (%s=\"...\")", o->name,
                           o->name);
        }
        const char *why = NULL;
        switch (o->what) {
        case AKO_FROM:
            why = ak_from(e, cx->val, err, errcap);
            break;
        case AKO_OPEN:
            if (e->nopen >= AK_OPEN_MAX) {
                why = "too many permitopen= options";
                break;
            }
            e->open = ak_grow(e->open, e->nopen, sizeof *e->open);
            why = ak_permitopen(cx->val, &e->open[e->nopen]);
            if (!why) e->nopen++;
            break;
        case AKO_RESTRICT:
        case AKO_NOFWD:
            fwd = 0;
            break;
        case AKO_FWD:
            fwd = 1;
            break;
        case AKO_CA:
            *ca = 1;
            break;
        case AKO_REFUSE:
            return pol_say(-1, err, errcap, "%s is not supported, so the key is not loaded",
                           o->name);
        default:
            *ign |= 1u << (o - ak_opts);
            break;
        }
        if (why) {
            if (why != err) fmt_s(err, errcap, "%s", why);
            return -1;
        }
        if (j == n) break;
        if (s[j] != ',')
            return pol_say(-1, err, errcap, "expected a comma after option %s", o->name);
        i = j + 1;
    }
    if (fwd)
        e->no_fwd = 0;
    else
        e->no_fwd = 1;
    return 0;
}

/* Warnings for an accepted line: ignored options (once per name per
 * load), and from= patterns that can never match an address. */
static void ak_accepted(struct ak_ctx *cx, const struct ak_entry *e, uint32_t ign)
{
    for (size_t k = 0; k < ARRAY_LEN(ak_opts); k++) {
        uint32_t bit = 1u << k;
        if (!(ign & bit) || (cx->warned & bit)) continue;
        cx->warned |= bit;
        ak_warn(cx, "%s: option %s is ignored by alknet%s (line %d)", cx->path, ak_opts[k].name,
                ak_opts[k].note ? ak_opts[k].note : "", cx->line);
    }
    for (size_t i = 0; i < e->nfrom; i++) {
        const char *p = e->from[i];
        if (strspn(p + (p[0] == '!'), "0123456789abcdefABCDEF:.*?/") != strlen(p + (p[0] == '!')))
            ak_warn(cx,
                    "%s:%d: from= pattern %s is a host name; alknet does not look up peer "
                    "names, so it never matches",
                    cx->path, cx->line, log_esc(p, strlen(p)));
    }
}

/* One line (NUL-terminated, without its newline). */
static void ak_line(struct ak_ctx *cx, const char *s)
{
    struct ak_entry e;
    char err[300];
    int ca = 0;
    uint32_t ign = 0;
    s = skip_ws(s);
    if (!*s || *s == '#') return;
    memset(&e, 0, sizeof e);
    e.line = cx->line;
    int rc = key_parse_pub(s, &e.k);
    if (rc == 1 || (rc < 0 && ak_keyish(s) && !ak_is_ed(s)))
        return; /* another key type: not ours, not an error */
    if (rc != 0) {
        size_t on = ak_opts_len(s);
        const char *key = on == (size_t)-1 ? "" : skip_ws(s + on);
        int other = 0;      /* a key of another type after the options */
        if (ak_keyish(s)) { /* an ssh-ed25519 line without options */
            fmt_s(err, sizeof err, "cannot decode the key");
        } else if (on == (size_t)-1) {
            fmt_s(err, sizeof err, "missing end quote in the options");
        } else if (!*key) {
            fmt_s(err, sizeof err, "no key after the options");
        } else if (ak_options(cx, s, on, &e, &ca, &ign, err, sizeof err) == 0) {
            rc = key_parse_pub(key, &e.k);
            other = rc == 1 || (rc < 0 && ak_keyish(key) && !ak_is_ed(key));
            if (rc < 0) fmt_s(err, sizeof err, "cannot decode the key");
        }
        if (ca && (rc == 0 || other))
            ak_warn(cx, "%s:%d: cert-authority line skipped (alknet does not use certificates)",
                    cx->path, cx->line);
        else if (rc < 0 && !other)
            ak_warn(cx, "%s:%d: %s; line skipped", cx->path, cx->line, err);
        if (rc != 0 || ca) {
            ak_entry_free(&e);
            return;
        }
    }
    ak_accepted(cx, &e, ign);
    cx->out->e = ak_grow(cx->out->e, cx->out->n, sizeof *cx->out->e);
    cx->out->e[cx->out->n++] = e;
}

/*
 * Parses the text of an authorized_keys file (NUL-terminated; an embedded
 * NUL ends it) into out, which it initialises. path names the file in
 * warnings. Invalid lines are skipped; out->warn lists what the server
 * should log (at most AK_WARN_MAX lines plus a count of the rest). Returns
 * 0; out->n == 0 means no usable key, which the caller must treat as an
 * error at start-up. Free with ak_free.
 */
static int ak_parse(const char *text, const char *path, struct ak *out)
{
    struct ak_ctx cx;
    memset(out, 0, sizeof *out);
    memset(&cx, 0, sizeof cx);
    cx.out = out;
    cx.path = path ? path : "authorized_keys";
    cx.val = xmalloc(AK_LINE_MAX + 1);
    char *buf = xmalloc(AK_LINE_MAX + 1);
    for (const char *p = text; p && *p && cx.line < INT_MAX;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        cx.line++;
        if (n > 0 && p[n - 1] == '\r') n--;
        if (n > AK_LINE_MAX) {
            ak_warn(&cx, "%s:%d: line longer than %d bytes; line skipped", cx.path, cx.line,
                    AK_LINE_MAX);
        } else {
            memcpy(buf, p, n);
            buf[n] = 0;
            ak_line(&cx, buf);
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
    if (cx.dropped) {
        char msg[128];
        fmt_s(msg, sizeof msg, "%s: %zu more warnings not shown", cx.path, cx.dropped);
        ak_push_warn(out, msg);
    }
    free(buf);
    free(cx.val);
    return 0;
}

/*
 * Does entry e admit a client at `peer`? 1 yes, 0 no. Without from= every
 * peer is admitted. Patterns are tried in order: a match of a "!" pattern
 * refuses at once; otherwise some pattern must match. Wildcards match the
 * address text (an IPv4-mapped peer as a.b.c.d); CIDRs match the address.
 */
static int ak_from_ok(const struct ak_entry *e, const struct sockaddr *peer)
{
    struct pol_ip ip;
    char text[INET6_ADDRSTRLEN] = "";
    int ok = 0;
    if (e->nfrom == 0) return 1;
    if (pol_ip_of(peer, 0, &ip) != 0) return 0;
    if (ip.has4)
        net_ntop(AF_INET, ip.v4, text, sizeof text);
    else
        net_ntop(AF_INET6, ip.v6, text, sizeof text);
    for (size_t i = 0; i < e->nfrom; i++) {
        const char *p = e->from[i];
        int neg = p[0] == '!', hit;
        if (neg) p++;
        if (strchr(p, '/')) {
            uint8_t a[16], bits;
            int v4;
            char err[200];
            if (pol_cidr(p, a, &bits, &v4, err, sizeof err) != 0) return 0; /* checked at load */
            hit = pol_hit_addr(v4 ? POL_V4 : POL_V6, a, bits, &ip);
        } else {
            hit = kh_glob(p, strlen(p), text);
        }
        if (hit && neg) return 0;
        ok |= hit;
    }
    return ok;
}

/*
 * The entry that applies to key pk for a client at peer: the first line, in
 * file order, with this key whose from= admits peer (as sshd chooses).
 * NULL if none; a NULL peer is admitted only by lines without from=. Use
 * it for the "none" probe, the PK_OK query and the signed request alike.
 */
static const struct ak_entry *ak_find(const struct ak *a, const uint8_t pk[32],
                                      const struct sockaddr *peer)
{
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(a->e[i].k.pk, pk, 32) == 0 && ak_from_ok(&a->e[i], peer)) return &a->e[i];
    return NULL;
}

/* The first line with key pk whatever its from=, for messages only ("key
 * SHA256:... is known (line 4), but its from= refuses 192.0.2.9"). Never
 * authorise with it. */
static const struct ak_entry *ak_first(const struct ak *a, const uint8_t pk[32])
{
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(a->e[i].k.pk, pk, 32) == 0) return &a->e[i];
    return NULL;
}

/*
 * May a client holding entry e open host:port (host as the client sent
 * it)? 0 if the key may not forward at all; 1 if it has no permitopen=;
 * otherwise 1 only if a permitopen= matches: same port or *, and the same
 * host (any case, trailing dot ignored; IP literals compared as addresses)
 * or *. The destination policy applies on top of this.
 */
static int ak_open_ok(const struct ak_entry *e, const char *host, unsigned port)
{
    char norm[POL_NAME_MAX + 1];
    uint8_t ha[16], oa[16];
    if (e->no_fwd) return 0;
    if (e->nopen == 0) return 1;
    if (!host || port == 0 || port > 65535 || pol_norm_name(host, norm) != 0) return 0;
    int hf = pol_literal(norm, ha);
    for (size_t i = 0; i < e->nopen; i++) {
        const struct ak_open *o = &e->open[i];
        if (o->port != 0 && o->port != port) continue;
        if (strcmp(o->host, "*") == 0 || strcmp(o->host, norm) == 0) return 1;
        if (hf && pol_literal(o->host, oa) == hf && memcmp(ha, oa, 16) == 0) return 1;
    }
    return 0;
}

/* ==================== SECTION 8c: DNS messages, hosts, resolv.conf (dns_) ==================== */

/*
 * The parts of the stub resolver (style.md 6) that do no I/O: building a
 * query, judging a reply, reading /etc/hosts and /etc/resolv.conf, and the
 * --dns override. Each is a pure function of its arguments (no globals, no
 * allocation, no clock), so the engine that owns the sockets, retries and
 * timers can be written on top, and a fuzz target can call dns_answer()
 * on arbitrary bytes.
 *
 * Needs SECTION 3 (struct rd, struct wr) and net_port() from SECTION 8, so
 * it goes right after SECTION 8.
 *
 * Written from RFC 1035 (4.1 message format, 4.1.4 compression, 2.3.4
 * limits), RFC 2181 (8: TTL), RFC 2308 (5: negative TTL from the SOA),
 * RFC 3596 (AAAA), RFC 6604 (rcode applies to the end of a CNAME chain),
 * hosts(5) and resolv.conf(5).
 *
 * Sizes: a query is at most DNS_QUERY_MAX = 271 bytes; a reply is read in
 * place (views, no copy), at most DNS_MSG_MAX bytes; names are expanded into
 * 255-byte stack buffers. The worst case for dns_answer() is bounded by
 * (DNS_MAX_CNAME + 2) walks over the message, each name costing at most
 * DNS_MAX_JUMPS pointer jumps and 255 bytes of output.
 */
#define DNS_MAX_ADDRS 16
#define DNS_MAX_CNAME 8  /* CNAME hops followed inside one answer */
#define DNS_MAX_JUMPS 64 /* compression pointers followed in one name */
#define DNS_NAME_MAX 255 /* RFC 1035 2.3.4: a name in wire form, root byte included */
#define DNS_HOST_MAX 253 /* the same as text, without the trailing dot */
#define DNS_QUERY_MAX (12 + DNS_NAME_MAX + 4) /* header + question: 271 */
#define DNS_UDP_MAX 512                       /* RFC 1035 4.2.1: UDP reply without EDNS */
#define DNS_MSG_MAX 65535                     /* RFC 1035 4.2.2: TCP replies have a 16-bit length */
#define DNS_MAXNS 3                           /* resolv.conf nameservers used, as glibc's MAXNS */

#define DNS_T_A 1 /* RFC 1035 3.2.2 */
#define DNS_T_CNAME 5
#define DNS_T_SOA 6
#define DNS_T_AAAA 28 /* RFC 3596 2.1 */
#define DNS_C_IN 1

struct dns_addr {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t a[16];  /* network order; an IPv4 address uses a[0..3] */
};
struct dns_res {
    unsigned n;
    struct dns_addr addr[DNS_MAX_ADDRS];
    uint32_t ttl; /* seconds; on NXDOMAIN/NODATA the negative TTL from the SOA, or 0 */
};

/* What a reply means for the query it was matched against. */
enum {
    DNS_OK,        /* res->n >= 1 addresses */
    DNS_NXDOMAIN,  /* the name (or the end of its CNAME chain) does not exist */
    DNS_NODATA,    /* it exists but has no address of this type */
    DNS_SERVFAIL,  /* also REFUSED, NOTIMP, FORMERR, a CNAME loop: try another server */
    DNS_TRUNCATED, /* TC: ask again over TCP */
    DNS_IGNORE,    /* not an answer to this query: wrong id, question, not a response */
    DNS_BAD        /* malformed */
};
static const char *const dns_result_text[] = {
    "ok",        "no such name",  "no address",     "server failure",
    "truncated", "not our reply", "malformed reply"};
static ALK_UNUSED const char *dns_result_str(int rc)
{
    return rc >= 0 && (size_t)rc < ARRAY_LEN(dns_result_text) ? dns_result_text[rc] : "error";
}

static uint8_t dns_lc(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

/* ASCII case-insensitive equality (RFC 1035 2.3.3); only for host names. */
static int dns_text_eq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn) return 0;
    for (size_t i = 0; i < an; i++)
        if (dns_lc((uint8_t)a[i]) != dns_lc((uint8_t)b[i])) return 0;
    return 1;
}

/* Two names in wire form. Length bytes are < 64, below 'A', so folding the
 * whole string folds only label characters. */
static int dns_wire_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn) return 0;
    for (size_t i = 0; i < an; i++)
        if (dns_lc(a[i]) != dns_lc(b[i])) return 0;
    return 1;
}

/* Length of a host name without its one optional trailing dot, or 0 when
 * empty or longer than 253 (RFC 1035 2.3.4: 255 in wire form). Reads at
 * most DNS_HOST_MAX + 2 bytes of s. */
static size_t dns_host_len(const char *s)
{
    size_t n = 0;
    while (n < DNS_HOST_MAX + 2 && s[n])
        n++;
    if (n > 0 && s[n - 1] == '.') n--;
    return n <= DNS_HOST_MAX ? n : 0;
}

/*
 * A host name as text -> wire form (RFC 1035 3.1: length-prefixed labels,
 * then the zero root byte). Accepted: labels of 1..63 characters from
 * letters, digits, '-' and '_' (RFC 952/1123 host names, plus '_' seen in
 * the wild), separated by single dots, with one optional trailing dot;
 * at most 253 characters. Case is kept. Returns the wire length, or 0.
 */
static size_t dns_name_wire(const char *name, uint8_t out[DNS_NAME_MAX])
{
    size_t n = dns_host_len(name), o = 1, lab = 0;
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)name[i];
        if (c == '.') {
            if (o - lab - 1 == 0) return 0; /* empty label */
            out[lab] = (uint8_t)(o - lab - 1);
            lab = o++;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
        if (o - lab - 1 == 63) return 0; /* label longer than 63 */
        out[o++] = c;
    }
    if (o - lab - 1 == 0) return 0;
    out[lab] = (uint8_t)(o - lab - 1);
    out[o++] = 0; /* n <= 253 gives o <= 255 */
    return o;
}

/*
 * RFC 1035 4.1.1 header + 4.1.2 question:
 *   u16 ID  u16 flags (QR=0 OPCODE=0 RD=1)  u16 QDCOUNT=1  AN=NS=AR=0
 *   QNAME  u16 QTYPE  u16 QCLASS=IN
 * qtype is DNS_T_A or DNS_T_AAAA. Returns the length (at most
 * DNS_QUERY_MAX), or 0 for an invalid name or type or too small a buffer.
 * The id should come from rnd_u32() (RFC 5452 9.2: unpredictable).
 */
static ALK_UNUSED size_t dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name,
                                   uint16_t qtype)
{
    uint8_t wire[DNS_NAME_MAX];
    size_t wn = dns_name_wire(name, wire);
    if (wn == 0 || (qtype != DNS_T_A && qtype != DNS_T_AAAA)) return 0;
    const uint8_t hdr[12] = {(uint8_t)(id >> 8), (uint8_t)id, 0x01, 0x00, 0, 1};
    const uint8_t tail[4] = {(uint8_t)(qtype >> 8), (uint8_t)qtype, 0, DNS_C_IN};
    struct wr w = wr_init(buf, cap);
    wr_bytes(&w, hdr, sizeof hdr);
    wr_bytes(&w, wire, wn);
    wr_bytes(&w, tail, sizeof tail);
    return w.bad ? 0 : w.len;
}

static uint16_t dns_u16(struct rd *r)
{
    struct str s = rd_bytes(r, 2);
    return s.p ? (uint16_t)(s.p[0] << 8 | s.p[1]) : 0;
}

/*
 * RFC 1035 4.1.4: reads the name at r->off, following compression
 * pointers, into out (wire form, case kept). r ends after the name as it
 * appears in place: after the root byte or after the first pointer.
 *
 * Termination: a pointer must land strictly before the place where the
 * current run of labels began (the name's start, or the previous pointer's
 * target). Each jump therefore goes to a smaller offset than the last one,
 * which rules out loops of any length; DNS_MAX_JUMPS also caps the work.
 * A real compressor only points at names written earlier, so this loses
 * nothing. Pointers into the 12-byte header and the reserved label types
 * 01/10 (RFC 6891 dropped extended labels) are malformed, and so is a name
 * longer than 255 bytes. Returns the wire length, or 0 with r->bad set.
 */
static size_t dns_rd_name(struct rd *r, uint8_t out[DNS_NAME_MAX])
{
    struct rd j = *r; /* follows the pointers; r stays on the name in place */
    size_t o = 0, run = r->off;
    unsigned jumps = 0;
    int jumped = 0;
    for (;;) {
        uint8_t c = rd_u8(&j);
        if (j.bad) break;
        if ((c & 0xc0) == 0xc0) {
            size_t ptr = (size_t)(c & 0x3f) << 8 | rd_u8(&j);
            /* run <= r->off <= r->len, so this also keeps ptr inside msg */
            if (j.bad || ptr < 12 || ptr >= run || ++jumps > DNS_MAX_JUMPS) break;
            if (!jumped) r->off = j.off, jumped = 1;
            j.off = run = ptr;
            continue;
        }
        if ((c & 0xc0) != 0 || DNS_NAME_MAX - o < (size_t)c + 1) break;
        out[o++] = c;
        if (c == 0) {
            if (!jumped) r->off = j.off;
            return o;
        }
        struct str l = rd_bytes(&j, c);
        if (j.bad) break;
        memcpy(out + o, l.p, c);
        o += c;
    }
    r->bad = 1;
    return 0;
}

/* RFC 1035 4.1.3 resource record:
 *   NAME  u16 TYPE  u16 CLASS  u32 TTL  u16 RDLENGTH  RDATA[RDLENGTH] */
struct dns_rr {
    uint16_t type, cls;
    uint32_t ttl;
    size_t rdoff; /* offset of RDATA in the message */
    uint16_t rdlen;
};

/* Reads one record; owner gets the owner name. 0, or -1 with r->bad set. */
static int dns_rd_rr(struct rd *r, uint8_t owner[DNS_NAME_MAX], size_t *olen, struct dns_rr *rr)
{
    *olen = dns_rd_name(r, owner);
    rr->type = dns_u16(r);
    rr->cls = dns_u16(r);
    struct str t = rd_bytes(r, 4);
    rr->ttl = t.p ? ld32_be(t.p) : 0;
    if (rr->ttl > 0x7fffffff) rr->ttl = 0; /* RFC 2181 8: top bit set means zero */
    rr->rdlen = dns_u16(r);
    rr->rdoff = r->off;
    rd_bytes(r, rr->rdlen);
    return r->bad ? -1 : 0;
}

/* A name filling exactly the RDATA at rr (CNAME, RFC 1035 3.3.1). It may
 * use pointers, so it is read with the whole message in view. */
static size_t dns_rd_rdname(const uint8_t *msg, size_t n, const struct dns_rr *rr,
                            uint8_t out[DNS_NAME_MAX])
{
    struct rd d = rd_init(msg, n);
    d.off = rr->rdoff;
    size_t len = dns_rd_name(&d, out);
    return d.bad || d.off - rr->rdoff != rr->rdlen ? 0 : len;
}

/*
 * RFC 2308 5: the TTL of a negative answer is the smaller of the SOA
 * record's own TTL and its MINIMUM field. SOA RDATA (RFC 1035 3.3.13):
 *   MNAME  RNAME  u32 SERIAL  u32 REFRESH  u32 RETRY  u32 EXPIRE  u32 MINIMUM
 * A malformed SOA only loses its TTL (returns 0): it is not needed to
 * understand the reply.
 */
static uint32_t dns_soa_ttl(const uint8_t *msg, size_t n, const struct dns_rr *rr)
{
    uint8_t scratch[DNS_NAME_MAX];
    struct rd d = rd_init(msg, n);
    d.off = rr->rdoff;
    dns_rd_name(&d, scratch);
    dns_rd_name(&d, scratch);
    struct str f = rd_bytes(&d, 20);
    if (d.bad || d.off - rr->rdoff != rr->rdlen) return 0;
    uint32_t min = ld32_be(f.p + 16);
    if (min > 0x7fffffff) min = 0;
    return MIN(rr->ttl, min);
}

/* Adds an address unless it is already there or out is full. */
static void dns_add(struct dns_addr *out, unsigned *n, unsigned max, int family, const uint8_t *a)
{
    size_t alen = family == AF_INET ? 4 : 16;
    if (*n >= max) return;
    for (unsigned i = 0; i < *n; i++)
        if (out[i].family == family && memcmp(out[i].a, a, alen) == 0) return;
    memset(&out[*n], 0, sizeof out[*n]);
    out[*n].family = (uint8_t)family;
    memcpy(out[*n].a, a, alen);
    (*n)++;
}

/*
 * Judges msg[0..n) as the reply to dns_query(id, name, qtype). out is
 * always cleared first; on DNS_OK it holds 1..DNS_MAX_ADDRS addresses and
 * the smallest TTL of the records used (the CNAMEs followed and the
 * addresses kept).
 *
 * In order:
 *  1. header (4.1.1): short -> BAD; id, QR=1 and OPCODE=0 must match, or
 *     the datagram answers someone else -> IGNORE (the engine keeps
 *     waiting: a spoofer must guess the id and the question).
 *  2. question (4.1.2): QDCOUNT 1, same name (any case), type, class IN,
 *     else IGNORE. Servers may drop the question from an error reply, so
 *     QDCOUNT 0 with FORMERR/SERVFAIL/NOTIMP/REFUSED gives SERVFAIL.
 *  3. TC -> TRUNCATED, before the (cut) records are read.
 *  4. every record of all three sections must parse and the message must
 *     end with the last one, else BAD. In the answer section, class IN
 *     A/AAAA records must have RDLENGTH 4/16 (RFC 3596 2.2), and CNAMEs a
 *     well-formed name.
 *  5. RCODE: NXDOMAIN (3) -> NXDOMAIN (RFC 6604: about the end of the
 *     chain, fine either way); any other nonzero -> SERVFAIL.
 *  6. the answer section: records of class IN owned by the queried name;
 *     if they hold no address of qtype, follow the name's CNAME (RFC 1034
 *     3.6.2) and look again, at most DNS_MAX_CNAME times (longer: a loop,
 *     SERVFAIL). Records may come in any order; records for other names
 *     are ignored (RFC 5452: never trust out-of-chain data).
 *     No address at the end of the chain -> NODATA.
 */
static ALK_UNUSED int dns_answer(const uint8_t *msg, size_t n, uint16_t id, const char *name,
                                 uint16_t qtype, struct dns_res *out)
{
    uint8_t want[DNS_NAME_MAX], got[DNS_NAME_MAX], next[DNS_NAME_MAX];
    size_t wlen, glen, nlen;
    struct dns_rr rr;

    memset(out, 0, sizeof *out);
    wlen = dns_name_wire(name, want);
    if (wlen == 0 || (qtype != DNS_T_A && qtype != DNS_T_AAAA)) return DNS_IGNORE;

    /* 1. u16 ID  u16 QR|OPCODE|AA|TC|RD|RA|Z|RCODE  u16 QD AN NS AR */
    struct rd r = rd_init(msg, n);
    uint16_t hid = dns_u16(&r), fl = dns_u16(&r), qd = dns_u16(&r), an = dns_u16(&r);
    uint16_t ns = dns_u16(&r), ar = dns_u16(&r);
    if (r.bad) return DNS_BAD;
    if (hid != id || !(fl & 0x8000) || (fl >> 11 & 15) != 0) return DNS_IGNORE;
    unsigned rcode = fl & 15u, tc = fl & 0x0200u;

    /* 2. QNAME QTYPE QCLASS */
    if (qd == 0 && (tc || (rcode != 0 && rcode != 3))) return tc ? DNS_TRUNCATED : DNS_SERVFAIL;
    if (qd != 1) return DNS_IGNORE;
    glen = dns_rd_name(&r, got);
    uint16_t qt = dns_u16(&r), qc = dns_u16(&r);
    if (r.bad) return tc ? DNS_TRUNCATED : DNS_BAD;
    if (!dns_wire_eq(got, glen, want, wlen) || qt != qtype || qc != DNS_C_IN) return DNS_IGNORE;

    /* 3. */
    if (tc) return DNS_TRUNCATED;

    /* 4. */
    size_t an_off = r.off;
    uint32_t negttl = 0;
    for (unsigned i = 0; i < (unsigned)an + ns + ar; i++) {
        if (dns_rd_rr(&r, got, &glen, &rr) != 0) return DNS_BAD;
        if (i < an && rr.cls == DNS_C_IN) {
            if ((rr.type == DNS_T_A && rr.rdlen != 4) || (rr.type == DNS_T_AAAA && rr.rdlen != 16))
                return DNS_BAD;
            if (rr.type == DNS_T_CNAME && dns_rd_rdname(msg, n, &rr, next) == 0) return DNS_BAD;
        } else if (i >= an && i < (unsigned)an + ns && rr.type == DNS_T_SOA && rr.cls == DNS_C_IN) {
            negttl = dns_soa_ttl(msg, n, &rr);
        }
    }
    if (!rd_end(&r)) return DNS_BAD;

    /* 5. */
    if (rcode == 3) {
        out->ttl = negttl;
        return DNS_NXDOMAIN;
    }
    if (rcode != 0) return DNS_SERVFAIL;

    /* 6. want is the name whose records we look for; one walk per hop. */
    uint32_t ttl = UINT32_MAX;
    int family = qtype == DNS_T_A ? AF_INET : AF_INET6;
    for (unsigned hop = 0;; hop++) {
        uint32_t cttl = 0;
        nlen = 0;
        r = rd_init(msg, n);
        r.off = an_off;
        for (unsigned i = 0; i < an; i++) {
            if (dns_rd_rr(&r, got, &glen, &rr) != 0) return DNS_BAD; /* checked in 4 */
            if (rr.cls != DNS_C_IN || !dns_wire_eq(got, glen, want, wlen)) continue;
            if (rr.type == qtype && out->n < DNS_MAX_ADDRS) {
                dns_add(out->addr, &out->n, DNS_MAX_ADDRS, family, msg + rr.rdoff);
                ttl = MIN(ttl, rr.ttl);
            } else if (rr.type == DNS_T_CNAME && nlen == 0) {
                nlen = dns_rd_rdname(msg, n, &rr, next);
                cttl = rr.ttl;
            }
        }
        if (out->n > 0) {
            out->ttl = ttl;
            return DNS_OK;
        }
        if (nlen == 0) {
            out->ttl = negttl;
            return DNS_NODATA;
        }
        if (hop == DNS_MAX_CNAME) return DNS_SERVFAIL;
        ttl = MIN(ttl, cttl);
        memcpy(want, next, nlen);
        wlen = nlen;
    }
}

/* ---- /etc/hosts, /etc/resolv.conf: lines of blank-separated words ---- */

static int dns_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* The next word of [*p, end): returns its start and sets *len, or NULL. */
static const char *dns_word(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    while (s < end && dns_blank(*s))
        s++;
    const char *e = s;
    while (e < end && !dns_blank(*e))
        e++;
    *p = e, *len = (size_t)(e - s);
    return e > s ? s : NULL;
}

/* The line starting at p: sets *end before the comment character or the
 * newline; returns the start of the next line, or NULL at the end. */
static const char *dns_line(const char *p, const char **end, const char *comment)
{
    const char *e = p;
    while (*e && *e != '\n')
        e++;
    const char *next = *e ? e + 1 : NULL;
    for (const char *c = p; c < e; c++)
        if (strchr(comment, *c)) {
            e = c;
            break;
        }
    *end = e;
    return next;
}

/* A numeric IPv4 or IPv6 address word (inet_pton: dotted quad, RFC 4291
 * 2.2 text; no %scope). Returns AF_INET, AF_INET6, or 0. */
static int dns_parse_ip(const char *s, size_t n, uint8_t a[16])
{
    char tmp[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof tmp) return 0;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    memset(a, 0, 16);
    if (inet_pton(AF_INET, tmp, a) == 1) return AF_INET;
    if (inet_pton(AF_INET6, tmp, a) == 1) return AF_INET6;
    return 0;
}

/*
 * hosts(5): "ADDRESS CANONICAL_NAME [ALIASES...]", '#' starts a comment,
 * fields are separated by blanks. Collects, in file order and without
 * duplicates, the addresses of every line on which name appears (any
 * case, a trailing dot on either side ignored), keeping those of the
 * requested family (AF_INET, AF_INET6, or AF_UNSPEC for both). Lines whose
 * address does not parse are skipped. Returns the number written to out.
 */
static ALK_UNUSED unsigned dns_hosts(const char *text, const char *name, int family,
                                     struct dns_addr *out, unsigned max)
{
    size_t nn = dns_host_len(name), wl;
    unsigned cnt = 0;
    if (nn == 0 || !text) return 0;
    for (const char *line = text, *next; line && cnt < max; line = next) {
        const char *end, *p = line, *w;
        uint8_t a[16];
        next = dns_line(line, &end, "#");
        if (!(w = dns_word(&p, end, &wl))) continue;
        int fam = dns_parse_ip(w, wl, a);
        if (fam == 0 || (family != AF_UNSPEC && family != fam)) continue;
        while ((w = dns_word(&p, end, &wl)) != NULL) {
            if (wl > 1 && w[wl - 1] == '.') wl--;
            if (dns_text_eq(w, wl, name, nn)) {
                dns_add(out, &cnt, max, fam, a);
                break;
            }
        }
    }
    return cnt;
}

struct dns_conf {
    struct sockaddr_storage ns[DNS_MAXNS];
    unsigned nns, timeout_s, attempts;
};

/* A server address with its port as a sockaddr (family AF_INET/AF_INET6). */
static void dns_sockaddr(int family, const uint8_t *a, unsigned port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (family == AF_INET) {
        struct sockaddr_in s;
        memset(&s, 0, sizeof s);
        s.sin_family = AF_INET;
        s.sin_port = htons((uint16_t)port);
        memcpy(&s.sin_addr, a, 4);
        memcpy(out, &s, sizeof s);
    } else {
        struct sockaddr_in6 s;
        memset(&s, 0, sizeof s);
        s.sin6_family = AF_INET6;
        s.sin6_port = htons((uint16_t)port);
        memcpy(&s.sin6_addr, a, 16);
        memcpy(out, &s, sizeof s);
    }
}

/* For the engine: a resolved address plus a port, ready for connect().
 * Returns the length to pass as socklen_t. */
static ALK_UNUSED socklen_t dns_addr_sockaddr(const struct dns_addr *a, unsigned port,
                                              struct sockaddr_storage *out)
{
    dns_sockaddr(a->family, a->a, port, out);
    return a->family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
                                : (socklen_t)sizeof(struct sockaddr_in6);
}

/* "N" of resolv.conf's "timeout:N": decimal digits only, clamped into
 * [lo, hi]. -1 if not a number. */
static int dns_conf_num(const char *s, size_t n, unsigned lo, unsigned hi, unsigned *v)
{
    unsigned x = 0;
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        if (x < 100000) x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x < lo ? lo : x > hi ? hi : x;
    return 0;
}

/*
 * resolv.conf(5), the parts a stub resolver without search lists needs:
 *   nameserver ADDR        IPv4 or IPv6, the first DNS_MAXNS kept (port 53);
 *                          a scoped IPv6 (fe80::1%eth0) is skipped
 *   options timeout:N      per-try timeout, clamped to 1..30 s (glibc: 30)
 *   options attempts:N     rounds over the servers, clamped to 1..5 (glibc: 5)
 * '#' and ';' start comments; other keywords (domain, search, sortlist) and
 * options are ignored; the last value of an option wins. Defaults are
 * glibc's: timeout 5, attempts 2, and 127.0.0.1 when no nameserver is
 * usable. text may be NULL (file missing): defaults only.
 */
static ALK_UNUSED void dns_conf_parse(const char *text, struct dns_conf *c)
{
    memset(c, 0, sizeof *c);
    c->timeout_s = 5, c->attempts = 2;
    for (const char *line = text, *next; line; line = next) {
        const char *end, *p = line, *w;
        size_t wl;
        next = dns_line(line, &end, "#;");
        if (!(w = dns_word(&p, end, &wl))) continue;
        if (wl == 10 && memcmp(w, "nameserver", 10) == 0) {
            uint8_t a[16];
            int fam;
            if (!(w = dns_word(&p, end, &wl)) || c->nns >= DNS_MAXNS) continue;
            if ((fam = dns_parse_ip(w, wl, a)) != 0) dns_sockaddr(fam, a, 53, &c->ns[c->nns++]);
        } else if (wl == 7 && memcmp(w, "options", 7) == 0) {
            while ((w = dns_word(&p, end, &wl)) != NULL) {
                if (wl > 8 && memcmp(w, "timeout:", 8) == 0)
                    dns_conf_num(w + 8, wl - 8, 1, 30, &c->timeout_s);
                else if (wl > 9 && memcmp(w, "attempts:", 9) == 0)
                    dns_conf_num(w + 9, wl - 9, 1, 5, &c->attempts);
            }
        }
    }
    if (c->nns == 0) {
        static const uint8_t lo[4] = {127, 0, 0, 1};
        dns_sockaddr(AF_INET, lo, 53, &c->ns[c->nns++]);
    }
}

/*
 * The --dns override: "ADDR" (IPv4 or bare IPv6), "ADDR:PORT" (IPv4),
 * "[V6]" or "[V6]:PORT". Port 1..65535, 53 when absent. Names are not
 * accepted (we would need a resolver to find the resolver). 0 or -1.
 */
static ALK_UNUSED int dns_server_parse(const char *s, struct sockaddr_storage *out)
{
    const char *host = s, *ps = NULL, *colon = strchr(s, ':');
    size_t hn;
    unsigned port = 53;
    uint8_t a[16];
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || (rb[1] != 0 && rb[1] != ':')) return -1;
        host = s + 1, hn = (size_t)(rb - host);
        if (rb[1] == ':') ps = rb + 2;
    } else if (colon && !strchr(colon + 1, ':')) { /* exactly one ':': IPv4:PORT */
        hn = (size_t)(colon - s), ps = colon + 1;
    } else {
        hn = strlen(s);
    }
    int fam = dns_parse_ip(host, hn, a);
    if (fam == 0 || (s[0] == '[' && fam != AF_INET6)) return -1;
    if (ps && (ps[0] < '0' || ps[0] > '9' || net_port(ps, &port) != 0 || port == 0)) return -1;
    dns_sockaddr(fam, a, port, out);
    return 0;
}

/* ==================== SECTION 8d: TLS transport (tls_ pem_) ==================== */

/*
 * SSH over TLS (--tls, --tls-listen), BearSSL driven by the loop like every
 * other engine: it says what it wants (SENDREC: the socket must take
 * records; RECVREC: records must come in), and tls_pump moves bytes socket
 * <-> engine <-> the SSH connection's in/out buffers. What TLS costs over
 * plain TCP: the engine's buffer (BR_SSL_BUFSIZE_BIDI, about 33 KB) per
 * connection, and one more copy each way between it and the SSH buffers.
 * BearSSL speaks TLS 1.2 only.
 *
 * Trust: the SSH host key authenticates the server, so by default the
 * client checks no certificate (it still takes the certificate's public
 * key, which the handshake needs). --tls-pin SHA256:... pins that key (the
 * SubjectPublicKeyInfo, hashed as openssl does); --tls-ca FILE checks the
 * chain and the server name against those anchors. The server presents
 * --tls-cert/--tls-key, or a self-signed P-256 certificate made at start.
 */
#define TLS_DER_MAX 8192 /* the server certificate kept for the pin */

static struct {
    const char *alpn; /* "alknet-ssh" unless --alpn says otherwise */
    uint8_t pin[32];  /* client: --tls-pin */
    int have_pin;
    br_x509_trust_anchor *ta; /* client: --tls-ca */
    size_t nta;
    br_x509_certificate *chain; /* server: what we present */
    size_t nchain;
    int key_type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    br_rsa_private_key rsa;
    br_ec_private_key ec;
    uint8_t *keymem; /* the private key's bytes, wiped at exit */
    size_t keylen;
} tlsc = {.alpn = "alknet-ssh"};

/* The client's certificate check: the end-entity key for the handshake,
 * the pin, and (with --tls-ca) BearSSL's chain validation inside. */
struct tls_x509 {
    const br_x509_class *vtable;
    br_x509_minimal_context *inner; /* with --tls-ca, else NULL */
    unsigned n;                     /* certificates seen in this chain */
    br_x509_decoder_context dec;    /* of the first (end-entity) one */
    int have_key, pin_failed;
    br_x509_pkey pkey; /* its key, copied out of dec */
    uint8_t kbuf[600];
    uint8_t der[TLS_DER_MAX]; /* its DER, for the pin */
    size_t der_len;
    int der_big;
};

static struct tls_x509 *tx_of(const br_x509_class **ctx) { return (struct tls_x509 *)(void *)ctx; }

static void tx_start_chain(const br_x509_class **ctx, const char *server_name)
{
    struct tls_x509 *x = tx_of(ctx);
    x->n = 0, x->have_key = 0, x->der_len = 0, x->der_big = 0, x->pin_failed = 0;
    if (x->inner) x->inner->vtable->start_chain(&x->inner->vtable, server_name);
}
static void tx_start_cert(const br_x509_class **ctx, uint32_t length)
{
    struct tls_x509 *x = tx_of(ctx);
    if (++x->n == 1) br_x509_decoder_init(&x->dec, NULL, NULL);
    if (x->inner) x->inner->vtable->start_cert(&x->inner->vtable, length);
}
static void tx_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    struct tls_x509 *x = tx_of(ctx);
    if (x->n == 1) {
        br_x509_decoder_push(&x->dec, buf, len);
        if (len > sizeof x->der - x->der_len)
            x->der_big = 1;
        else
            memcpy(x->der + x->der_len, buf, len), x->der_len += len;
    }
    if (x->inner) x->inner->vtable->append(&x->inner->vtable, buf, len);
}
static void tx_end_cert(const br_x509_class **ctx)
{
    struct tls_x509 *x = tx_of(ctx);
    if (x->n == 1) {
        const br_x509_pkey *pk = br_x509_decoder_get_pkey(&x->dec);
        if (pk && pk->key_type == BR_KEYTYPE_RSA &&
            pk->key.rsa.nlen + pk->key.rsa.elen <= sizeof x->kbuf) {
            x->pkey = *pk;
            memcpy(x->kbuf, pk->key.rsa.n, pk->key.rsa.nlen);
            memcpy(x->kbuf + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
            x->pkey.key.rsa.n = x->kbuf;
            x->pkey.key.rsa.e = x->kbuf + pk->key.rsa.nlen;
            x->have_key = 1;
        } else if (pk && pk->key_type == BR_KEYTYPE_EC && pk->key.ec.qlen <= sizeof x->kbuf) {
            x->pkey = *pk;
            memcpy(x->kbuf, pk->key.ec.q, pk->key.ec.qlen);
            x->pkey.key.ec.q = x->kbuf;
            x->have_key = 1;
        }
    }
    if (x->inner) x->inner->vtable->end_cert(&x->inner->vtable);
}
static unsigned tx_end_chain(const br_x509_class **ctx)
{
    struct tls_x509 *x = tx_of(ctx);
    unsigned err = x->inner ? x->inner->vtable->end_chain(&x->inner->vtable) : 0;
    if (!err && !x->have_key) err = BR_ERR_X509_NOT_TRUSTED; /* no key we can use */
    if (!err && tlsc.have_pin) {
        uint8_t h[32];
        if (x->der_big || x509_spki_sha256(x->der, x->der_len, h) != 0 ||
            ct_cmp(h, tlsc.pin, 32) != 0) {
            x->pin_failed = 1;
            err = BR_ERR_X509_NOT_TRUSTED;
        }
    }
    return err;
}
static const br_x509_pkey *tx_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    struct tls_x509 *x = (struct tls_x509 *)(void *)ctx;
    if (x->inner)
        return x->inner->vtable->get_pkey((const br_x509_class *const *)&x->inner->vtable, usages);
    if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    return x->have_key ? &x->pkey : NULL;
}
static const br_x509_class tx_vtable = {sizeof(struct tls_x509),
                                        tx_start_chain,
                                        tx_start_cert,
                                        tx_append,
                                        tx_end_cert,
                                        tx_end_chain,
                                        tx_get_pkey};

/* PEM (RFC 7468) through BearSSL's decoder: every object of a file. */
struct pem_obj {
    char name[128];
    uint8_t *der;
    size_t len;
};
static void pem_sink(void *ctx, const void *p, size_t n)
{
    struct buf *b = ctx;
    buf_append(b, p, n);
}
/* Every object of a PEM file, in *out (to free with pem_free); returns
 * the count, or -1 (bad PEM, or more than PEM_MAX objects). */
#define PEM_MAX 4096 /* a system CA bundle has a few hundred */
static int pem_read(const char *text, size_t n, struct pem_obj **out)
{
    br_pem_decoder_context pc;
    struct buf cur = {0};
    struct pem_obj *objs = NULL;
    int k = 0, in_obj = 0;
    br_pem_decoder_init(&pc);
    while (n > 0) {
        size_t used = br_pem_decoder_push(&pc, text, n);
        text += used, n -= used;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            if (k == PEM_MAX) goto bad;
            if ((k & (k - 1)) == 0) objs = xrealloc(objs, (size_t)(k ? 2 * k : 1) * sizeof *objs);
            fmt_s(objs[k].name, sizeof objs[k].name, "%s", br_pem_decoder_name(&pc));
            buf_free(&cur);
            br_pem_decoder_setdest(&pc, pem_sink, &cur);
            in_obj = 1;
            break;
        case BR_PEM_END_OBJ:
            if (!in_obj) goto bad;
            objs[k].len = cur.len;
            objs[k].der = xmalloc(cur.len);
            memcpy(objs[k].der, buf_head(&cur), cur.len);
            buf_free(&cur);
            k++, in_obj = 0;
            break;
        case BR_PEM_ERROR:
            goto bad;
        default:
            break;
        }
    }
    buf_free(&cur);
    if (in_obj) goto bad;
    *out = objs;
    return k;
bad:
    buf_free(&cur);
    while (k > 0)
        k--, free(objs[k].der);
    free(objs);
    *out = NULL;
    return -1;
}

/* Frees what pem_read returned, wiping it (keys are among them). */
static void pem_free(struct pem_obj *o, int k)
{
    for (int i = 0; i < k; i++) {
        wipe(o[i].der, o[i].len);
        free(o[i].der);
    }
    free(o);
}

/* --tls-cert (a chain, end entity first) and --tls-key (RSA or EC, in
 * PKCS#1, SEC 1 or PKCS#8 form). 0, or -1 with err set. */
static int tls_load_server(const char *cert, const char *key, char *err, size_t cap)
{
    struct pem_obj *o;
    size_t n;
    char *text = file_read(cert, 1u << 20, &n, err, cap);
    if (!text) return -1;
    int k = pem_read(text, n, &o);
    free(text);
    if (k > 0) tlsc.chain = xcalloc((size_t)k, sizeof *tlsc.chain);
    for (int i = 0; i < k; i++)
        if (strcmp(o[i].name, "CERTIFICATE") == 0) { /* the chain takes the bytes over */
            tlsc.chain[tlsc.nchain].data = o[i].der;
            tlsc.chain[tlsc.nchain++].data_len = o[i].len;
            o[i].der = NULL, o[i].len = 0;
        }
    if (k > 0) pem_free(o, k);
    if (!tlsc.nchain) {
        fmt_s(err, cap, "%s: %s", cert,
              k < 0 ? "not a PEM file" : "no certificate in it (PEM, BEGIN CERTIFICATE)");
        return -1;
    }
    text = file_read(key, 1u << 20, &n, err, cap);
    if (!text) return -1;
    k = pem_read(text, n, &o);
    wipe(text, n);
    free(text);
    int rc = -1;
    br_skey_decoder_context kd;
    for (int i = 0; i < k && rc < 0; i++) {
        if (!strstr(o[i].name, "PRIVATE KEY")) continue;
        br_skey_decoder_init(&kd);
        br_skey_decoder_push(&kd, o[i].der, o[i].len);
        const br_rsa_private_key *r = br_skey_decoder_get_rsa(&kd);
        const br_ec_private_key *e = br_skey_decoder_get_ec(&kd);
        if (r) { /* copy the five CRT factors into our own memory */
            size_t sz = r->plen + r->qlen + r->dplen + r->dqlen + r->iqlen;
            uint8_t *m = tlsc.keymem = xmalloc(sz);
            tlsc.keylen = sz;
            tlsc.rsa = *r;
            memcpy(m, r->p, r->plen), tlsc.rsa.p = m, m += r->plen;
            memcpy(m, r->q, r->qlen), tlsc.rsa.q = m, m += r->qlen;
            memcpy(m, r->dp, r->dplen), tlsc.rsa.dp = m, m += r->dplen;
            memcpy(m, r->dq, r->dqlen), tlsc.rsa.dq = m, m += r->dqlen;
            memcpy(m, r->iq, r->iqlen), tlsc.rsa.iq = m;
            tlsc.key_type = BR_KEYTYPE_RSA;
            rc = 0;
        } else if (e) {
            tlsc.keymem = xmalloc(e->xlen);
            tlsc.keylen = e->xlen;
            memcpy(tlsc.keymem, e->x, e->xlen);
            tlsc.ec = *e;
            tlsc.ec.x = tlsc.keymem;
            tlsc.key_type = BR_KEYTYPE_EC;
            rc = 0;
        }
        WIPE(kd);
    }
    if (k > 0) pem_free(o, k);
    if (rc < 0)
        fmt_s(err, cap,
              "%s: no RSA or EC private key in it (PEM: PRIVATE KEY, RSA PRIVATE KEY "
              "or EC PRIVATE KEY, unencrypted)",
              key);
    return rc;
}

/* No --tls-cert: a P-256 key and a self-signed certificate, made now. */
static int tls_make_server(const char *cn, char *err, size_t cap)
{
    static uint8_t skbuf[BR_EC_KBUF_PRIV_MAX_SIZE], pkbuf[BR_EC_KBUF_PUB_MAX_SIZE];
    br_ec_public_key pk;
    if (x509_ec_keygen(&tlsc.ec, skbuf, &pk, pkbuf) != 0) {
        fmt_s(err, cap, "cannot make a TLS key");
        return -1;
    }
    uint8_t *der = xmalloc(X509_CERT_MAX);
    size_t n = x509_selfsigned(der, X509_CERT_MAX, &tlsc.ec, &pk, cn, time(NULL));
    if (!n) {
        free(der);
        fmt_s(err, cap, "cannot make a TLS certificate for %s", cn);
        return -1;
    }
    tlsc.chain = xcalloc(1, sizeof *tlsc.chain);
    tlsc.chain[0].data = der, tlsc.chain[0].data_len = n, tlsc.nchain = 1;
    tlsc.keymem = skbuf, tlsc.keylen = 0; /* static: wiped at exit by tls_cfg_free */
    tlsc.key_type = BR_KEYTYPE_EC;
    uint8_t h[32];
    char b64[48];
    x509_spki_sha256(der, n, h);
    b64_enc(b64, h, 32, 1);
    LOG(L_INFO, 0, "TLS: self-signed certificate for %s made; its key is SHA256:%s (for --tls-pin)",
        cn, b64);
    return 0;
}

/* --tls-ca: trust anchors from a PEM file of CA certificates. */
static void tls_dn_sink(void *ctx, const void *p, size_t n) { buf_append(ctx, p, n); }
static int tls_load_ca(const char *path, char *err, size_t cap)
{
    struct pem_obj *o;
    size_t n;
    char *text = file_read(path, 8u << 20, &n, err, cap);
    if (!text) return -1;
    int k = pem_read(text, n, &o);
    free(text);
    if (k <= 0) {
        fmt_s(err, cap, "%s: %s", path, k < 0 ? "not a PEM file" : "no certificate in it (PEM)");
        return -1;
    }
    tlsc.ta = xcalloc((size_t)k, sizeof *tlsc.ta);
    for (int i = 0; i < k; i++) {
        struct buf dn = {0};
        br_x509_decoder_context d;
        br_x509_decoder_init(&d, tls_dn_sink, &dn);
        br_x509_decoder_push(&d, o[i].der, o[i].len);
        const br_x509_pkey *pk = br_x509_decoder_get_pkey(&d);
        if (strcmp(o[i].name, "CERTIFICATE") == 0 && pk) {
            br_x509_trust_anchor *ta = &tlsc.ta[tlsc.nta++];
            ta->dn.data = xmalloc(dn.len ? dn.len : 1);
            memcpy(ta->dn.data, buf_head(&dn), dn.len);
            ta->dn.len = dn.len;
            ta->flags = BR_X509_TA_CA;
            ta->pkey = *pk;
            if (pk->key_type == BR_KEYTYPE_RSA) {
                uint8_t *m = xmalloc(pk->key.rsa.nlen + pk->key.rsa.elen);
                memcpy(m, pk->key.rsa.n, pk->key.rsa.nlen);
                memcpy(m + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
                ta->pkey.key.rsa.n = m, ta->pkey.key.rsa.e = m + pk->key.rsa.nlen;
            } else {
                uint8_t *m = xmalloc(pk->key.ec.qlen);
                memcpy(m, pk->key.ec.q, pk->key.ec.qlen);
                ta->pkey.key.ec.q = m;
            }
        }
        buf_free(&dn);
    }
    pem_free(o, k);
    if (!tlsc.nta) {
        fmt_s(err, cap, "%s: no usable CA certificate in it", path);
        return -1;
    }
    return 0;
}

static void tls_cfg_free(void)
{
    for (size_t i = 0; i < tlsc.nchain; i++)
        free(tlsc.chain[i].data);
    free(tlsc.chain);
    for (size_t i = 0; i < tlsc.nta; i++) {
        free(tlsc.ta[i].dn.data);
        free(tlsc.ta[i].pkey.key_type == BR_KEYTYPE_RSA ? tlsc.ta[i].pkey.key.rsa.n
                                                        : tlsc.ta[i].pkey.key.ec.q);
    }
    free(tlsc.ta);
    if (tlsc.keymem && tlsc.keylen)
        wipe(tlsc.keymem, tlsc.keylen), free(tlsc.keymem);
    else if (tlsc.keymem)
        wipe(tlsc.keymem, BR_EC_KBUF_PRIV_MAX_SIZE);
    const char *alpn = tlsc.alpn;
    memset(&tlsc, 0, sizeof tlsc);
    tlsc.alpn = alpn;
}

/* One TLS connection: BearSSL's context, our certificate check, the
 * record buffer, and (server) the bytes read before the engine existed. */
struct tls {
    union {
        br_ssl_client_context cc;
        br_ssl_server_context sc;
    } u;
    br_ssl_engine_context *eng;
    struct tls_x509 x;
    br_x509_minimal_context xm;
    struct buf pre; /* server: the ClientHello already read, fed to the engine first */
    unsigned client : 1, up : 1, eof : 1, alpn_failed : 1;
    int io_err; /* errno of a failed read or write */
    uint8_t iobuf[BR_SSL_BUFSIZE_BIDI];
};

/*
 * What both ends offer: TLS 1.2 (BearSSL has no 1.3), ECDHE only, AEAD
 * only, SHA-2 only; BearSSL's "full" profiles would also link in CBC, CCM,
 * 3DES, RSA key exchange, MD5 and SHA-1, which a router binary does not
 * need. ecdsa: our certificate key (server) is EC; the client accepts
 * either.
 */
/*
 * ChaCha20-Poly1305 records (RFC 7905) with SSH's ChaCha20 (ci.chacha) and
 * our own Poly1305 instead of BearSSL's two (4 KB): a br_poly1305_run. The
 * one-time key is ChaCha20 block 0; the data is block 1 on; encryption runs
 * before the MAC, decryption after it. BearSSL compares the tag.
 */
static void tls_poly1305_run(const void *key, const void *iv, void *data, size_t len,
                             const void *aad, size_t aad_len, void *tag, br_chacha20_run ichacha,
                             int encrypt)
{
    uint8_t pkey[32] = {0};
    ichacha(key, iv, 0, pkey, sizeof pkey);
    if (encrypt) ichacha(key, iv, 1, data, len);
    poly1305_aead(tag, pkey, aad, aad_len, data, len);
    if (!encrypt) ichacha(key, iv, 1, data, len);
    wipe(pkey, sizeof pkey);
}

static void tls_profile(br_ssl_engine_context *eng, int ecdsa, int rsa)
{
    static const uint16_t suites[] = {
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    };
    uint16_t mine[ARRAY_LEN(suites)];
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_LEN(suites); i++) { /* the fast one for this CPU first */
        size_t j = ci.aes_hw ? i : (i + 2) % ARRAY_LEN(suites);
        if ((ecdsa && j % 2 == 0) || (rsa && j % 2 == 1)) mine[n++] = suites[j];
    }
    br_ssl_engine_set_suites(eng, mine, n);
    br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
    br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_gcm(eng);
    br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
    br_ssl_engine_set_chacha20(eng, ci.chacha);
    br_ssl_engine_set_poly1305(eng, &tls_poly1305_run);
    br_ssl_engine_set_ec(eng, &ci_ec);
}

static void tls_common(struct tls *t)
{
    uint8_t seed[32];
    br_ssl_engine_set_buffer(t->eng, t->iobuf, sizeof t->iobuf, 1);
    br_ssl_engine_set_versions(t->eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_protocol_names(t->eng, &tlsc.alpn, 1);
    rnd_bytes(seed, sizeof seed); /* our randomness, not BearSSL's own seeder */
    br_ssl_engine_inject_entropy(t->eng, seed, sizeof seed);
    WIPE(seed);
}

/* sni: the name sent and (with --tls-ca) checked; NULL or "" for none. */
static struct tls *tls_new_client(const char *sni)
{
    struct tls *t = xcalloc(1, sizeof *t);
    br_ssl_engine_context *eng = &t->u.cc.eng;
    br_ssl_client_zero(&t->u.cc);
    tls_profile(eng, 1, 1);
    /* RSA and ECDSA with BearSSL's i31 integers on every CPU: its default
     * is i62 on 64-bit ones, 1.7 KB more for speed that a handshake's one
     * or two signatures do not need. ci_ec is set (tls_profile). */
    br_ssl_engine_set_rsavrfy(eng, &br_rsa_i31_pkcs1_vrfy);
    br_ssl_engine_set_ecdsa(eng, &br_ecdsa_i31_vrfy_asn1);
    br_x509_minimal_init(&t->xm, &br_sha256_vtable, tlsc.ta, tlsc.nta);
    br_x509_minimal_set_rsa(&t->xm, br_ssl_engine_get_rsavrfy(eng));
    br_x509_minimal_set_ecdsa(&t->xm, br_ssl_engine_get_ec(eng), br_ssl_engine_get_ecdsa(eng));
    br_x509_minimal_set_hash(&t->xm, br_sha256_ID, &br_sha256_vtable);
    br_x509_minimal_set_hash(&t->xm, br_sha384_ID, &br_sha384_vtable);
    br_x509_minimal_set_hash(&t->xm, br_sha512_ID, &br_sha512_vtable);
    t->x.vtable = &tx_vtable;
    t->x.inner = tlsc.nta ? &t->xm : NULL;
    br_ssl_engine_set_x509(&t->u.cc.eng, &t->x.vtable);
    t->eng = &t->u.cc.eng;
    t->client = 1;
    tls_common(t);
    br_ssl_client_reset(&t->u.cc, sni && sni[0] ? sni : NULL, 0);
    return t;
}

/* pre: what the visitor sent so far (its ClientHello); taken over. */
static struct tls *tls_new_server(struct buf *pre)
{
    struct tls *t = xcalloc(1, sizeof *t);
    br_ssl_server_zero(&t->u.sc);
    int rsa = tlsc.key_type == BR_KEYTYPE_RSA;
    tls_profile(&t->u.sc.eng, !rsa, rsa);
    if (rsa)
        br_ssl_server_set_single_rsa(&t->u.sc, tlsc.chain, tlsc.nchain, &tlsc.rsa, BR_KEYTYPE_SIGN,
                                     &br_rsa_i31_private, &br_rsa_i31_pkcs1_sign); /* as above */
    else
        br_ssl_server_set_single_ec(&t->u.sc, tlsc.chain, tlsc.nchain, &tlsc.ec, BR_KEYTYPE_SIGN,
                                    BR_KEYTYPE_EC, br_ssl_engine_get_ec(&t->u.sc.eng),
                                    &br_ecdsa_i31_sign_asn1);
    t->eng = &t->u.sc.eng;
    tls_common(t);
    br_ssl_server_reset(&t->u.sc);
    t->pre = *pre;
    memset(pre, 0, sizeof *pre);
    return t;
}

/* Best effort close_notify, then everything is wiped and freed. */
static void tls_free(struct tls *t, int fd)
{
    if (!t) return;
    if (fd >= 0 && t->up && !t->io_err && !(br_ssl_engine_current_state(t->eng) & BR_SSL_CLOSED)) {
        br_ssl_engine_close(t->eng);
        size_t len;
        unsigned char *b = br_ssl_engine_sendrec_buf(t->eng, &len);
        if (b && len && write(fd, b, len) < 0) { /* the peer may be gone: fine */
        }
    }
    buf_free(&t->pre);
    wipe(t, sizeof *t);
    free(t);
}

/* Why the session ended, for the log and the user. Returns 1 when the
 * cause is the server's certificate (the client treats that as an
 * untrusted host key), else 0. */
static int tls_why(const struct tls *t, const char *peer, char *why, size_t cap)
{
    int e = br_ssl_engine_last_error(t->eng);
    if (t->x.pin_failed) {
        fmt_s(why, cap, "the TLS certificate of %s does not have the key --tls-pin names", peer);
        return 1;
    }
    if (t->alpn_failed) {
        fmt_s(why, cap,
              "%s did not agree to TLS ALPN \"%s\": not an alknet --tls-listen port, or "
              "one with another --alpn",
              peer, tlsc.alpn);
        return 0;
    }
    if (e >= BR_ERR_X509_OK && e < BR_ERR_RECV_FATAL_ALERT && t->client) {
        const char *what = e == BR_ERR_X509_EXPIRED ? "expired or not yet valid (check the clock)"
                           : e == BR_ERR_X509_BAD_SERVER_NAME ? "issued for another name (--sni)"
                           : e == BR_ERR_X509_NOT_TRUSTED     ? "not signed by a CA in --tls-ca"
                                                              : "not valid";
        fmt_s(why, cap, "the TLS certificate of %s is %s (BearSSL X.509 error %d)", peer, what, e);
        return 1;
    }
    if (t->io_err)
        fmt_s(why, cap, "connection to %s: %s", peer, strerror(t->io_err));
    else if (e == BR_ERR_OK)
        fmt_s(why, cap, "connection closed by %s", peer);
    else if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT)
        fmt_s(why, cap, "%s ended TLS with alert %d%s", peer, e - BR_ERR_RECV_FATAL_ALERT,
              e - BR_ERR_RECV_FATAL_ALERT == 120 ? " (no application protocol: another --alpn?)"
                                                 : "");
    else if (e >= BR_ERR_SEND_FATAL_ALERT)
        fmt_s(why, cap, "TLS with %s failed (we sent alert %d)", peer, e - BR_ERR_SEND_FATAL_ALERT);
    else if (e == BR_ERR_UNSUPPORTED_VERSION || e == BR_ERR_BAD_VERSION || e == BR_ERR_BAD_LENGTH)
        fmt_s(why, cap, "%s does not speak TLS 1.2 (BearSSL error %d): is it a TLS port?", peer, e);
    else
        fmt_s(why, cap, "TLS with %s failed (BearSSL error %d)", peer, e);
    return 0;
}

/*
 * Moves what can move: records from the socket into the engine, plaintext
 * from the engine into `in` (up to in_max bytes held), plaintext from `out`
 * into the engine, records from the engine to the socket, until nothing
 * moves. Returns the plaintext bytes added to `in`, or -1 once the session
 * is over (closed, failed, or the socket ended): see tls_why. Without
 * may_read the socket is only written to.
 *
 * The client checks, when the handshake is done, that the server chose our
 * ALPN name: anything else is not an alknet server.
 */
static long tls_pump(struct tls *t, int fd, struct buf *in, struct buf *out, size_t in_max,
                     int may_read)
{
    br_ssl_engine_context *e = t->eng;
    long got = 0;
    for (int moved = 1; moved;) {
        moved = 0;
        unsigned st = br_ssl_engine_current_state(e);
        size_t len;
        unsigned char *b;
        if (st & BR_SSL_CLOSED) return got ? got : -1;
        if (!t->up && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
            t->up = 1;
            if (t->client && !br_ssl_engine_get_selected_protocol(e)) {
                t->alpn_failed = 1;
                return -1;
            }
        }
        if ((st & BR_SSL_SENDREC) && !t->io_err) {
            b = br_ssl_engine_sendrec_buf(e, &len);
            ssize_t n = write(fd, b, len);
            if (n > 0) {
                br_ssl_engine_sendrec_ack(e, (size_t)n);
                moved = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                t->io_err = errno; /* what the peer sent before it left still counts */
            }
        }
        if ((st & BR_SSL_RECVAPP) && in->len < in_max) {
            b = br_ssl_engine_recvapp_buf(e, &len);
            size_t n = MIN(len, in_max - in->len);
            buf_reserve(in, n, ALK_IBUF);
            memcpy(buf_tail(in), b, n);
            in->len += n;
            got += (long)n;
            br_ssl_engine_recvapp_ack(e, n);
            moved = 1;
        }
        if ((st & BR_SSL_SENDAPP) && out->len > 0) {
            b = br_ssl_engine_sendapp_buf(e, &len);
            size_t n = MIN(len, out->len);
            memcpy(b, buf_head(out), n);
            buf_consume(out, n);
            br_ssl_engine_sendapp_ack(e, n);
            br_ssl_engine_flush(e, 0);
            moved = 1;
        }
        if ((st & BR_SSL_RECVREC) && !t->eof && may_read) {
            b = br_ssl_engine_recvrec_buf(e, &len);
            if (t->pre.len > 0) { /* the ClientHello the gate read, first */
                size_t n = MIN(len, t->pre.len);
                memcpy(b, buf_head(&t->pre), n);
                buf_consume(&t->pre, n);
                if (!t->pre.len) buf_free(&t->pre);
                br_ssl_engine_recvrec_ack(e, n);
                moved = 1;
                continue;
            }
            ssize_t n = read(fd, b, len);
            if (n > 0) {
                br_ssl_engine_recvrec_ack(e, (size_t)n);
                moved = 1;
            } else if (n == 0) {
                t->eof = 1;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                t->io_err = errno;
                t->eof = 1;
            }
        }
    }
    if ((t->eof || t->io_err) && !(br_ssl_engine_current_state(e) & BR_SSL_RECVAPP))
        return got ? got : -1;
    return got;
}

/* poll() interest: what the engine waits for. Records not yet written
 * count as output still pending. */
static short tls_events(const struct tls *t)
{
    unsigned st = br_ssl_engine_current_state(t->eng);
    return (short)((st & BR_SSL_SENDREC ? POLLOUT : 0) |
                   (st & BR_SSL_RECVREC && !t->eof ? POLLIN : 0));
}

/* ==================== SECTION 8e: proxies on the way out (px_) ==================== */

/*
 * serve --outbound and connect --proxy: a TCP connection to the proxy, its
 * handshake, and from then on the socket is the stream. SOCKS5 (RFC 1928)
 * CONNECT with the destination name as ATYP 3, unresolved, so the proxy
 * resolves it (Tor needs that), and RFC 1929 user/password when the URL
 * has them; HTTP CONNECT (RFC 9110 9.3.6) with Basic credentials (RFC
 * 7617). The proxy's reply is taken exactly: px_take says how many of the
 * bytes that have arrived belong to it (a SOCKS5 reply has a known length,
 * an HTTP reply ends at its first empty line), the rest stays in the socket
 * for whoever reads the stream. px_take/px_feed are pure; px_io does the
 * I/O on a non-blocking socket.
 */
enum { PX_SOCKS5 = 1, PX_HTTP };
struct px_cfg {
    uint8_t kind;
    char host[256];
    unsigned port;
    char user[256], pass[256]; /* user[0] == 0: no credentials */
    char shown[400];           /* the URL without the password, for messages */
    struct net_addrs addrs;    /* the proxy's addresses, resolved at start */
};
enum { PX_1_HELLO = 1, PX_2_AUTH, PX_3_REPLY, PX_4_DONE };
#define PX_REPLY_MAX 2048
struct px {
    const struct px_cfg *cfg;
    uint8_t st;
    uint8_t nl;        /* HTTP: 1 after LF, 2 after LF CR, 3 after the empty line that ends it */
    uint8_t out[1536]; /* the longest CONNECT request: 255-byte names, credentials */
    size_t outn, outoff;
    uint8_t in[PX_REPLY_MAX];
    size_t inn;
    unsigned rep;    /* SOCKS5 REP of a refusal */
    unsigned status; /* HTTP status of a refusal */
    char host[256];
    unsigned port;
    char why[400];
};

/* %XX in URL user information (RFC 3986 2.1). */
static int px_unescape(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || hex_digit(s[i + 1]) < 0 || hex_digit(s[i + 2]) < 0) return -1;
            c = hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]);
            i += 2;
        }
        if (c == 0 || o + 1 >= cap) return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return 0;
}

/* socks5://[USER[:PASS]@]HOST[:PORT] (also socks5h://), http://... the
 * same; HOST may be [IPv6]; default ports 1080 and 80; user and password
 * may carry %XX escapes (RFC 3986 3.2). 0, or -1 and why. */
static int px_parse(const char *url, struct px_cfg *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *rest;
    *why = "expected socks5://[USER:PASS@]HOST:PORT or http://[USER:PASS@]HOST:PORT";
    if (strncasecmp(url, "socks5://", 9) == 0)
        out->kind = PX_SOCKS5, rest = url + 9, out->port = 1080;
    else if (strncasecmp(url, "socks5h://", 10) == 0)
        out->kind = PX_SOCKS5, rest = url + 10, out->port = 1080;
    else if (strncasecmp(url, "http://", 7) == 0)
        out->kind = PX_HTTP, rest = url + 7, out->port = 80;
    else
        return -1;
    size_t n = strcspn(rest, "/");
    if (rest[n] && strcmp(rest + n, "/") != 0) return -1; /* no path */
    const char *at = NULL, *hp = rest;
    for (const char *q = rest; q < rest + n;
         q++) /* the host has no '@': the last one ends the user */
        if (*q == '@') at = q;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        size_t ul = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
        if (ul == 0 || px_unescape(out->user, sizeof out->user, rest, ul) != 0 ||
            (out->kind == PX_HTTP && strchr(out->user, ':'))) { /* RFC 7617 2 */
            *why = "bad user name in the proxy URL (at most 255 bytes; %XX escapes)";
            return -1;
        }
        if (colon &&
            px_unescape(out->pass, sizeof out->pass, colon + 1, (size_t)(at - colon - 1)) != 0) {
            *why = "bad password in the proxy URL (at most 255 bytes; %XX escapes)";
            return -1;
        }
        if (out->kind == PX_SOCKS5 && !out->pass[0]) { /* RFC 1929 2: PLEN 1 to 255 */
            *why = "a SOCKS5 user needs a password (socks5://USER:PASS@...)";
            return -1;
        }
        hp = at + 1;
    }
    const char *end = rest + n, *hs = hp, *he, *port = NULL;
    if (hp < end && *hp == '[') { /* [IPv6] */
        const char *rb = memchr(hp, ']', (size_t)(end - hp));
        if (!rb) return -1;
        hs = hp + 1, he = rb;
        if (rb + 1 < end && rb[1] != ':') return -1;
        if (rb + 1 < end) port = rb + 2;
    } else {
        he = memchr(hp, ':', (size_t)(end - hp));
        if (he)
            port = he + 1;
        else
            he = end;
        if (memchr(hs, '[', (size_t)(he - hs)) || memchr(hs, ']', (size_t)(he - hs)) ||
            (port && memchr(port, ':', (size_t)(end - port))))
            return -1; /* an IPv6 address needs its brackets */
    }
    if (he == hs || (size_t)(he - hs) >= sizeof out->host) return -1;
    for (const char *q = hs; q < he; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return -1;
    memcpy(out->host, hs, (size_t)(he - hs));
    if (port) {
        char ps[8];
        if ((size_t)(end - port) >= sizeof ps) return -1;
        memcpy(ps, port, (size_t)(end - port));
        ps[end - port] = 0;
        if (net_port(ps, &out->port) != 0 || out->port == 0) return -1;
    }
    int v6 = strchr(out->host, ':') != NULL;
    fmt_s(out->shown, sizeof out->shown, "%s://%s%s%s%s%s:%u",
          out->kind == PX_SOCKS5 ? "socks5" : "http", log_esc(out->user, strlen(out->user)),
          out->user[0] ? "@" : "", v6 ? "[" : "", out->host, v6 ? "]" : "", out->port);
    return 0;
}

static void px_put(struct px *p, const void *b, size_t n)
{
    if (n > sizeof p->out - p->outn) n = sizeof p->out - p->outn; /* cannot happen: sized */
    memcpy(p->out + p->outn, b, n);
    p->outn += n;
}

/* The SOCKS5 CONNECT request (RFC 1928 4): an IP literal as itself, any
 * other name as ATYP 3 for the proxy to resolve. */
static void px_socks_request(struct px *p)
{
    uint8_t b[300], a[16];
    size_t n = 0;
    b[n++] = 5, b[n++] = 1, b[n++] = 0;
    if (inet_pton(AF_INET, p->host, a) == 1) {
        b[n++] = 1;
        memcpy(b + n, a, 4), n += 4;
    } else if (inet_pton(AF_INET6, p->host, a) == 1) {
        b[n++] = 4;
        memcpy(b + n, a, 16), n += 16;
    } else {
        size_t l = strlen(p->host);
        b[n++] = 3, b[n++] = (uint8_t)l;
        memcpy(b + n, p->host, l), n += l;
    }
    b[n++] = (uint8_t)(p->port >> 8), b[n++] = (uint8_t)p->port;
    px_put(p, b, n);
    p->st = PX_3_REPLY;
    p->inn = 0;
}

/* Starts the handshake for host:port (host at most 255 bytes): the first
 * bytes to send are in p->out. */
static void px_start(struct px *p, const struct px_cfg *cfg, const char *host, unsigned port)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    fmt_s(p->host, sizeof p->host, "%s", host);
    p->port = port;
    if (cfg->kind == PX_SOCKS5) {
        /* RFC 1928 3: VER, NMETHODS, METHODS (0: none, 2: user/password) */
        static const uint8_t none[] = {5, 1, 0}, both[] = {5, 2, 0, 2};
        if (cfg->user[0])
            px_put(p, both, sizeof both);
        else
            px_put(p, none, sizeof none);
        p->st = PX_1_HELLO;
        return;
    }
    char hp[300], auth[800] = "";
    net_hostport(hp, sizeof hp, host, port);
    if (cfg->user[0]) {
        char up[520];
        int l = fmt_s(up, sizeof up, "%s:%s", cfg->user, cfg->pass);
        char b64[700];
        b64_enc(b64, (const uint8_t *)up, (size_t)l, 1);
        fmt_s(auth, sizeof auth, "Proxy-Authorization: Basic %s\r\n", b64);
        wipe(up, sizeof up);
        wipe(b64, sizeof b64);
    }
    int n = fmt_s((char *)p->out, sizeof p->out, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", hp,
                  hp, auth);
    wipe(auth, sizeof auth);
    p->outn = n > 0 && (size_t)n < sizeof p->out ? (size_t)n : 0; /* sized to fit: never 0 */
    p->st = PX_3_REPLY;
}

/* HTTP: the bytes of b[0..n) up to and including the empty line that
 * ends the reply (n if it is not there), from line state *nl, which is 3
 * once the end was seen. */
static size_t px_http_scan(uint8_t *nl, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '\n') {
            if (*nl) {
                *nl = 3;
                return i + 1;
            }
            *nl = 1;
        } else {
            *nl = b[i] == '\r' && *nl == 1 ? 2 : 0;
        }
    }
    return n;
}

/* Length of the SOCKS5 message being received, or 0 while unknown. */
static size_t px_socks_len(const struct px *p)
{
    if (p->st != PX_3_REPLY) return 2; /* method choice, auth status */
    if (p->inn < 5) return 0;
    switch (p->in[3]) { /* VER REP RSV ATYP BND.ADDR BND.PORT */
    case 1:
        return 4 + 4 + 2;
    case 4:
        return 4 + 16 + 2;
    case 3:
        return 4 + 1 + (size_t)p->in[4] + 2;
    default:
        return 5; /* a bad ATYP: judged on these bytes */
    }
}

/* How many of the n bytes that arrived belong to the proxy's reply. */
static size_t px_take(const struct px *p, const uint8_t *b, size_t n)
{
    if (p->st == PX_4_DONE) return 0;
    if (p->cfg->kind == PX_HTTP) {
        uint8_t nl = p->nl;
        return px_http_scan(&nl, b, n);
    }
    size_t want = px_socks_len(p);
    if (!want) want = 5;
    return MIN(n, want - p->inn);
}

static const char *px_socks_rep(unsigned rep)
{
    static const char *const t[] = {"succeeded",
                                    "general SOCKS server failure",
                                    "connection not allowed by ruleset",
                                    "Network unreachable",
                                    "Host unreachable",
                                    "Connection refused",
                                    "TTL expired (timed out)",
                                    "Command not supported",
                                    "Address type not supported"};
    return rep < ARRAY_LEN(t) ? t[rep] : "unknown SOCKS5 reply";
}

static int px_fail(struct px *p, const char *fmt, ...) ALK_PRINTF(2, 3);
static int px_fail(struct px *p, const char *fmt, ...)
{
    char tmp[300];
    va_list ap;
    va_start(ap, fmt);
    fmt_v(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    fmt_s(p->why, sizeof p->why, "proxy %s: %s", p->cfg->shown, tmp);
    return -1;
}

/* Feeds reply bytes (exactly what px_take allowed). 1 done, 0 more
 * needed, -1 refused or broken (p->why, p->rep). May queue output. */
static int px_feed(struct px *p, const uint8_t *b, size_t n)
{
    if (p->st == PX_4_DONE) return 1;
    if (n > sizeof p->in - p->inn) return px_fail(p, "reply longer than %d bytes", PX_REPLY_MAX);
    memcpy(p->in + p->inn, b, n);
    p->inn += n;
    if (p->cfg->kind == PX_HTTP) {
        if (px_http_scan(&p->nl, b, n) < n) return px_fail(p, "sent bytes after its reply");
        if (p->nl != 3) return 0;
        /* status line: HTTP/1.x SP 3DIGIT SP reason */
        size_t ll = strcspn((const char *)p->in, "\r\n");
        char line[200];
        fmt_s(line, sizeof line, "%.*s", (int)MIN(ll, sizeof line - 1), (const char *)p->in);
        for (char *q = line; *q; q++)
            if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) *q = '?';
        /* RFC 9112 4: HTTP-version SP 3DIGIT SP [reason] */
        const uint8_t *m = p->in;
        unsigned st = 0;
        int ok = p->inn >= 13 &&
                 (memcmp(m, "HTTP/1.0 ", 9) == 0 || memcmp(m, "HTTP/1.1 ", 9) == 0) &&
                 (m[12] == ' ' || m[12] == '\r' || m[12] == '\n');
        for (int i = 9; ok && i < 12; i++) {
            ok = m[i] >= '0' && m[i] <= '9';
            st = st * 10 + (unsigned)(m[i] - '0');
        }
        if (!ok || st < 100) return px_fail(p, "not an HTTP proxy (it answered \"%s\")", line);
        if (st / 100 != 2) {
            p->status = st;
            return px_fail(p, "CONNECT %s:%u refused: %s%s", p->host, p->port, line,
                           st == 407   ? " (give USER:PASS@ in the proxy URL)"
                           : st == 403 ? " (not allowed by ruleset)"
                                       : "");
        }
        p->st = PX_4_DONE;
        return 1;
    }
    size_t want = px_socks_len(p);
    if (!want || p->inn < want) return 0;
    const uint8_t *m = p->in;
    p->inn = 0;
    switch (p->st) {
    case PX_1_HELLO:
        if (m[0] != 5) return px_fail(p, "not a SOCKS5 proxy (version %u)", m[0]);
        if (m[1] == 0) {
            px_socks_request(p);
            return 0;
        }
        if (m[1] == 2 && p->cfg->user[0]) {
            /* RFC 1929 2: VER 1, ULEN, UNAME, PLEN, PASSWD */
            uint8_t a[1 + 1 + 255 + 1 + 255];
            size_t ul = strlen(p->cfg->user), pl = strlen(p->cfg->pass), k = 0;
            a[k++] = 1, a[k++] = (uint8_t)ul;
            memcpy(a + k, p->cfg->user, ul), k += ul;
            a[k++] = (uint8_t)pl;
            memcpy(a + k, p->cfg->pass, pl), k += pl;
            px_put(p, a, k);
            wipe(a, sizeof a);
            p->st = PX_2_AUTH;
            return 0;
        }
        return px_fail(p, "accepts none of our authentication methods%s",
                       p->cfg->user[0] ? "" : " (give USER:PASS@ in the proxy URL)");
    case PX_2_AUTH: /* RFC 1929 2: VER 1, STATUS 0 = success */
        if (m[0] != 1) return px_fail(p, "malformed authentication reply");
        if (m[1] != 0) return px_fail(p, "refused the user name or password");
        px_socks_request(p);
        return 0;
    default:
        if (m[0] != 5 || m[2] != 0 || (m[3] != 1 && m[3] != 3 && m[3] != 4))
            return px_fail(p, "malformed SOCKS5 reply");
        if (m[1] != 0) {
            p->rep = m[1];
            return px_fail(p, "CONNECT %s:%u refused: %s (SOCKS5 reply %u)", p->host, p->port,
                           px_socks_rep(m[1]), m[1]);
        }
        p->st = PX_4_DONE;
        return 1;
    }
}

/* Runs the handshake on the non-blocking socket fd: 1 done (the next byte
 * on fd is the stream's), 0 waiting (for px_events), -1 failed (p->why). */
static int px_io(struct px *p, int fd)
{
    for (;;) {
        while (p->outoff < p->outn) {
            ssize_t n = write(fd, p->out + p->outoff, p->outn - p->outoff);
            if (n > 0) {
                p->outoff += (size_t)n;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
            return px_fail(p, "%s", strerror(errno));
        }
        p->outn = p->outoff = 0;
        if (p->st == PX_4_DONE) return 1;
        uint8_t b[PX_REPLY_MAX];
        ssize_t n = recv(fd, b, sizeof b, MSG_PEEK);
        if (n == 0) return px_fail(p, "closed the connection during the handshake");
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
            return px_fail(p, "%s", strerror(errno));
        }
        size_t take = px_take(p, b, (size_t)n);
        if (read(fd, b, take) != (ssize_t)take) return px_fail(p, "%s", strerror(errno));
        int r = px_feed(p, b, take);
        if (r != 0) return r < 0 ? -1 : 1;
    }
}

static short px_events(const struct px *p) { return p->outoff < p->outn ? POLLOUT : POLLIN; }

/* ==================== SECTION 9: SSH transport (tp_) ==================== */

/*
 * One struct ssh per SSH connection. The transport is an engine: the loop
 * feeds it bytes (tp_read) and drains what it wants sent (tp_flush); it
 * never blocks and never calls back into the loop.
 *
 * Where payload bytes are copied, and why:
 *   in:  read() from the socket into c->in (the kernel's copy), opened in
 *        place there, then handed to the channel as a view; the channel
 *        write()s it straight to the local socket. Only the part a slow
 *        local reader does not take is copied into that channel's queue.
 *   out: the channel read()s from its local socket straight into c->out at
 *        the payload offset of a new packet (tp_begin), the header is filled
 *        in around it and the packet is sealed in place (tp_end); write()
 *        sends many packets from c->out at once.
 * So each byte is read once, encrypted or decrypted once in place, and
 * written once.
 */
enum { GATE_JUDGE, GATE_DROP, GATE_DONE }; /* reading first bytes; discarding; the visitor ended */
enum tp_phase { TP_0_GATE, TP_1_VERSION, TP_2_KEX, TP_3_AUTH, TP_4_OPEN, TP_5_CLOSING };
static const char *const tp_phase_name[] = {"gate", "version", "kex", "auth", "open", "closing"};

/* RFC 4250 4.1 message numbers */
enum {
    MSG_DISCONNECT = 1,
    MSG_IGNORE,
    MSG_UNIMPLEMENTED,
    MSG_DEBUG,
    MSG_SERVICE_REQUEST,
    MSG_SERVICE_ACCEPT,
    MSG_EXT_INFO,
    MSG_KEXINIT = 20,
    MSG_NEWKEYS,
    MSG_KEX_ECDH_INIT = 30,
    MSG_KEX_ECDH_REPLY,
    MSG_USERAUTH_REQUEST = 50,
    MSG_USERAUTH_FAILURE,
    MSG_USERAUTH_SUCCESS,
    MSG_USERAUTH_BANNER,
    MSG_USERAUTH_PK_OK = 60,
    MSG_GLOBAL_REQUEST = 80,
    MSG_REQUEST_SUCCESS,
    MSG_REQUEST_FAILURE,
    MSG_CHANNEL_OPEN = 90,
    MSG_CHANNEL_OPEN_CONFIRMATION,
    MSG_CHANNEL_OPEN_FAILURE,
    MSG_CHANNEL_WINDOW_ADJUST,
    MSG_CHANNEL_DATA,
    MSG_CHANNEL_EXTENDED_DATA,
    MSG_CHANNEL_EOF,
    MSG_CHANNEL_CLOSE,
    MSG_CHANNEL_REQUEST,
    MSG_CHANNEL_SUCCESS,
    MSG_CHANNEL_FAILURE
};
/* RFC 4253 11.1 disconnect reasons */
enum {
    DISC_PROTOCOL_ERROR = 2,
    DISC_KEY_EXCHANGE_FAILED = 3,
    DISC_MAC_ERROR = 5,
    DISC_HOST_KEY_NOT_VERIFIABLE = 9,
    DISC_CONNECTION_LOST = 10,
    DISC_BY_APPLICATION = 11,
    DISC_NO_MORE_AUTH_METHODS = 14
};

struct kex;
struct chan;
struct key;

struct ssh {
    int fd;
    struct tls *tls; /* --tls / --tls-listen: the socket carries TLS records */
    unsigned id;     /* connection number in logs */
    enum tp_phase ph;
    unsigned server : 1, strict : 1, dead : 1, authed : 1;
    int err;                /* first error (-E_*), sticky */
    unsigned disc;          /* DISCONNECT reason the peer sent, if it did */
    char why[512];          /* what went wrong, for the log and the user */
    int64_t rtt_ms, rtt_at; /* the kernel's smoothed round-trip time, and when asked (ch_grow) */
    struct buf in, out;
    struct buf defer; /* our packets held back while our kex runs */
    uint32_t in_len;  /* packet_length of the packet being received, 0 = unknown */
    struct ci_dir tx, rx;
    struct kex *kx;  /* non-NULL while a key exchange runs */
    uint8_t sid[32]; /* session identifier: H of the first exchange */
    int have_sid;
    br_sha256_context vh; /* exchange hash after string V_C, string V_S */
    char peer_ver[ALK_VERLINE_MAX + 1];
    size_t prebanner;    /* bytes of lines seen before the peer's version */
    uint8_t hostkey[32]; /* the server's host key, fixed by the first kex */
    const char *ciphers; /* our cipher preference, a name-list */
    const char *ver;     /* our identification string, without CR LF */
    /* server side */
    const struct key *hk; /* our host key */
    unsigned auth_tries;  /* USERAUTH_REQUESTs seen */
    unsigned svc_ok : 1;  /* "ssh-userauth" was requested */
    char *auth_user;      /* who logged in (for logs), and with which key */
    char auth_fp[KEY_FP_LEN];
    struct sv_grant *grant; /* what the key may open (SECTION 18) */
    unsigned max_channels;
    unsigned gate_tls : 1; /* TP_0_GATE: came in on a --tls-listen port */
    int64_t gate_until;    /* TP_0_GATE: decide by then; while dropping, close then */
    uint8_t gate_drop;     /* TP_0_GATE: GATE_JUDGE, or not ours: GATE_DROP, GATE_DONE */
    /* client side: who we are and whom we expect */
    const char *user;
    const struct key *ident;
    const char *host; /* as given by the user, for known_hosts */
    unsigned port;
    const char *pin;          /* --host-key SHA256:... */
    const char *known_hosts;  /* file to check and (with accept_new) extend */
    const char *known_hosts2; /* read-only fallback (~/.ssh/known_hosts) */
    int accept_new;
    /* channels by our channel number */
    struct chan **ch;
    uint32_t ch_cap, ch_live, ch_hint;
    /* timers */
    int64_t t_start, t_rx, t_kex, t_close;
    unsigned ka_out;                /* keepalives sent and not yet answered */
    int64_t t_ka;                   /* when the last keepalive went out */
    int64_t grace_ms, keepalive_ms; /* time to get authenticated; keepalive interval (0: off) */
    unsigned ka_count;              /* unanswered keepalives that mean the peer is gone */
    uint64_t rekey_bytes;           /* our own rekey after this many bytes either way, */
    int64_t rekey_ms;               /* or this long (--rekey-limit) */
    char peer[64];                  /* "addr:port" */
    uint64_t rx_total, tx_total;
};

static unsigned tp_next_id = 1;
static void kex_free(struct ssh *c); /* SECTION 10 */

static struct ssh *tp_new(int fd, int server, const char *peer)
{
    struct ssh *c = xcalloc(1, sizeof *c);
    c->fd = fd;
    c->server = server ? 1 : 0;
    c->ph = server ? TP_0_GATE : TP_1_VERSION; /* a server judges its visitor first */
    c->id = tp_next_id++;
    c->t_start = c->t_rx = c->t_kex = now_ms();
    c->ver = ALK_ID_STRING;
    c->grace_ms = ALK_HANDSHAKE_TIMEOUT_MS;
    c->ka_count = ALK_KEEPALIVE_COUNT;
    c->rekey_bytes = ALK_REKEY_BYTES;
    c->rekey_ms = ALK_REKEY_MS;
    fmt_s(c->peer, sizeof c->peer, "%s", peer);
    return c;
}

/* Frees everything a connection owns (its channels are the loop's). */
static void tp_free(struct ssh *c)
{
    tls_free(c->tls, c->fd);
    if (c->fd >= 0) close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->defer);
    kex_free(c);
    free(c->ch);
    free(c->auth_user);
    wipe(c, sizeof *c);
    free(c);
}

/* May we send a message of this type now? Between our KEXINIT and our
 * NEWKEYS only transport messages go out (RFC 4253 7.1). */
static int tp_kex_msg(uint8_t t) { return t <= MSG_DEBUG || (t >= MSG_KEXINIT && t <= 49); }
static int tp_kex_blocks(const struct ssh *c);

/*
 * Starts a packet in c->out: returns a writer for up to maxpay payload
 * bytes, positioned after the 5 header bytes, with room behind it for the
 * longest padding and the tag. Nothing is committed until tp_end.
 */
static struct wr tp_begin(struct ssh *c, size_t maxpay)
{
    buf_reserve(&c->out, 5 + maxpay + 32 + ALK_TAG, ALK_OBUF_HIGH + ALK_PKT_MAX);
    return wr_init(buf_tail(&c->out) + 5, maxpay);
}

/* Seals the packet whose payload w holds (RFC 4253 6): padding to the
 * cipher's block (the length field excluded for AEADs), at least 4 bytes,
 * random; then the cipher seals it in place and it joins the queue. */
static void tp_seal(struct ssh *c, uint8_t *pkt, size_t paylen)
{
    const struct ci_alg *a = c->tx.alg;
    size_t block = a ? a->block : 8, unpadded = 1 + paylen + (a ? 0 : 4);
    size_t pad = block - unpadded % block;
    if (pad < 4) pad += block;
    uint32_t len = (uint32_t)(1 + paylen + pad);
    st32_be(pkt, len);
    pkt[4] = (uint8_t)pad;
    rnd_bytes(pkt + 5 + paylen, pad);
    if (a) a->seal(&c->tx, pkt, len);
    size_t total = 4 + len + (a ? ALK_TAG : 0);
    c->out.len += total;
    c->tx.seq++;
    c->tx.bytes += total;
    c->tx_total += total;
}

static void tp_end(struct ssh *c, struct wr *w)
{
    if (NEVER(w->bad || w->len == 0)) {
        /* a packet that did not fit its reservation: a bug, never silent */
        if (!c->err) {
            c->err = -E_LIMIT;
            fmt_s(c->why, sizeof c->why, "internal error: message %u did not fit its buffer",
                  w->len ? w->p[0] : 0);
        }
        return;
    }
    uint8_t *pkt = w->p - 5;
    if (NEVER(pkt != buf_tail(&c->out))) return; /* nothing may write in between */
    if (tp_kex_blocks(c) && !tp_kex_msg(w->p[0])) {
        /* held back until our NEWKEYS is out: stash the payload */
        if (c->defer.len + 4 + w->len <= ALK_DEFER_MAX) {
            uint8_t l[4];
            st32_be(l, (uint32_t)w->len);
            buf_append(&c->defer, l, 4);
            buf_append(&c->defer, w->p, w->len);
        } else if (!c->err) {
            c->err = -E_LIMIT;
            fmt_s(c->why, sizeof c->why, "too much to send during a key exchange");
        }
        return;
    }
    tp_seal(c, pkt, w->len);
}

/* Sends what was held back during our key exchange, in order. */
static void tp_undefer(struct ssh *c)
{
    struct buf d = c->defer;
    memset(&c->defer, 0, sizeof c->defer);
    for (size_t off = 0; off + 4 <= d.len;) {
        uint32_t n = ld32_be(d.p + off);
        struct wr w = tp_begin(c, n);
        wr_bytes(&w, d.p + off + 4, n);
        tp_end(c, &w);
        off += 4 + n;
    }
    buf_free(&d);
}

/* Records the first error and why, and moves the connection to closing:
 * a DISCONNECT goes out if the peer can still read one. */
static ALK_PRINTF(3, 4) void tp_fail(struct ssh *c, int e, const char *fmt, ...)
{
    if (c->ph == TP_5_CLOSING) return;
    if (!c->err) {
        char tmp[sizeof c->why]; /* fmt's arguments may include c->why itself */
        va_list ap;
        va_start(ap, fmt);
        fmt_v(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        memcpy(c->why, tmp, sizeof tmp);
        c->err = e;
    }
    int lvl = c->err == -E_CLOSED || c->err == -E_LOCAL || c->err == -E_DISC ? L_INFO : L_WARN;
    LOG(lvl, c->id, "closing connection %s: %s", c->peer, c->why);
    /* a DISCONNECT is pointless when the peer is gone or said goodbye */
    if (c->ph > TP_1_VERSION && c->err != -E_CLOSED && c->err != -E_IO && c->err != -E_DISC) {
        unsigned code = c->err == -E_MAC                             ? DISC_MAC_ERROR
                        : c->err == -E_ALGO                          ? DISC_KEY_EXCHANGE_FAILED
                        : c->err == -E_HOSTKEY                       ? DISC_HOST_KEY_NOT_VERIFIABLE
                        : c->err == -E_AUTH                          ? DISC_NO_MORE_AUTH_METHODS
                        : c->err == -E_LOCAL || c->err == -E_TIMEOUT ? DISC_BY_APPLICATION
                                                                     : DISC_PROTOCOL_ERROR;
        buf_free(&c->defer);
        struct wr w = tp_begin(c, 300);
        wr_u8(&w, MSG_DISCONNECT);
        wr_u32(&w, code);
        wr_str(&w, c->why, strlen(c->why));
        wr_cstr(&w, "");
        tp_end(c, &w); /* a DISCONNECT may be sent even during a kex (RFC 4253 7.1) */
    }
    c->ph = TP_5_CLOSING;
    c->t_close = now_ms() + 1000;
}

static void tp_input(struct ssh *c);

/*
 * TLS: one pump of the engine both ways (tls_pump); what arrives goes
 * through tp_input at once, so the engine's buffer never waits for room
 * in c->in. write_only: the socket is not read (the loop's last flush
 * before poll, when the streams have already decided what they wait for).
 * Returns -1 when the session is over (c->err, c->why set).
 */
static int tp_tls(struct ssh *c, int write_only)
{
    long n;
    while ((n = tls_pump(c->tls, c->fd, &c->in, &c->out, ALK_IBUF, !write_only)) > 0)
        if (c->ph != TP_5_CLOSING) tp_input(c);
    if (n == 0) return 0;
    if (!c->err) {
        int cert = tls_why(c->tls, c->peer, c->why, sizeof c->why);
        c->err = cert ? -E_HOSTKEY : c->tls->io_err ? -E_IO : -E_CLOSED;
    }
    c->out.len = 0; /* nobody to send to */
    return -1;
}

/* Output not yet on the wire: ours, or TLS records the engine holds. */
static int tp_pending(const struct ssh *c)
{
    return c->out.len > 0 || (c->tls && (tls_events(c->tls) & POLLOUT));
}

/* Tries to write everything queued. Returns -1 if the socket failed. */
static int tp_flush(struct ssh *c)
{
    if (c->tls) return tp_tls(c, 0);
    while (c->out.len > 0) {
        ssize_t n = write(c->fd, buf_head(&c->out), c->out.len);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (!c->err) {
            c->err = -E_IO;
            fmt_s(c->why, sizeof c->why, "write: %s", strerror(errno));
        }
        c->out.len = 0;
        return -1;
    }
    return 0;
}

static int tp_dispatch(struct ssh *c, const uint8_t *p, size_t n); /* SECTION 14 */
static void kex_start(struct ssh *c);                              /* SECTION 10 */

static void tp_hash_str(br_sha256_context *h, const void *p, size_t n)
{
    uint8_t l[4];
    st32_be(l, (uint32_t)n);
    br_sha256_update(h, l, 4);
    br_sha256_update(h, p, n);
}

/* Sends our identification line; the server sends it only after the
 * client's arrived (stealth, spec 4), the client at once. */
static void tp_send_version(struct ssh *c)
{
    buf_append(&c->out, c->ver, strlen(c->ver));
    buf_append(&c->out, "\r\n", 2);
}

/*
 * RFC 4253 4.2: the identification line, "SSH-2.0-softwareversion
 * SP comments CR LF", at most 255 bytes. A server may send other lines
 * first; a client may not. "SSH-1.99-" means a server that also speaks 2.0.
 * Returns 1 when the line is complete, 0 when more bytes are needed, <0 on
 * error.
 */
static int tp_version(struct ssh *c)
{
    for (;;) {
        uint8_t *p = buf_head(&c->in);
        size_t n = c->in.len, scan = MIN(n, ALK_VERLINE_MAX);
        uint8_t *nl = memchr(p, '\n', scan);
        if (!nl) {
            if (n >= ALK_VERLINE_MAX) {
                tp_fail(c, -E_PROTO, "identification line longer than %d bytes", ALK_VERLINE_MAX);
                return -1;
            }
            return 0;
        }
        size_t ln = (size_t)(nl - p), used = ln + 1;
        if (ln > 0 && p[ln - 1] == '\r') ln--;
        if (ln >= 4 && memcmp(p, "SSH-", 4) == 0) {
            if (!(ln >= 8 && memcmp(p, "SSH-2.0-", 8) == 0) &&
                !(ln >= 9 && memcmp(p, "SSH-1.99-", 9) == 0)) {
                tp_fail(c, -E_PROTO, "peer speaks an unsupported SSH version: %s", log_esc(p, ln));
                return -1;
            }
            memcpy(c->peer_ver, p, ln);
            c->peer_ver[ln] = 0;
            br_sha256_init(&c->vh);
            const char *ours = c->ver;
            if (c->server) {
                tp_hash_str(&c->vh, c->peer_ver, ln);
                tp_hash_str(&c->vh, ours, strlen(ours));
            } else {
                tp_hash_str(&c->vh, ours, strlen(ours));
                tp_hash_str(&c->vh, c->peer_ver, ln);
            }
            buf_consume(&c->in, used);
            LOG(L_DEBUG, c->id, "peer version %s", log_esc(c->peer_ver, ln));
            c->ph = TP_2_KEX;
            if (c->server) { /* stealth (spec 4): not a byte before the client's line */
                tp_send_version(c);
                kex_start(c);
            }
            return 1;
        }
        /* a line before the version: only servers may send them */
        c->prebanner += used;
        if (c->server || c->prebanner > ALK_PREBANNER_MAX) {
            tp_fail(c, -E_PROTO, "peer did not start with an SSH identification line");
            return -1;
        }
        buf_consume(&c->in, used);
    }
}

/*
 * Frames and opens packets from c->in (RFC 4253 6) and hands each payload
 * to tp_dispatch. Only this function sees partial input.
 */
static void sv_gate_input(struct ssh *c); /* SECTION 18 */

static void tp_input(struct ssh *c)
{
    if (c->ph == TP_0_GATE) { /* a server's visitor: not SSH until the gate says so */
        sv_gate_input(c);
        return;
    }
    while (c->ph != TP_5_CLOSING && !c->err) {
        if (c->ph == TP_1_VERSION) {
            if (tp_version(c) <= 0) return;
            continue;
        }
        uint8_t *p = buf_head(&c->in);
        const struct ci_alg *a = c->rx.alg;
        if (c->in.len < 4) return;
        if (!c->in_len) {
            uint32_t len = a ? a->len(&c->rx, p) : ld32_be(p);
            unsigned block = a ? a->block : 8;
            if (len > ALK_PKT_MAX || len < 8 || (a ? len : len + 4) % block != 0) {
                tp_fail(c, a ? -E_MAC : -E_PROTO, "bad packet length %lu", (unsigned long)len);
                return;
            }
            c->in_len = len;
        }
        size_t total = 4 + (size_t)c->in_len + (a ? ALK_TAG : 0);
        if (c->in.len < total) return;
        if (a && a->open(&c->rx, p, c->in_len) != 0) {
            tp_fail(c, -E_MAC, "packet authentication failed (corrupted or forged data)");
            return;
        }
        size_t pad = p[4];
        if (pad < 4 || pad + 2 > c->in_len) {
            tp_fail(c, -E_PROTO, "bad packet padding %u", (unsigned)pad);
            return;
        }
        c->in_len = 0;
        c->rx.seq++;
        c->rx.bytes += total;
        c->rx_total += total;
        c->t_rx = now_ms();
        c->ka_out = 0;
        int r = tp_dispatch(c, p + 5, total - 5 - pad - (a ? ALK_TAG : 0));
        buf_consume(&c->in, total);
        if (r < 0 && !c->err) tp_fail(c, r, "%s", err_str(r));
        if (c->err && c->ph != TP_5_CLOSING) tp_fail(c, c->err, "%s", c->why);
    }
}

static void sv_gate_read(struct ssh *c); /* SECTION 18 */

/* Reads what the socket has and processes it. */
static void tp_read(struct ssh *c)
{
    if (c->ph == TP_0_GATE) {
        sv_gate_read(c);
        return;
    }
    if (c->tls) {
        if (tp_tls(c, 0) < 0) tp_fail(c, c->err, "%s", c->why);
        return;
    }
    buf_reserve(&c->in, ALK_PKT_MAX + 4 + ALK_TAG, ALK_IBUF);
    ssize_t n = read(c->fd, buf_tail(&c->in), buf_room(&c->in));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        if (n == 0)
            tp_fail(c, -E_CLOSED, "connection closed by %s", c->peer);
        else
            tp_fail(c, -E_IO, "read from %s: %s", c->peer, strerror(errno));
        c->out.len = 0; /* nobody to send to */
        return;
    }
    c->in.len += (size_t)n;
#ifdef TCP_QUICKACK
    /* Until the tunnel is open, acknowledge at once: OpenSSH's sshd leaves
     * Nagle on during authentication, so its second small reply would wait
     * for our delayed ACK (40 ms) after the first. */
    if (c->ph < TP_4_OPEN) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
#endif
    tp_input(c);
}

/* ==================== SECTION 10: key exchange (kex_) ==================== */

/*
 * curve25519-sha256 (RFC 8731) with strict KEX (OpenSSH PROTOCOL, the
 * Terrapin countermeasure). The exchange, in protocol order:
 *
 *   both    KEXINIT                           kex_start, kex_on_kexinit
 *   client  KEX_ECDH_INIT  string Q_C         kex_on_kexinit (client part)
 *   server  KEX_ECDH_REPLY string K_S, string Q_S, string sig   kex_on_reply
 *   both    NEWKEYS                           kex_on_newkeys
 *
 * H = SHA256(string V_C, string V_S, string I_C, string I_S, string K_S,
 *            string Q_C, string Q_S, mpint K). The version strings never
 * change, so their hash state is computed once (c->vh) and copied at each
 * exchange. The first H is the session id.
 */
#define KEX_ALGS "curve25519-sha256,curve25519-sha256@libssh.org"
#define KEX_STRICT_C "kex-strict-c-v00@openssh.com"
#define KEX_STRICT_S "kex-strict-s-v00@openssh.com"

struct kex {
    unsigned sent_init : 1, got_init : 1, have_keys : 1, sent_newkeys : 1, got_newkeys : 1;
    unsigned first : 1, skip_next : 1;
    uint8_t *my_init; /* our KEXINIT payload: it is I_C or I_S in H */
    size_t my_init_len;
    br_sha256_context h; /* H so far */
    const struct ci_alg *alg_tx, *alg_rx;
    uint8_t esk[32], epk[32];      /* our ephemeral X25519 key pair */
    uint8_t key_tx[64], iv_tx[12]; /* next keys, installed at NEWKEYS */
    uint8_t key_rx[64], iv_rx[12];
};

static int tp_kex_blocks(const struct ssh *c)
{
    return c->kx && c->kx->sent_init && !c->kx->sent_newkeys;
}

static void kex_free(struct ssh *c)
{
    if (!c->kx) return;
    free(c->kx->my_init);
    wipe(c->kx, sizeof *c->kx);
    free(c->kx);
    c->kx = NULL;
}

/* Is name on the comma-separated name-list? */
static int nl_has(struct str list, const char *name, size_t nn)
{
    for (size_t i = 0; i < list.n;) {
        size_t j = i;
        while (j < list.n && list.p[j] != ',')
            j++;
        if (j - i == nn && memcmp(list.p + i, name, nn) == 0) return 1;
        i = j + 1;
    }
    return 0;
}
static struct str str_of(const char *z)
{
    struct str s = {(const uint8_t *)z, strlen(z)};
    return s;
}

/* RFC 4253 7.1: the first algorithm on the client's list that is also on
 * the server's. The result is a view into `cl`. */
static int kex_pick(struct str cl, struct str sv, struct str *out)
{
    for (size_t i = 0; i < cl.n;) {
        size_t j = i;
        while (j < cl.n && cl.p[j] != ',')
            j++;
        if (j > i && nl_has(sv, (const char *)cl.p + i, j - i)) {
            out->p = cl.p + i, out->n = j - i;
            return 0;
        }
        i = j + 1;
    }
    return -1;
}
static struct str nl_first(struct str l)
{
    size_t j = 0;
    while (j < l.n && l.p[j] != ',')
        j++;
    l.n = j;
    return l;
}

/* RFC 4253 7.1 KEXINIT: byte 20, byte[16] cookie, ten name-lists (kex,
 * host key, cipher c2s, s2c, mac c2s, s2c, compression c2s, s2c, language
 * c2s, s2c), boolean first_kex_packet_follows, uint32 0. The MAC lists
 * are never used: every cipher here is an AEAD (PROTOCOL.chacha20poly1305). */
static void kex_start(struct ssh *c)
{
    if (c->kx && c->kx->sent_init) return;
    if (!c->kx) {
        c->kx = xcalloc(1, sizeof *c->kx);
        c->kx->first = !c->have_sid;
    }
    struct kex *kx = c->kx;
    uint8_t buf[1024], cookie[16];
    char kexl[160];
    fmt_s(kexl, sizeof kexl, "%s%s%s", KEX_ALGS, kx->first ? "," : "",
          kx->first ? (c->server ? KEX_STRICT_S : KEX_STRICT_C) : "");
    rnd_bytes(cookie, 16);
    struct wr w = wr_init(buf, sizeof buf);
    wr_u8(&w, MSG_KEXINIT);
    wr_bytes(&w, cookie, 16);
    wr_cstr(&w, kexl);
    wr_cstr(&w, "ssh-ed25519");
    wr_cstr(&w, c->ciphers);
    wr_cstr(&w, c->ciphers);
    wr_cstr(&w, "hmac-sha2-256");
    wr_cstr(&w, "hmac-sha2-256");
    wr_cstr(&w, "none");
    wr_cstr(&w, "none");
    wr_cstr(&w, "");
    wr_cstr(&w, "");
    wr_u8(&w, 0);
    wr_u32(&w, 0);
    if (NEVER(w.bad)) return;
    kx->my_init = xmalloc(w.len);
    memcpy(kx->my_init, buf, w.len);
    kx->my_init_len = w.len;
    struct wr p = tp_begin(c, w.len);
    wr_bytes(&p, buf, w.len);
    tp_end(c, &p);
    kx->sent_init = 1;
    LOG(L_DEBUG, c->id, "sent KEXINIT%s", kx->first ? "" : " (rekey)");
}

/* Derives n <= 64 bytes of key material (RFC 4253 7.2):
 * K1 = HASH(K || H || letter || session_id), K2 = HASH(K || H || K1). */
static void kex_derive(uint8_t *out, size_t n, const uint8_t *kenc, size_t klen,
                       const uint8_t h[32], char letter, const uint8_t sid[32])
{
    uint8_t d[64];
    br_sha256_context x;
    br_sha256_init(&x);
    br_sha256_update(&x, kenc, klen);
    br_sha256_update(&x, h, 32);
    br_sha256_update(&x, &letter, 1);
    br_sha256_update(&x, sid, 32);
    br_sha256_out(&x, d);
    br_sha256_init(&x);
    br_sha256_update(&x, kenc, klen);
    br_sha256_update(&x, h, 32);
    br_sha256_update(&x, d, 32);
    br_sha256_out(&x, d + 32);
    memcpy(out, d, n);
    WIPE(d);
    WIPE(x);
}

static int kex_on_kexinit(struct ssh *c, const uint8_t *p, size_t n)
{
    if (!c->kx) {
        c->kx = xcalloc(1, sizeof *c->kx);
        c->kx->first = !c->have_sid;
    }
    struct kex *kx = c->kx;
    if (kx->got_init) return -E_PROTO;
    struct rd r = rd_init(p + 1, n - 1);
    struct str l[10];
    rd_bytes(&r, 16);
    for (int i = 0; i < 10; i++)
        l[i] = rd_str(&r, 4096);
    int follows = rd_bool(&r);
    rd_u32(&r);
    if (!rd_end(&r)) {
        tp_fail(c, -E_PROTO, "malformed KEXINIT");
        return -E_PROTO;
    }
    kx->got_init = 1;
    if (kx->first) {
        c->strict =
            nl_has(l[0], c->server ? KEX_STRICT_C : KEX_STRICT_S, strlen(KEX_STRICT_C)) ? 1 : 0;
        if (c->strict && c->rx.seq != 1) {
            tp_fail(c, -E_PROTO, "strict KEX: KEXINIT was not the first packet");
            return -E_PROTO;
        }
    }
    if (!kx->sent_init) kex_start(c);
    /* negotiate: the client's list decides */
    struct str mine[10], *cl, *sv;
    const char *ours[10] = {KEX_ALGS, "ssh-ed25519", c->ciphers, c->ciphers, "",
                            "",       "none",        "none"};
    for (int i = 0; i < 10; i++)
        mine[i] = str_of(ours[i] ? ours[i] : "");
    cl = c->server ? l : mine;
    sv = c->server ? mine : l;
    struct str pick[8];
    static const char *const what[8] = {"key exchange",
                                        "host key",
                                        "cipher (client to server)",
                                        "cipher (server to client)",
                                        "",
                                        "",
                                        "compression",
                                        "compression"};
    for (int i = 0; i < 8; i++) {
        if (i == 4 || i == 5) continue; /* MAC: unused with AEAD ciphers */
        if (kex_pick(cl[i], sv[i], &pick[i]) != 0) {
            tp_fail(c, -E_ALGO, "no %s in common: we offer %s, the peer offers %s", what[i],
                    log_str(mine[i]), log_str(l[i]));
            return -E_ALGO;
        }
    }
    const struct ci_alg *c2s = ci_find((const char *)pick[2].p, pick[2].n);
    const struct ci_alg *s2c = ci_find((const char *)pick[3].p, pick[3].n);
    if (NEVER(!c2s || !s2c)) return -E_ALGO;
    kx->alg_tx = c->server ? s2c : c2s;
    kx->alg_rx = c->server ? c2s : s2c;
    /* a wrong guess from the peer is skipped (RFC 4253 7) */
    struct str gk = nl_first(l[0]), gh = nl_first(l[1]);
    if (follows && (gk.n != pick[0].n || memcmp(gk.p, pick[0].p, gk.n) != 0 || gh.n != pick[1].n ||
                    memcmp(gh.p, pick[1].p, gh.n) != 0))
        kx->skip_next = 1;
    kx->h = c->vh;
    if (c->server) {
        tp_hash_str(&kx->h, p, n);
        tp_hash_str(&kx->h, kx->my_init, kx->my_init_len);
    } else {
        tp_hash_str(&kx->h, kx->my_init, kx->my_init_len);
        tp_hash_str(&kx->h, p, n);
    }
    free(kx->my_init);
    kx->my_init = NULL;
    LOG(L_DEBUG, c->id, "kex: %s, cipher out %s, in %s%s", log_str(pick[0]), kx->alg_tx->name,
        kx->alg_rx->name, c->strict ? ", strict" : "");
    if (!c->server) {
        /* RFC 8731 3.1: byte 30, string Q_C */
        rnd_bytes(kx->esk, 32);
        ci_x25519_base(kx->epk, kx->esk);
        struct wr w = tp_begin(c, 64);
        wr_u8(&w, MSG_KEX_ECDH_INIT);
        wr_str(&w, kx->epk, 32);
        tp_end(c, &w);
    }
    return 0;
}

/* Host key trust, client side: the pin if one is given, else known_hosts
 * (ours, then ~/.ssh/known_hosts read-only), else --accept-new. */
static int hk_verify(struct ssh *c, const uint8_t hk[32])
{
    char fp[KEY_FP_LEN], name[300], where[PATH_MAX + 16] = "", err[PATH_MAX + 64];
    key_fp(hk, fp);
    kh_name(name, sizeof name, c->host, c->port);
    int pinned = 0; /* --host-key matched; with --accept-new the key is also recorded */
    if (c->pin) {
        const char *pin = strncmp(c->pin, "SHA256:", 7) == 0 ? c->pin + 7 : c->pin;
        size_t pn = strlen(pin);
        while (pn > 0 && pin[pn - 1] == '=')
            pn--;
        if (pn != strlen(fp + 7) || memcmp(pin, fp + 7, pn) != 0) {
            fmt_s(c->why, sizeof c->why,
                  "host key of %s is %s, which does not match --host-key %s: the server "
                  "changed its key or someone is in the way; refusing to connect",
                  name, fp, c->pin);
            return -E_HOSTKEY;
        }
        if (!c->accept_new) return 0;
        pinned = 1;
    }
    int r = kh_check(c->known_hosts, c->host, c->port, hk, where, sizeof where);
    const char *file = c->known_hosts;
    if (r == KH_UNKNOWN && c->known_hosts2) {
        int r2 = kh_check(c->known_hosts2, c->host, c->port, hk, where, sizeof where);
        if (r2 != KH_UNKNOWN && r2 >= 0) r = r2, file = c->known_hosts2;
    }
    if (r < 0) {
        if (pinned) return 0;
        fmt_s(c->why, sizeof c->why, "cannot read known hosts file %s", file);
        return -E_HOSTKEY;
    }
    if (r == KH_OK) {
        LOG(L_DEBUG, c->id, "host key %s found in %s", fp, file);
        return 0;
    }
    if (r == KH_REVOKED) {
        fmt_s(c->why, sizeof c->why, "host key %s of %s is marked @revoked in %s", fp, name, file);
        return -E_HOSTKEY;
    }
    if (r == KH_CHANGED && pinned) {
        LOG(L_WARN, c->id, "host key of %s is %s as --host-key says; %s has another one at %s",
            name, fp, file, where);
        return 0;
    }
    if (r == KH_CHANGED) {
        say("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
            "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
            "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
            "The ED25519 host key of %s is now %s.\n"
            "The key on record is at %s.\n"
            "If you know why it changed, remove the old entry with\n"
            "  ssh-keygen -R '%s' -f %s\n"
            "and connect again with --accept-new, or pin the new key with --host-key.",
            name, fp, where, name, file);
        fmt_s(c->why, sizeof c->why, "host key of %s changed (now %s; on record at %s)", name, fp,
              where);
        return -E_HOSTKEY;
    }
    if (c->accept_new) {
        if (kh_add(c->known_hosts, c->host, c->port, hk, err, sizeof err) != 0) {
            fmt_s(c->why, sizeof c->why, "%s", err);
            return -E_HOSTKEY;
        }
        LOG(L_INFO, c->id, "added host key %s of %s to %s", fp, name, c->known_hosts);
        return 0;
    }
    fmt_s(c->why, sizeof c->why,
          "host key of %s is not known: it is %s. Check it with the server's owner (on the "
          "server: ssh-keygen -lf on its host key), then connect with --host-key %s, or with "
          "--accept-new to record it in %s",
          name, fp, fp, c->known_hosts);
    return -E_HOSTKEY;
}

static void ua_start(struct ssh *c); /* SECTION 11 */

static void kex_send_newkeys(struct ssh *c)
{
    struct kex *kx = c->kx;
    struct wr w = tp_begin(c, 1);
    wr_u8(&w, MSG_NEWKEYS);
    tp_end(c, &w);
    ci_install(&c->tx, kx->alg_tx, kx->key_tx, kx->iv_tx);
    if (c->strict) c->tx.seq = 0;
    kx->sent_newkeys = 1;
    tp_undefer(c);
}

/* Derives the next keys from K and H; both wiped by the caller. */
static void kex_keys(struct ssh *c, const uint8_t k[32], const uint8_t h[32])
{
    struct kex *kx = c->kx;
    uint8_t kenc[40];
    struct wr w = wr_init(kenc, sizeof kenc);
    wr_mpint(&w, k, 32); /* RFC 8731 3.1: K as an mpint of the 32 raw bytes */
    if (kx->first) {
        memcpy(c->sid, h, 32);
        c->have_sid = 1;
    }
    /* RFC 4253 7.2: A/B initial IV c2s/s2c, C/D key c2s/s2c */
    char ivt = c->server ? 'B' : 'A', ivr = c->server ? 'A' : 'B';
    kex_derive(kx->iv_tx, 12, kenc, w.len, h, ivt, c->sid);
    kex_derive(kx->iv_rx, 12, kenc, w.len, h, ivr, c->sid);
    kex_derive(kx->key_tx, kx->alg_tx->keylen, kenc, w.len, h, (char)(ivt + 2), c->sid);
    kex_derive(kx->key_rx, kx->alg_rx->keylen, kenc, w.len, h, (char)(ivr + 2), c->sid);
    kx->have_keys = 1;
    WIPE(kenc);
}

/* Client: RFC 8731 3.1 byte 31, string K_S, string Q_S, string signature. */
static int kex_on_reply(struct ssh *c, const uint8_t *p, size_t n)
{
    struct kex *kx = c->kx;
    struct rd r = rd_init(p + 1, n - 1);
    struct str ks = rd_str(&r, 1024);
    const uint8_t *qs = rd_fixed(&r, 32);
    struct str sig = rd_str(&r, 1024);
    if (!rd_end(&r)) {
        tp_fail(c, -E_PROTO, "malformed KEX_ECDH_REPLY");
        return -E_PROTO;
    }
    uint8_t hk[32], k[32], h[32];
    if (key_from_blob(ks, hk) != 0) {
        tp_fail(c, -E_ALGO, "server host key is not ssh-ed25519");
        return -E_ALGO;
    }
    struct rd rs = rd_init(sig.p, sig.n);
    struct str st = rd_str(&rs, 64);
    const uint8_t *sg = rd_fixed(&rs, 64);
    if (!rd_end(&rs) || !str_eq(st, "ssh-ed25519")) {
        tp_fail(c, -E_PROTO, "malformed host key signature");
        return -E_PROTO;
    }
    if (ci_x25519(k, kx->esk, qs) != 0) {
        tp_fail(c, -E_PROTO, "server sent an invalid X25519 key (all-zero shared secret)");
        return -E_PROTO;
    }
    WIPE(kx->esk);
    tp_hash_str(&kx->h, ks.p, ks.n);
    tp_hash_str(&kx->h, kx->epk, 32);
    tp_hash_str(&kx->h, qs, 32);
    uint8_t kenc[40];
    struct wr w = wr_init(kenc, sizeof kenc);
    wr_mpint(&w, k, 32);
    br_sha256_update(&kx->h, kenc, w.len);
    br_sha256_out(&kx->h, h);
    WIPE(kenc);
    if (ed_verify(sg, hk, h, 32) != 0 && !FUZZ_SIG_OK) {
        WIPE(k);
        tp_fail(c, -E_HOSTKEY, "the server's host key signature does not verify");
        return -E_HOSTKEY;
    }
    if (kx->first) {
        int e = hk_verify(c, hk);
        if (e != 0) {
            WIPE(k);
            tp_fail(c, e, "%s", c->why);
            return e;
        }
        memcpy(c->hostkey, hk, 32);
    } else if (memcmp(hk, c->hostkey, 32) != 0) {
        WIPE(k);
        tp_fail(c, -E_HOSTKEY, "the server's host key changed during a rekey");
        return -E_HOSTKEY;
    }
    kex_keys(c, k, h);
    WIPE(k);
    WIPE(h);
    kex_send_newkeys(c);
    if (kx->first) ua_start(c);
    return 0;
}

/* Server: RFC 8731 3.1 byte 30, string Q_C; we answer byte 31, string K_S,
 * string Q_S, string signature of H, then NEWKEYS right away. */
static int kex_on_init(struct ssh *c, const uint8_t *p, size_t n)
{
    struct kex *kx = c->kx;
    struct rd r = rd_init(p + 1, n - 1);
    const uint8_t *qc = rd_fixed(&r, 32);
    if (!rd_end(&r)) {
        tp_fail(c, -E_PROTO, "malformed KEX_ECDH_INIT");
        return -E_PROTO;
    }
    uint8_t k[32], h[32], blob[KEY_BLOB_LEN], sig[64], kenc[40];
    rnd_bytes(kx->esk, 32);
    ci_x25519_base(kx->epk, kx->esk);
    if (ci_x25519(k, kx->esk, qc) != 0) {
        tp_fail(c, -E_PROTO, "client sent an invalid X25519 key (all-zero shared secret)");
        return -E_PROTO;
    }
    WIPE(kx->esk);
    key_blob(c->hk->pk, blob);
    tp_hash_str(&kx->h, blob, sizeof blob);
    tp_hash_str(&kx->h, qc, 32);
    tp_hash_str(&kx->h, kx->epk, 32);
    struct wr w = wr_init(kenc, sizeof kenc);
    wr_mpint(&w, k, 32);
    br_sha256_update(&kx->h, kenc, w.len);
    br_sha256_out(&kx->h, h);
    WIPE(kenc);
    ed_sign(sig, c->hk->seed, c->hk->pk, h, 32);
    kex_keys(c, k, h);
    WIPE(k);
    WIPE(h);
    w = tp_begin(c, 1 + 4 + sizeof blob + 4 + 32 + 4 + 4 + 11 + 4 + 64);
    wr_u8(&w, MSG_KEX_ECDH_REPLY);
    wr_str(&w, blob, sizeof blob);
    wr_str(&w, kx->epk, 32);
    wr_u32(&w, 4 + 11 + 4 + 64);
    wr_cstr(&w, "ssh-ed25519");
    wr_str(&w, sig, 64);
    tp_end(c, &w);
    kex_send_newkeys(c);
    return 0;
}

static int kex_on_newkeys(struct ssh *c)
{
    struct kex *kx = c->kx;
    ci_install(&c->rx, kx->alg_rx, kx->key_rx, kx->iv_rx);
    if (c->strict) c->rx.seq = 0;
    kx->got_newkeys = 1;
    if (kx->first && c->server) {
        LOG(L_DEBUG, c->id, "%s: %s, cipher %s", c->peer, log_esc(c->peer_ver, strlen(c->peer_ver)),
            c->tx.alg->name);
        c->ph = TP_3_AUTH;
    } else if (kx->first) {
        char fp[KEY_FP_LEN];
        key_fp(c->hostkey, fp);
        LOG(L_INFO, c->id, "%s: %s, host key %s, cipher %s", c->peer,
            log_esc(c->peer_ver, strlen(c->peer_ver)), fp, c->tx.alg->name);
        c->ph = TP_3_AUTH;
    } else {
        LOG(L_DEBUG, c->id, "rekey done");
    }
    if (kx->sent_newkeys) kex_free(c);
    c->t_kex = now_ms();
    return 0;
}

/* ==================== SECTION 11: user authentication (ua_) ==================== */

/*
 * Client side of RFC 4252 with one method, publickey/ssh-ed25519. To save
 * round trips the SERVICE_REQUEST and a signed USERAUTH_REQUEST go out
 * together right behind our NEWKEYS, without the optional query
 * (USERAUTH_PK_OK) step; servers process them in order.
 *
 * RFC 4252 7: the signature covers
 *   string session_id, byte 50, string user, string "ssh-connection",
 *   string "publickey", boolean TRUE, string "ssh-ed25519", string blob
 * and the request is the same fields after session_id, plus string sig.
 */
static void ua_start(struct ssh *c)
{
    struct wr w = tp_begin(c, 32);
    wr_u8(&w, MSG_SERVICE_REQUEST);
    wr_cstr(&w, "ssh-userauth");
    tp_end(c, &w);

    uint8_t msg[600], blob[KEY_BLOB_LEN], sig[64];
    key_blob(c->ident->pk, blob);
    struct wr m = wr_init(msg, sizeof msg);
    wr_str(&m, c->sid, 32);
    size_t body = m.len;
    wr_u8(&m, MSG_USERAUTH_REQUEST);
    wr_cstr(&m, c->user);
    wr_cstr(&m, "ssh-connection");
    wr_cstr(&m, "publickey");
    wr_u8(&m, 1);
    wr_cstr(&m, "ssh-ed25519");
    wr_str(&m, blob, sizeof blob);
    if (NEVER(m.bad)) return;
    ed_sign(sig, c->ident->seed, c->ident->pk, msg, m.len);
    w = tp_begin(c, m.len - body + 4 + 4 + 11 + 4 + 64);
    wr_bytes(&w, msg + body, m.len - body);
    wr_u32(&w, 4 + 11 + 4 + 64);
    wr_cstr(&w, "ssh-ed25519");
    wr_str(&w, sig, 64);
    tp_end(c, &w);
    char fp[KEY_FP_LEN];
    key_fp(c->ident->pk, fp);
    LOG(L_DEBUG, c->id, "offering key %s for user %s", fp, c->user);
}

/* Messages 6 and 50-79 while authenticating (client). */
static int ua_on_msg(struct ssh *c, uint8_t t, struct rd *r)
{
    switch (t) {
    case MSG_SERVICE_ACCEPT: {
        struct str s = rd_str(r, 64);
        if (!rd_end(r) || !str_eq(s, "ssh-userauth")) return -E_PROTO;
        return 0;
    }
    case MSG_USERAUTH_BANNER: {
        /* RFC 4252 5.4: string message, string language */
        struct str s = rd_str(r, 65536);
        rd_str(r, 256);
        if (!rd_end(r)) return -E_PROTO;
        LOG(L_INFO, c->id, "server banner: %s", log_str(s));
        return 0;
    }
    case MSG_USERAUTH_FAILURE: {
        /* name-list methods that can continue, boolean partial success.
         * We have exactly one key, so partial success is failure too. */
        struct str m = rd_str(r, 4096);
        int partial = rd_bool(r);
        if (!rd_end(r)) return -E_PROTO;
        char fp[KEY_FP_LEN];
        key_fp(c->ident->pk, fp);
        fmt_s(c->why, sizeof c->why,
              "%s refused key %s for user '%s'%s (it accepts: %s); add the public key to "
              "that user's authorized_keys on the server (alknet pubkey prints it)",
              c->peer, fp, c->user, partial ? " as only a partial success" : "", log_str(m));
        c->err = -E_AUTH;
        return -E_AUTH;
    }
    case MSG_USERAUTH_SUCCESS:
        if (!rd_end(r)) return -E_PROTO;
        c->ph = TP_4_OPEN;
        c->authed = 1;
        LOG(L_INFO, c->id, "authenticated as %s", c->user);
        return 0;
    default: /* PK_OK answers a query we never send */
        return -E_PROTO;
    }
}

/*
 * Server side of RFC 4252 with the same one method. The client may probe
 * with "none" (answered with the method list), query a key without a
 * signature (USERAUTH_PK_OK if it would be accepted), or send the signed
 * request. The signature is checked over string session_id followed by
 * the request's own bytes up to the signature, as they arrived. Partial
 * success is never given. Which keys are accepted, from where, and what
 * they may open is the server's business (SECTION 19).
 */
#define UA_MAX_TRIES 10
static int sv_key_allowed(struct ssh *c, const uint8_t pk[32], char *why, size_t cap);
static void sv_login(struct ssh *c, const uint8_t pk[32]);

static void ua_failure(struct ssh *c)
{
    /* RFC 4252 5.1: name-list authentications that can continue, boolean partial success */
    struct wr w = tp_begin(c, 32);
    wr_u8(&w, MSG_USERAUTH_FAILURE);
    wr_cstr(&w, "publickey");
    wr_u8(&w, 0);
    tp_end(c, &w);
}

static int ua_server(struct ssh *c, const uint8_t *p, size_t n)
{
    struct rd r = rd_init(p + 1, n - 1);
    if (p[0] == MSG_SERVICE_REQUEST) {
        struct str svc = rd_str(&r, 64);
        if (!rd_end(&r)) return -E_PROTO;
        if (!str_eq(svc, "ssh-userauth")) {
            tp_fail(c, -E_PROTO, "service %s is not available", log_str(svc));
            return -E_PROTO;
        }
        c->svc_ok = 1;
        struct wr w = tp_begin(c, 32);
        wr_u8(&w, MSG_SERVICE_ACCEPT);
        wr_cstr(&w, "ssh-userauth");
        tp_end(c, &w);
        return 0;
    }
    /* byte 50, string user, string service, string method, ... */
    struct str user = rd_str(&r, 255), svc = rd_str(&r, 64), method = rd_str(&r, 64);
    if (r.bad || !c->svc_ok) return -E_PROTO;
    if (++c->auth_tries > UA_MAX_TRIES) {
        tp_fail(c, -E_AUTH, "too many authentication attempts");
        return -E_AUTH;
    }
    if (!str_eq(svc, "ssh-connection")) {
        tp_fail(c, -E_PROTO, "service %s is not available", log_str(svc));
        return -E_PROTO;
    }
    if (!str_eq(method, "publickey")) {
        LOG(L_DEBUG, c->id, "method %s for user %s: offering publickey", log_str(method),
            log_str(user));
        ua_failure(c);
        return 0;
    }
    /* boolean has signature, string algorithm, string key blob [, string signature] */
    int has_sig = rd_bool(&r);
    struct str algo = rd_str(&r, 64), blob = rd_str(&r, 1024);
    size_t signed_len = r.off + 1; /* the request up to the signature, type byte included */
    struct str sig = {NULL, 0};
    if (has_sig) sig = rd_str(&r, 1024);
    if (!rd_end(&r)) return -E_PROTO;
    uint8_t pk[32];
    char why[200], fp[KEY_FP_LEN];
    if (!str_eq(algo, "ssh-ed25519") || key_from_blob(blob, pk) != 0) {
        LOG(L_INFO, c->id, "%s: user %s offered a %s key; only ssh-ed25519 is accepted", c->peer,
            log_str(user), log_str(algo));
        ua_failure(c);
        return 0;
    }
    key_fp(pk, fp);
    if (!sv_key_allowed(c, pk, why, sizeof why)) {
        LOG(L_INFO, c->id, "%s: refused key %s for user %s: %s", c->peer, fp, log_str(user), why);
        ua_failure(c);
        return 0;
    }
    if (!has_sig) { /* RFC 4252 7: string algorithm, string blob */
        struct wr w = tp_begin(c, 9 + algo.n + blob.n);
        wr_u8(&w, MSG_USERAUTH_PK_OK);
        wr_str(&w, algo.p, algo.n);
        wr_str(&w, blob.p, blob.n);
        tp_end(c, &w);
        return 0;
    }
    struct rd rs = rd_init(sig.p, sig.n);
    struct str st = rd_str(&rs, 64);
    const uint8_t *sg = rd_fixed(&rs, 64);
    uint8_t *msg = xmalloc(4 + 32 + signed_len);
    struct wr m = wr_init(msg, 4 + 32 + signed_len);
    wr_str(&m, c->sid, 32);
    wr_bytes(&m, p, signed_len);
    int ok = rd_end(&rs) && str_eq(st, "ssh-ed25519") &&
             (ed_verify(sg, pk, msg, m.len) == 0 || FUZZ_SIG_OK);
    free(msg);
    if (!ok) {
        LOG(L_INFO, c->id, "%s: bad signature from key %s for user %s", c->peer, fp, log_str(user));
        ua_failure(c);
        return 0;
    }
    c->auth_user = xstrndup((const char *)user.p, user.n);
    memcpy(c->auth_fp, fp, sizeof fp);
    sv_login(c, pk);
    struct wr w = tp_begin(c, 1);
    wr_u8(&w, MSG_USERAUTH_SUCCESS);
    tp_end(c, &w);
    c->ph = TP_4_OPEN;
    c->authed = 1;
    return 0;
}

/* ==================== SECTION 12a: name resolution (rs_) ==================== */

/*
 * The server resolves the names clients ask for without ever blocking the
 * loop (style 6): an IP literal or an /etc/hosts entry answers at once;
 * otherwise A and AAAA queries go out together on one connected UDP socket
 * (a fresh one per lookup, so a fresh random source port, and random ids),
 * to the nameservers of /etc/resolv.conf or --dns in turn, with the
 * timeout and attempts resolv.conf asks for. The wire format is SECTION 8c
 * (dns_). A lookup belongs to one stream; the loop polls its socket.
 */
#define RS_TOTAL_MS 30000 /* a lookup never takes longer than this */
enum { RS_OK, RS_NXDOMAIN, RS_NOADDR, RS_FAIL, RS_TIMEOUT };

struct rs {
    char name[DNS_HOST_MAX + 1];
    int fd;                        /* socket to the current server; -1 when not asking */
    uint16_t id[2];                /* A, AAAA */
    int st[2];                     /* -1 pending, else a DNS_* result */
    unsigned server, tries, asked; /* server to ask next; sends so far; server of fd */
    int64_t resend, deadline;
    int done, result;
    unsigned n; /* addresses found */
    struct dns_addr addr[DNS_MAX_ADDRS];
    struct dns_res r[2];
};

static struct {
    struct dns_conf conf;
    int fixed;   /* --dns given: resolv.conf is not read */
    char *hosts; /* /etc/hosts text, re-read when it changes */
    time_t hosts_mtime;
    int64_t hosts_checked;
} rsc;

static const char *rs_hosts_path = "/etc/hosts";

/* --dns ADDR[:PORT]: the one name server, instead of resolv.conf's. */
static int rs_apply_dns(const char *dns)
{
    if (!dns) return 0;
    rsc.conf.nns = 1, rsc.conf.timeout_s = 5, rsc.conf.attempts = 2, rsc.fixed = 1;
    if (dns_server_parse(dns, &rsc.conf.ns[0]) == 0) return 0;
    say("--dns %s: expected ADDR, ADDR:PORT or [V6]:PORT", dns);
    return -1;
}
static const char *rs_conf_path = "/etc/resolv.conf";

/* (Re)reads resolv.conf, unless --dns fixed the server. */
static void rs_load_conf(void)
{
    if (rsc.fixed) return;
    char err[256];
    char *text = file_read(rs_conf_path, 1u << 16, NULL, err, sizeof err);
    dns_conf_parse(text ? text : "", &rsc.conf);
    free(text);
}

static const char *rs_hosts_text(void)
{
    if (ev.now - rsc.hosts_checked >= 1000 || !rsc.hosts_checked) {
        struct stat st;
        rsc.hosts_checked = ev.now ? ev.now : 1;
        if (stat(rs_hosts_path, &st) == 0 && (st.st_mtime != rsc.hosts_mtime || !rsc.hosts)) {
            char err[256];
            free(rsc.hosts);
            rsc.hosts = file_read(rs_hosts_path, 1u << 20, NULL, err, sizeof err);
            rsc.hosts_mtime = st.st_mtime;
        }
    }
    return rsc.hosts ? rsc.hosts : "";
}

/* Puts the answers together, IPv6 and IPv4 alternating (IPv6 first). */
static void rs_finish(struct rs *q, int result)
{
    unsigned i6 = 0, i4 = 0;
    const struct dns_res *a4 = &q->r[0], *a6 = &q->r[1];
    q->n = 0;
    if (q->st[1] == DNS_OK || q->st[0] == DNS_OK)
        while ((i6 < a6->n || i4 < a4->n) && q->n < DNS_MAX_ADDRS) {
            if (q->st[1] == DNS_OK && i6 < a6->n) q->addr[q->n++] = a6->addr[i6++];
            if (q->st[0] == DNS_OK && i4 < a4->n && q->n < DNS_MAX_ADDRS)
                q->addr[q->n++] = a4->addr[i4++];
            if (q->st[1] != DNS_OK) i6 = a6->n;
            if (q->st[0] != DNS_OK) i4 = a4->n;
        }
    q->result = q->n ? RS_OK : result;
    q->done = 1;
    if (q->fd >= 0) close(q->fd);
    q->fd = -1;
}

/* Both queries answered: decide. */
static void rs_settle(struct rs *q)
{
    if (q->st[0] < 0 || q->st[1] < 0) return;
    if (q->st[0] == DNS_NXDOMAIN || q->st[1] == DNS_NXDOMAIN)
        rs_finish(q, RS_NXDOMAIN);
    else
        rs_finish(q, RS_NOADDR);
}

/* Sends the queries still unanswered to the current server. Asking the
 * same server again reuses the socket and the ids, so that a late answer
 * to the first try still counts. */
static void rs_send(struct rs *q)
{
    if (q->tries >= rsc.conf.attempts * rsc.conf.nns || ev.now >= q->deadline) {
        rs_finish(q, RS_TIMEOUT);
        return;
    }
    unsigned which = q->server % rsc.conf.nns;
    if (q->fd >= 0 && which == q->asked) {
        q->tries++;
        q->resend = MIN(ev.now + (int64_t)rsc.conf.timeout_s * 1000, q->deadline);
        for (int k = 0; k < 2; k++) {
            uint8_t b[DNS_QUERY_MAX];
            if (q->st[k] >= 0) continue;
            size_t n = dns_query(b, sizeof b, q->id[k], q->name, k ? DNS_T_AAAA : DNS_T_A);
            if (send(q->fd, b, n, 0) < 0)
                LOG(L_DEBUG, 0, "DNS query for %s: %s", q->name, strerror(errno));
        }
        return;
    }
    if (q->fd >= 0) close(q->fd);
    q->fd = -1;
    q->asked = which;
    const struct sockaddr_storage *ns = &rsc.conf.ns[which];
    socklen_t sl =
        ns->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    q->tries++;
    q->resend = ev.now + (int64_t)rsc.conf.timeout_s * 1000;
    if (q->resend > q->deadline) q->resend = q->deadline;
    int fd = socket(ns->ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || net_nonblock(fd) != 0 || connect(fd, (const struct sockaddr *)ns, sl) != 0) {
        if (fd >= 0) close(fd);
        q->server++;
        q->resend = ev.now; /* try the next one in the next pass */
        return;
    }
    q->fd = fd;
    for (int k = 0; k < 2; k++) {
        uint8_t b[DNS_QUERY_MAX];
        if (q->st[k] >= 0) continue;
        q->id[k] = (uint16_t)rnd_u32();
        size_t n = dns_query(b, sizeof b, q->id[k], q->name, k ? DNS_T_AAAA : DNS_T_A);
        if (send(fd, b, n, 0) < 0)
            LOG(L_DEBUG, 0, "DNS query for %s: %s", q->name, strerror(errno));
    }
}

/* Starts a lookup; q->done may be set at once. */
static void rs_start(struct rs *q, const char *name)
{
    memset(q, 0, sizeof *q);
    q->fd = -1;
    q->st[0] = q->st[1] = -1;
    fmt_s(q->name, sizeof q->name, "%s", name);
    q->deadline = ev.now + RS_TOTAL_MS;
    uint8_t a[16];
    if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1) {
        q->addr[0].family = strchr(name, ':') ? AF_INET6 : AF_INET;
        memcpy(q->addr[0].a, a, 16);
        q->n = 1, q->done = 1, q->result = RS_OK;
        return;
    }
    q->n = dns_hosts(rs_hosts_text(), name, AF_UNSPEC, q->addr, DNS_MAX_ADDRS);
    if (q->n) {
        q->done = 1, q->result = RS_OK;
        return;
    }
    uint8_t b[DNS_QUERY_MAX];
    if (dns_query(b, sizeof b, 0, name, DNS_T_A) == 0) { /* not a host name at all */
        q->done = 1, q->result = RS_NXDOMAIN;
        return;
    }
    rs_send(q);
}

/* Answers on the socket. */
static void rs_input(struct rs *q)
{
    uint8_t b[DNS_UDP_MAX * 8];
    for (int i = 0; i < 8 && !q->done && q->fd >= 0; i++) {
        ssize_t n = recv(q->fd, b, sizeof b, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        if (n < 0) { /* e.g. ICMP port unreachable: this server is not there */
            q->server++;
            rs_send(q);
            return;
        }
        for (int k = 0; k < 2; k++) {
            if (q->st[k] >= 0) continue;
            int r = dns_answer(b, (size_t)n, q->id[k], q->name, k ? DNS_T_AAAA : DNS_T_A, &q->r[k]);
            if (r == DNS_IGNORE || r == DNS_BAD) continue;
            if (r == DNS_SERVFAIL || r == DNS_TRUNCATED) { /* ask the next server */
                q->server++;
                rs_send(q);
                return;
            }
            q->st[k] = r;
        }
        rs_settle(q);
    }
}

/* Timers: resend to the next server, or give up. */
static void rs_service(struct rs *q)
{
    if (q->done) return;
    if (ev.now >= q->deadline) {
        if (q->st[0] == DNS_OK || q->st[1] == DNS_OK)
            rs_finish(q, RS_OK); /* one answer is enough */
        else
            rs_finish(q, RS_TIMEOUT);
        return;
    }
    if (ev.now >= q->resend) {
        if (q->st[0] == DNS_OK || q->st[1] == DNS_OK) { /* one family answered: stop waiting */
            rs_finish(q, RS_OK);
            return;
        }
        q->server++;
        rs_send(q);
    }
}

static void rs_free(struct rs *q)
{
    if (q->fd >= 0) close(q->fd);
    q->fd = -1;
}

/* Why a lookup found nothing, worded so that the SOCKS side maps it to
 * "host unreachable" (sx_rep_for). */
static void rs_why(const struct rs *q, char *out, size_t cap)
{
    switch (q->result) {
    case RS_NXDOMAIN:
        fmt_s(out, cap, "cannot resolve %s: Name or service not known", q->name);
        break;
    case RS_NOADDR:
        fmt_s(out, cap, "cannot resolve %s: no address for that name", q->name);
        break;
    case RS_TIMEOUT:
        fmt_s(out, cap, "cannot resolve %s: no answer from the name servers", q->name);
        break;
    default:
        fmt_s(out, cap, "cannot resolve %s: name server failure", q->name);
        break;
    }
}

/* IPv4 as inet_aton() (and so getaddrinfo()) reads it: one to four parts,
 * decimal, 0octal or 0xhex, the last one filling the bytes left ("127.1"). */
static int rs_aton(const char *s, uint8_t out[4])
{
    unsigned long a[4];
    int n = 0;
    for (;;) {
        char *z;
        if (n == 4 || *s < '0' || *s > '9') return -1;
        a[n++] = strtoul(s, &z, 0);
        if (!*z) break;
        if (*z != '.') return -1;
        s = z + 1;
    }
    for (int k = 0; k < n - 1; k++)
        if (a[k] > 255) return -1;
    uint64_t last = a[n - 1]; /* 5 - n bytes */
    if (last >> (8 * (5 - n))) return -1;
    for (int k = 0; k < 4; k++)
        out[k] = (uint8_t)(k < n - 1 ? a[k] : last >> (8 * (3 - k)));
    return 0;
}

/* An address literal, as getaddrinfo() with AI_NUMERICHOST takes one: IPv4
 * (rs_aton), or IPv6 with an optional %scope, an interface name or number.
 * 0, or -1 if host is not one. */
static int rs_numeric(const char *host, unsigned port, struct sockaddr_storage *out)
{
    uint8_t a[16];
    char h[INET6_ADDRSTRLEN];
    const char *pct = strchr(host, '%');
    size_t hl = pct ? (size_t)(pct - host) : strlen(host);
    if (rs_aton(host, a) == 0) {
        dns_sockaddr(AF_INET, a, port, out);
        return 0;
    }
    if (hl >= sizeof h) return -1;
    memcpy(h, host, hl), h[hl] = 0;
    if (inet_pton(AF_INET6, h, a) != 1) return -1;
    dns_sockaddr(AF_INET6, a, port, out);
    if (pct) {
        struct sockaddr_in6 s6;
        char *end;
        unsigned long long id = strtoull(pct + 1, &end, 10);
        if (pct[1] < '0' || pct[1] > '9') {
            id = if_nametoindex(pct + 1);
            if (id == 0) return -1;
        } else if (*end || id > UINT32_MAX) {
            return -1;
        }
        memcpy(&s6, out, sizeof s6);
        s6.sin6_scope_id = (uint32_t)id;
        memcpy(out, &s6, sizeof s6);
    }
    return 0;
}

/*
 * Start-up lookups (listen addresses, --fallback, --outbound): an address
 * literal (rs_numeric), or a name looked up as SOCKS destinations are
 * (/etc/hosts, then the name servers), the lookup run to its end right
 * here. That blocks, for RS_TOTAL_MS at most, which is fine before the
 * loop starts. Addresses come in /etc/hosts order, or IPv6 and IPv4
 * alternating (rs_finish). 0, or -1 with the reason in err.
 */
static int rs_addrs(const char *host, unsigned port, struct net_addrs *out, char *err,
                    size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (rs_numeric(host, port, &out->a[0]) == 0) {
        out->n = 1;
        return 0;
    }
    struct rs *q = xcalloc(1, sizeof *q);
    rs_load_conf();
    ev.now = now_ms();
    rs_start(q, host);
    while (!q->done) {
        struct pollfd p = {q->fd, POLLIN, 0};
        int64_t wait = MIN(q->resend, q->deadline) - ev.now;
        if (poll(&p, 1, (int)MAX(wait, 0)) < 0) p.revents = 0;
        ev.now = now_ms();
        if (p.revents) rs_input(q);
        rs_service(q);
    }
    for (unsigned i = 0; i < q->n && out->n < NET_ADDRS_MAX; i++)
        dns_sockaddr(q->addr[i].family, q->addr[i].a, port, &out->a[out->n++]);
    if (!out->n) rs_why(q, err, errcap);
    rs_free(q);
    free(q);
    return out->n ? 0 : -1;
}

/* ==================== SECTION 12: channels (ch_) ==================== */

/*
 * A channel joins one local stream (a SOCKS or -L socket, or stdin/stdout
 * for -W) to one direct-tcpip channel (RFC 4254 7.2). States, in order:
 *
 *   CH_1_SOCKS    client: reading the SOCKS handshake (SECTION 13)
 *   CH_2_WAIT     client: destination known; waiting for the transport
 *   CH_3_OPENING  client: CHANNEL_OPEN sent, waiting for the answer
 *   CH_3_RESOLVE  server: looking the destination's name up (rs_)
 *   CH_3_CONNECT  server: connect() in progress, address by address
 *   CH_3_PROXY    server: --outbound: the proxy's handshake (px_)
 *   CH_4_OPEN     relaying both ways
 *   CH_5_DONE     both CLOSEs exchanged; flushing to the local side
 * On the server the local side is the destination socket, or nothing for
 * the reserved alknet-echo, which sends back what it gets.
 *
 * Half-close is four bits (EOF and CLOSE each way) plus two for the local
 * side, never folded into the state. Windows: `win` is what the peer may
 * still send us; bytes count as consumed (`owed`) only once written to the
 * local side, so the queue for a slow local reader never exceeds the
 * window we granted, and a reader that stops only stops its own stream.
 */
enum ch_kind { CK_SOCKS, CK_LOCAL, CK_STDIO, CK_DEST, CK_ECHO };
enum ch_state {
    CH_1_SOCKS,
    CH_2_WAIT,
    CH_3_OPENING,
    CH_3_RESOLVE,
    CH_3_CONNECT,
    CH_3_PROXY,
    CH_4_OPEN,
    CH_5_DONE
};
enum { OPEN_ADMIN_PROHIBITED = 1, OPEN_CONNECT_FAILED, OPEN_UNKNOWN_TYPE, OPEN_NO_RESOURCE };

struct sx;
struct dest;
struct chan {
    struct ssh *c;               /* the transport, once CHANNEL_OPEN was sent */
    uint32_t id, peer;           /* our and the peer's channel numbers */
    uint32_t peer_win, peer_max; /* what we may send */
    uint32_t win, owed;          /* what the peer may send; consumed, not yet re-granted */
    int rfd, wfd;                /* local side; equal for sockets */
    uint8_t kind, st;
    unsigned sent_eof : 1, rcvd_eof : 1, sent_close : 1, rcvd_close : 1;
    unsigned rd_done : 1, wr_done : 1; /* local read side ended; local write side shut */
    unsigned failed : 1, reset : 1, dead : 1, hup : 1, abandoned : 1;
    size_t idx;        /* index in ev.ch */
    struct buf q;      /* peer data the local reader has not taken yet */
    struct sx *sx;     /* SOCKS handshake, until the stream opens */
    struct dest *dest; /* server: resolving and connecting, until open */
    int64_t t_open;
    char *host; /* destination */
    unsigned port;
    char orig[64];     /* local peer address, for CHANNEL_OPEN */
    uint64_t up, down; /* bytes local->peer and peer->local */
    int64_t deadline;
    int64_t t_io;  /* last local I/O: streams idle longer go "cold" (evp) */
    uint32_t wmax; /* the window we aim to grant (ch_grow) */
    uint64_t mark; /* ch->down at mark_t: what one round trip brought */
    int64_t mark_t;
    unsigned cold : 1; /* serviced and polled in the full passes only */
};

static struct chan *ch_new(int rfd, int wfd, enum ch_kind kind)
{
    struct chan *ch = xcalloc(1, sizeof *ch);
    ch->rfd = rfd, ch->wfd = wfd, ch->kind = (uint8_t)kind;
    if (ev.nch == ev.capch) {
        ev.capch = ev.capch ? ev.capch * 2 : 64;
        ev.ch = xrealloc(ev.ch, ev.capch * sizeof *ev.ch);
    }
    ch->t_io = ev.now;
    ch->idx = ev.nch;
    ev.ch[ev.nch++] = ch;
    return ch;
}

/*
 * The window budget (SECTION 1): win_held is what all channels may still be
 * sent plus what waits in their queues, counted afresh every pass by
 * ev_build and kept current by each grant within the pass.
 */
static uint64_t win_budget = ALK_WINDOW_BUDGET, win_held;

/* How much of `want` more window the budget lets ch have now: whatever is
 * left, but never so little that ch holds less than ALK_WIN_MIN. */
static uint32_t ch_grantable(const struct chan *ch, uint32_t want)
{
    uint64_t mine = (uint64_t)ch->win + ch->q.len;
    uint64_t g = MIN((uint64_t)want, win_held < win_budget ? win_budget - win_held : 0);
    if (mine + g < ALK_WIN_MIN) g = MIN((uint64_t)want, ALK_WIN_MIN - mine);
    return (uint32_t)g;
}
static void ch_grant_initial(struct chan *ch)
{
    ch->wmax = ALK_WINDOW;
    ch->win = ch_grantable(ch, ALK_WINDOW);
    win_held += ch->win;
}

/* The transport's round-trip time in ms as the kernel measures it (TCP_INFO),
 * asked at most once a second; 0 where unknown. */
static int64_t tp_rtt_ms(struct ssh *c)
{
#if defined(__linux__) && defined(TCP_INFO)
    if (ev.now - c->rtt_at >= 1000) {
        /* the start of Linux's struct tcp_info (C99 headers hide it): eight
         * bytes of state, then tcpi_rto ... tcpi_rtt, the 16th uint32, in us */
        struct {
            uint8_t state[8];
            uint32_t v[16];
        } ti;
        socklen_t n = sizeof ti;
        c->rtt_at = ev.now;
        c->rtt_ms = getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &n) == 0 && n >= sizeof ti
                        ? ti.v[15] / 1000
                        : 0;
    }
#endif
    return c->rtt_ms;
}

/*
 * Sizing the window to the path (a long fat link). With a window of W and a
 * round trip of R, the peer can send at most W per R: 2 MiB over 100 ms is
 * 20 MB/s. So every round trip or two, a stream whose peer delivered at
 * least half its window in one round trip, while the local reader kept up,
 * is held back by the window, not by the path: its window doubles, up to
 * ALK_WINDOW_MAX, and the extra is granted when the budget has it. On
 * loopback or a LAN the round trip is under a millisecond and nothing
 * grows.
 */
static const char *ch_name(const struct chan *ch);
static uint32_t ch_grow(struct chan *ch)
{
    int64_t rtt = tp_rtt_ms(ch->c), dt = ev.now - ch->mark_t;
    if (rtt < 2 || dt < 2 * rtt) return 0;
    uint64_t per_rtt = (ch->down - ch->mark) * (uint64_t)rtt / (uint64_t)dt;
    ch->mark = ch->down, ch->mark_t = ev.now;
    if (per_rtt < ch->wmax / 2 || ch->q.len > ch->wmax / 8 || ch->wmax >= ALK_WINDOW_MAX) return 0;
    ch->wmax *= 2;
    LOG(L_DEBUG, ch->c->id, "stream %s: window %lu KiB (round trip %ld ms)", ch_name(ch),
        (unsigned long)(ch->wmax >> 10), (long)rtt);
    return ch->wmax / 2;
}

static const char *ch_name(const struct chan *ch)
{
    static char b[300];
    if (!ch->host) return "(socks)";
    fmt_s(b, sizeof b, "%s:%u", ch->host, ch->port);
    return b;
}

/* Takes a free channel number on c (RFC 4254 5.1 "sender channel"). */
static int ch_bind(struct ssh *c, struct chan *ch)
{
    if (c->ch_live >= c->ch_cap) {
        if (c->ch_cap >= ALK_MAX_CHANNELS) return -1;
        uint32_t cap = c->ch_cap ? c->ch_cap * 2 : 64;
        c->ch = xrealloc(c->ch, cap * sizeof *c->ch);
        memset(c->ch + c->ch_cap, 0, (cap - c->ch_cap) * sizeof *c->ch);
        c->ch_cap = cap;
    }
    for (uint32_t i = 0; i < c->ch_cap; i++) {
        uint32_t id = (c->ch_hint + i) % c->ch_cap;
        if (!c->ch[id]) {
            c->ch[id] = ch;
            ch->id = id;
            ch->c = c;
            c->ch_hint = id + 1;
            c->ch_live++;
            return 0;
        }
    }
    return -1;
}
static void ch_unbind(struct chan *ch)
{
    if (ch->c && ch->c->ch && ch->id < ch->c->ch_cap && ch->c->ch[ch->id] == ch) {
        ch->c->ch[ch->id] = NULL;
        ch->c->ch_live--;
    }
    ch->c = NULL;
}
static struct chan *ch_get(struct ssh *c, uint32_t id) { return id < c->ch_cap ? c->ch[id] : NULL; }

/* Closes the local side. `reset` sends a TCP RST, telling the local client
 * that the stream failed rather than ended. */
static void ch_close_local(struct chan *ch, int reset)
{
    if (ch->kind == CK_STDIO) {
        /* stdin/stdout belong to our caller; the program ends with the stream */
        ch->rfd = ch->wfd = -1;
    }
    if (ch->rfd >= 0) {
        if (reset)
            net_close_reset(ch->rfd);
        else
            close(ch->rfd);
    }
    if (ch->wfd >= 0 && ch->wfd != ch->rfd) close(ch->wfd);
    ch->rfd = ch->wfd = -1;
    ch->rd_done = ch->wr_done = 1;
    buf_free(&ch->q);
}

static void sx_free(struct chan *ch);
static void sx_reply(struct chan *ch, uint8_t rep); /* SECTION 13 */

static void ch_log_close(const struct chan *ch, const char *how)
{
    /* up: read locally and sent through the tunnel; down: the other way */
    LOG(ch->failed || (ch->c && ch->c->server) ? L_INFO : L_DEBUG, ch->c ? ch->c->id : 0,
        "stream %s %s after %lld s: %llu bytes sent, %llu received", ch_name(ch), how,
        ch->t_open ? (long long)(ev.now - ch->t_open) / 1000 : 0LL, (unsigned long long)ch->up,
        (unsigned long long)ch->down);
}

/* The stream is over for good: local side closed, SSH side released. */
static void ch_finish(struct chan *ch, int reset)
{
    ch_close_local(ch, reset);
    ch_unbind(ch);
    sx_free(ch);
    ch->dead = 1;
}

/* The local side failed (read or write error): drop what is queued for it
 * and close the SSH side (CLOSE without EOF). */
static void ch_local_failed(struct chan *ch, int err)
{
    LOG(L_DEBUG, ch->c ? ch->c->id : 0, "stream %s: local side: %s", ch_name(ch), strerror(err));
    ch->failed = 1;
    ch_close_local(ch, 1);
}

/* The transport is gone: every stream on it ends with an error. */
static void ch_transport_lost(struct chan *ch)
{
    if (ch->st == CH_3_OPENING && ch->kind == CK_SOCKS) sx_reply(ch, 1);
    ch->failed = 1;
    ch_log_close(ch, ch->kind == CK_DEST || ch->kind == CK_ECHO
                         ? "aborted: connection to the client lost"
                         : "aborted: connection to the server lost");
    ch->c = NULL; /* the transport's table goes with it */
    ch_finish(ch, 1);
}

static int tp_can_send_data(const struct ssh *c)
{
    return c && c->ph == TP_4_OPEN && !tp_kex_blocks(c) && c->out.len < ALK_OBUF_HIGH;
}

/* RFC 4254 7.2: byte 90, string "direct-tcpip", uint32 sender channel,
 * uint32 initial window, uint32 maximum packet, string host to connect,
 * uint32 port, string originator IP, uint32 originator port. */
static void ch_send_open(struct chan *ch, struct ssh *c)
{
    if (ch_bind(c, ch) != 0) {
        LOG(L_WARN, c->id, "stream %s: too many channels", ch_name(ch));
        if (ch->kind == CK_SOCKS) sx_reply(ch, 1);
        ch->failed = 1;
        ch_finish(ch, 1);
        return;
    }
    char oh[64] = "127.0.0.1";
    unsigned op = 0;
    if (ch->orig[0]) net_split(ch->orig, oh, sizeof oh, &op, NULL, 0);
    ch_grant_initial(ch);
    struct wr w = tp_begin(c, 64 + strlen(ch->host) + strlen(oh));
    wr_u8(&w, MSG_CHANNEL_OPEN);
    wr_cstr(&w, "direct-tcpip");
    wr_u32(&w, ch->id);
    wr_u32(&w, ch->win);
    wr_u32(&w, ALK_CHAN_MAXPKT);
    wr_cstr(&w, ch->host);
    wr_u32(&w, ch->port);
    wr_cstr(&w, oh);
    wr_u32(&w, op);
    tp_end(c, &w);
    ch->st = CH_3_OPENING;
    ch->deadline = ev.now + ALK_OPEN_TIMEOUT_MS;
    LOG(L_DEBUG, c->id, "stream %s: opening channel %u", ch_name(ch), ch->id);
}

static void ch_send_u32(struct ssh *c, uint8_t t, uint32_t a)
{
    struct wr w = tp_begin(c, 5);
    wr_u8(&w, t);
    wr_u32(&w, a);
    tp_end(c, &w);
}

/* Sends a queued early part of the stream (bytes a SOCKS client sent right
 * behind its request) before anything read later. */
static void sx_flush_early(struct chan *ch);

/*
 * Server: reaching the destination a client asked for. The name is
 * resolved (rs_), every address is checked against the destination policy
 * (pol_) so that a name cannot lead into the server's own networks, and
 * the allowed ones are tried in turn with non-blocking connects: a short
 * timeout while other addresses remain, a longer one for the last. Only
 * then does the client get OPEN_CONFIRMATION, or OPEN_FAILURE with a
 * reason the SOCKS side turns into the matching reply.
 */
#define DEST_TRY_MS 3000 /* per address while others remain */
struct dest {
    struct rs rs;
    unsigned next;  /* next address to try */
    unsigned tried; /* addresses the policy let through */
    int err;        /* the last connect() error */
    char why[200];  /* the last policy refusal */
    struct px px;   /* --outbound: the proxy's handshake */
};
struct pol;
static const struct pol *dst_pol;         /* the server's --allow/--deny rules */
static const struct px_cfg *dst_outbound; /* serve --outbound: every destination through it */

static void ch_refuse(struct chan *ch, uint32_t reason, const char *why)
{
    /* RFC 4254 5.1: byte 92, uint32 recipient, uint32 reason, string description, string language
     */
    struct ssh *c = ch->c;
    struct wr w = tp_begin(c, 64 + strlen(why));
    wr_u8(&w, MSG_CHANNEL_OPEN_FAILURE);
    wr_u32(&w, ch->peer);
    wr_u32(&w, reason);
    wr_cstr(&w, why);
    wr_cstr(&w, "");
    tp_end(c, &w);
    LOG(L_INFO, c->id, "stream to %s refused: %s", ch_name(ch), why);
    ch->failed = 1;
    ch_finish(ch, 1);
}

static void ch_confirm(struct chan *ch)
{
    /* RFC 4254 5.1: byte 91, uint32 recipient, uint32 sender, uint32 window, uint32 max packet */
    struct ssh *c = ch->c;
    ch_grant_initial(ch);
    struct wr w = tp_begin(c, 17);
    wr_u8(&w, MSG_CHANNEL_OPEN_CONFIRMATION);
    wr_u32(&w, ch->peer);
    wr_u32(&w, ch->id);
    wr_u32(&w, ch->win);
    wr_u32(&w, ALK_CHAN_MAXPKT);
    tp_end(c, &w);
    ch->st = CH_4_OPEN;
    ch->deadline = 0;
    ch->t_open = ev.now;
}

static void ch_dest_free(struct chan *ch)
{
    if (!ch->dest) return;
    rs_free(&ch->dest->rs);
    free(ch->dest);
    ch->dest = NULL;
}

/* Tries the next address the policy allows; refuses when none is left. */
static void ch_dest_next(struct chan *ch)
{
    struct dest *d = ch->dest;
    char why[400];
    if (dst_outbound) { /* the proxy's addresses; it resolves and reaches the destination */
        while (d->next < dst_outbound->addrs.n) {
            int fd = net_connect(&dst_outbound->addrs.a[d->next++]);
            if (fd >= 0) {
                ch->rfd = ch->wfd = fd;
                ch->st = CH_3_CONNECT;
                ch->deadline = ev.now + ALK_CONNECT_TIMEOUT_MS;
                return;
            }
            d->err = errno;
        }
        fmt_s(why, sizeof why, "outbound proxy %s: %s", dst_outbound->shown,
              strerror(d->err ? d->err : ETIMEDOUT));
        ch_refuse(ch, OPEN_CONNECT_FAILED, why);
        return;
    }
    while (d->next < d->rs.n) {
        struct sockaddr_storage ss;
        const struct dns_addr *a = &d->rs.addr[d->next++];
        dns_sockaddr(a->family, a->a, ch->port, &ss);
        if (!pol_check(dst_pol, ch->host, ch->port, (struct sockaddr *)&ss, d->why, sizeof d->why))
            continue;
        d->tried++;
        int fd = net_connect(&ss);
        if (fd >= 0) {
            ch->rfd = ch->wfd = fd;
            ch->st = CH_3_CONNECT;
            ch->deadline = ev.now + (d->next < d->rs.n ? DEST_TRY_MS : ALK_CONNECT_TIMEOUT_MS);
            return;
        }
        d->err = errno;
    }
    if (!d->tried) {
        ch_refuse(ch, OPEN_ADMIN_PROHIBITED, d->why);
        return;
    }
    /* strerror's words ("Connection refused", "No route to host", ...) are
     * what the client maps to SOCKS replies */
    fmt_s(why, sizeof why, "%s", strerror(d->err ? d->err : ETIMEDOUT));
    if (net_out_of_fds(d->err)) {
        ch_refuse(ch, OPEN_NO_RESOURCE, why);
        return;
    }
    ch_refuse(ch, OPEN_CONNECT_FAILED, why);
}

static void ch_dest_proxy(struct chan *ch);

/* The connect() in progress finished. */
static void ch_dest_ready(struct chan *ch)
{
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(ch->rfd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
    if (e) {
        ch->dest->err = e;
        close(ch->rfd);
        ch->rfd = ch->wfd = -1;
        ch_dest_next(ch);
        return;
    }
    net_nodelay(ch->rfd);
    if (dst_outbound) {
        px_start(&ch->dest->px, dst_outbound, ch->host, ch->port);
        ch->st = CH_3_PROXY;
        ch->deadline = ev.now + ALK_CONNECT_TIMEOUT_MS;
        ch_dest_proxy(ch);
        return;
    }
    LOG(L_DEBUG, ch->c->id, "stream %u to %s connected", ch->id, ch_name(ch));
    ch_dest_free(ch);
    ch_confirm(ch);
}

/* --outbound: the proxy's handshake moved on. */
static void ch_dest_proxy(struct chan *ch)
{
    struct px *p = &ch->dest->px;
    int r = px_io(p, ch->rfd);
    if (r == 0) return;
    if (r < 0) {
        /* a ruleset refusal stays one; the rest keeps the proxy's words for sx_rep_for */
        ch_refuse(ch, p->rep == 2 || p->status == 403 ? OPEN_ADMIN_PROHIBITED : OPEN_CONNECT_FAILED,
                  p->why);
        return;
    }
    LOG(L_DEBUG, ch->c->id, "stream %u to %s connected through %s", ch->id, ch_name(ch),
        dst_outbound->shown);
    ch_dest_free(ch);
    ch_confirm(ch);
}

/* Starts opening a stream to ch->host:ch->port. */
static void ch_dest_start(struct chan *ch)
{
    ch->dest = xcalloc(1, sizeof *ch->dest);
    ch->dest->rs.fd = -1;
    if (dst_outbound) { /* the name goes to the proxy as it is */
        ch_dest_next(ch);
        return;
    }
    ch->st = CH_3_RESOLVE;
    rs_start(&ch->dest->rs, ch->host);
}

/* Per-pass progress while resolving or connecting. */
static void ch_dest_step(struct chan *ch)
{
    struct dest *d = ch->dest;
    if (ch->st == CH_3_RESOLVE) {
        rs_service(&d->rs);
        if (!d->rs.done) {
            ch->deadline = MIN(d->rs.resend, d->rs.deadline);
            return;
        }
        if (d->rs.result != RS_OK) {
            char why[300];
            rs_why(&d->rs, why, sizeof why);
            ch_refuse(ch, OPEN_CONNECT_FAILED, why);
            return;
        }
        ch_dest_next(ch);
    } else if (ch->st == CH_3_CONNECT && ev.now >= ch->deadline) {
        d->err = ETIMEDOUT;
        close(ch->rfd);
        ch->rfd = ch->wfd = -1;
        ch_dest_next(ch);
    } else if (ch->st == CH_3_PROXY && ev.now >= ch->deadline) {
        char why[400];
        fmt_s(why, sizeof why, "outbound proxy %s: no answer within %d s (timed out)",
              dst_outbound->shown, ALK_CONNECT_TIMEOUT_MS / 1000);
        ch_refuse(ch, OPEN_CONNECT_FAILED, why);
    }
}

/* alknet-echo: what arrives goes back, within the peer's window; bytes
 * count as consumed only once sent back, so the window bounds the queue. */
static void ch_echo(struct chan *ch)
{
    struct ssh *c = ch->c;
    while (ch->q.len > 0 && tp_can_send_data(c) && !ch->sent_close) {
        size_t n = MIN(MIN(ch->peer_win, ch->peer_max), MIN(ch->q.len, ALK_CHAN_MAXPKT));
        if (n == 0) break;
        struct wr w = tp_begin(c, 9 + n);
        wr_u8(&w, MSG_CHANNEL_DATA);
        wr_u32(&w, ch->peer);
        wr_str(&w, buf_head(&ch->q), n);
        tp_end(c, &w);
        buf_consume(&ch->q, n);
        ch->peer_win -= (uint32_t)n;
        ch->owed += (uint32_t)n;
        ch->up += n;
    }
    if (ch->q.len == 0) buf_free(&ch->q);
    if (ch->rcvd_eof && ch->q.len == 0) ch->rd_done = ch->wr_done = 1;
}

/*
 * Per-pass upkeep: timeouts, window adjusts, EOF and CLOSE when their
 * conditions hold, and the end of the stream. Called once per loop pass
 * for every stream, before polling.
 */
static void ch_service(struct chan *ch)
{
    struct ssh *c = ch->c;
    if (ch->dead) return;
    if (ch->st == CH_3_RESOLVE || ch->st == CH_3_CONNECT || ch->st == CH_3_PROXY) {
        ch_dest_step(ch);
        return;
    }
    if (ch->st <= CH_3_OPENING && ch->deadline && ev.now >= ch->deadline) {
        LOG(L_INFO, c ? c->id : 0, "stream %s: %s", ch_name(ch),
            ch->st == CH_1_SOCKS  ? "SOCKS handshake timed out"
            : ch->st == CH_2_WAIT ? "no connection to the server in time"
                                  : "channel open timed out");
        /* no answer to our open: TTL expired; no transport at all: failure */
        if (ch->kind == CK_SOCKS && ch->st > CH_1_SOCKS)
            sx_reply(ch, ch->st == CH_3_OPENING ? 6 : 1);
        ch->failed = 1;
        if (ch->st == CH_3_OPENING) {
            /* the answer may still come: keep the number until it does */
            ch_close_local(ch, 1);
            ch->abandoned = 1;
            ch->deadline = 0;
        } else {
            ch_finish(ch, 1);
        }
        return;
    }
    if (ch->st != CH_4_OPEN && ch->st != CH_5_DONE) return;
    if (c && ch->st == CH_4_OPEN) {
        if (ch->sx) sx_flush_early(ch);
        if (ch->kind == CK_ECHO) ch_echo(ch);
        /* consumed bytes go back to the peer in quarters of a window, or
         * in what the budget allows once the window runs low */
        ch->owed += ch_grow(ch);
        uint32_t g = ch->owed ? ch_grantable(ch, ch->owed) : 0;
        if (g && (g >= ch->wmax / 4 || ch->win < ALK_WIN_MIN) && !ch->sent_close &&
            !ch->rcvd_close) {
            /* RFC 4254 5.2: uint32 recipient channel, uint32 bytes to add */
            struct wr w = tp_begin(c, 9);
            wr_u8(&w, MSG_CHANNEL_WINDOW_ADJUST);
            wr_u32(&w, ch->peer);
            wr_u32(&w, g);
            tp_end(c, &w);
            ch->win += g;
            ch->owed -= g;
            win_held += g;
        }
        if (ch->rcvd_eof && ch->q.len == 0 && !ch->wr_done) {
            if (ch->kind == CK_STDIO)
                close(1);
            else if (ch->wfd >= 0)
                shutdown(ch->wfd, SHUT_WR);
            ch->wr_done = 1;
        }
        if (ch->rd_done && !ch->sx && !ch->sent_eof && !ch->sent_close && !ch->failed) {
            ch_send_u32(c, MSG_CHANNEL_EOF, ch->peer);
            ch->sent_eof = 1;
        }
        int over = ch->failed || ch->rcvd_close || (ch->sent_eof && ch->rcvd_eof && ch->q.len == 0);
        if (over && !ch->sent_close) {
            ch_send_u32(c, MSG_CHANNEL_CLOSE, ch->peer);
            ch->sent_close = 1;
        }
        if (ch->sent_close && ch->rcvd_close) {
            ch_log_close(ch, ch->failed ? "failed" : "closed");
            ch_unbind(ch);
            ch->st = CH_5_DONE;
            ch->deadline = ev.now + ALK_SOCKS_TIMEOUT_MS; /* to flush the rest locally */
        }
    }
    if (ch->st == CH_5_DONE && (ch->q.len == 0 || ch->wfd < 0 || ev.now >= ch->deadline))
        ch_finish(ch, ch->reset);
}

/* At -v, SIGUSR1 also lists every stream: where it stands and why it waits. */
static void ch_dump(void)
{
    static const char *const st[] = {"socks",      "wait",  "opening", "resolving",
                                     "connecting", "proxy", "open",    "done"};
    for (size_t i = 0; i < ev.nch; i++) {
        const struct chan *ch = ev.ch[i];
        LOG(L_DEBUG, ch->c ? ch->c->id : 0,
            "stream %lu %s %s: we may send %lu (max %lu), peer may send %lu, owed %lu, queued %zu, "
            "eof %d%d close %d%d local %d%d, %llu sent, %llu received",
            (unsigned long)ch->id, ch_name(ch), st[ch->st], (unsigned long)ch->peer_win,
            (unsigned long)ch->peer_max, (unsigned long)ch->win, (unsigned long)ch->owed, ch->q.len,
            ch->sent_eof, ch->rcvd_eof, ch->sent_close, ch->rcvd_close, ch->rd_done, ch->wr_done,
            (unsigned long long)ch->up, (unsigned long long)ch->down);
    }
    for (size_t i = 0; i < ev.nssh; i++) {
        const struct ssh *c = ev.ssh[i];
        unsigned es = c->tls ? br_ssl_engine_current_state(c->tls->eng) : 0;
        LOG(L_DEBUG, c->id, "connection %s: %s, %zu bytes queued out, %zu in%s%s%s%s%s", c->peer,
            tp_phase_name[c->ph], c->out.len, c->in.len, c->tls ? "; TLS engine:" : "",
            es & BR_SSL_SENDREC ? " sendrec" : "", es & BR_SSL_RECVREC ? " recvrec" : "",
            es & BR_SSL_SENDAPP ? " sendapp" : "", es & BR_SSL_RECVAPP ? " recvapp" : "");
    }
}

/* Local socket readable while open: one read straight into a new packet. */
static void ch_local_read(struct chan *ch)
{
    struct ssh *c = ch->c;
    size_t n = MIN(MIN(ch->peer_win, ch->peer_max), ALK_CHAN_MAXPKT);
    if (!tp_can_send_data(c) || n == 0 || ch->sx) return;
    /* RFC 4254 5.2: byte 94, uint32 recipient channel, string data */
    struct wr w = tp_begin(c, 9 + n);
    wr_u8(&w, MSG_CHANNEL_DATA);
    wr_u32(&w, ch->peer);
    wr_u32(&w, 0);
    ssize_t got = read(ch->rfd, w.p + w.len, n);
    if (got > 0) {
        st32_be(w.p + 5, (uint32_t)got);
        w.len += (size_t)got;
        tp_end(c, &w);
        ch->peer_win -= (uint32_t)got;
        ch->up += (uint64_t)got;
    } else if (got == 0) {
        ch->rd_done = 1;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        ch_local_failed(ch, errno);
    }
}

/* Local socket writable: drain the queue; freed memory once empty. */
static void ch_local_write(struct chan *ch)
{
    while (ch->q.len > 0) {
        ssize_t n = write(ch->wfd, buf_head(&ch->q), ch->q.len);
        if (n > 0) {
            buf_consume(&ch->q, (size_t)n);
            ch->owed += (uint32_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ch_local_failed(ch, errno);
        break;
    }
    if (ch->q.len == 0) buf_free(&ch->q);
}

/* poll() interest for the local side */
static short ch_events_r(const struct chan *ch)
{
    if (ch->rfd < 0 || ch->rd_done) return 0;
    if (ch->st == CH_1_SOCKS) return POLLIN;
    if (ch->st == CH_4_OPEN && !ch->sx && tp_can_send_data(ch->c) &&
        MIN(ch->peer_win, ch->peer_max) > 0 && !ch->sent_close)
        return POLLIN;
    return 0;
}
static short ch_events_w(const struct chan *ch)
{
    return ch->wfd >= 0 && ch->q.len > 0 ? POLLOUT : 0;
}

/* Peer messages for one channel. Each gets one complete payload. */
static struct chan *ch_lookup(struct ssh *c, uint32_t id, const char *what)
{
    struct chan *ch = ch_get(c, id);
    if (!ch) tp_fail(c, -E_PROTO, "%s for channel %lu, which is not open", what, (unsigned long)id);
    if (ch) ch->cold = 0; /* it has news: serviced in the next pass */
    return ch;
}

static uint8_t sx_rep_for(uint32_t reason, struct str desc); /* SECTION 13 */

/* RFC 4254 5.1: uint32 recipient, uint32 sender, uint32 window, uint32 max packet */
static int ch_on_open_confirm(struct ssh *c, struct rd *r)
{
    uint32_t id = rd_u32(r), peer = rd_u32(r), win = rd_u32(r), maxp = rd_u32(r);
    if (r->bad) return -E_PROTO; /* trailing channel-type data is allowed */
    struct chan *ch = ch_lookup(c, id, "OPEN_CONFIRMATION");
    if (!ch) return -E_PROTO;
    if (ch->st != CH_3_OPENING) {
        tp_fail(c, -E_PROTO, "OPEN_CONFIRMATION for channel %lu, which was not opening",
                (unsigned long)id);
        return -E_PROTO;
    }
    if (maxp == 0) {
        tp_fail(c, -E_PROTO, "peer announced a maximum packet of 0 on channel %lu",
                (unsigned long)id);
        return -E_PROTO;
    }
    ch->peer = peer, ch->peer_win = win, ch->peer_max = MIN(maxp, ALK_CHAN_MAXPKT);
    ch->st = CH_4_OPEN;
    ch->deadline = 0;
    ch->t_open = ev.now;
    if (ch->abandoned) { /* gave up waiting: close it right away */
        ch->failed = 1;
        return 0;
    }
    if (ch->kind == CK_SOCKS) sx_reply(ch, 0);
    LOG(L_DEBUG, c->id, "stream %s: channel %u open", ch_name(ch), ch->id);
    return 0;
}

/* RFC 4254 5.1: uint32 recipient, uint32 reason, string description, string language */
static int ch_on_open_failure(struct ssh *c, struct rd *r)
{
    uint32_t id = rd_u32(r), reason = rd_u32(r);
    struct str desc = rd_str(r, 4096);
    rd_str(r, 256);
    if (!rd_end(r)) return -E_PROTO;
    struct chan *ch = ch_lookup(c, id, "OPEN_FAILURE");
    if (!ch) return -E_PROTO;
    if (ch->st != CH_3_OPENING) {
        tp_fail(c, -E_PROTO, "OPEN_FAILURE for channel %lu, which was not opening",
                (unsigned long)id);
        return -E_PROTO;
    }
    LOG(L_INFO, c->id, "stream %s: server refused: %s (reason %lu)", ch_name(ch), log_str(desc),
        (unsigned long)reason);
    if (ch->kind == CK_SOCKS && !ch->abandoned) sx_reply(ch, sx_rep_for(reason, desc));
    if (ch->kind == CK_STDIO)
        say("cannot open a stream to %s: the server says: %s", ch_name(ch), log_str(desc));
    ch->failed = 1;
    ch_finish(ch, 1);
    return 0;
}

/* RFC 4254 5.2: uint32 recipient channel, uint32 bytes to add */
static int ch_on_window(struct ssh *c, struct rd *r)
{
    uint32_t id = rd_u32(r), add = rd_u32(r);
    if (!rd_end(r)) return -E_PROTO;
    struct chan *ch = ch_lookup(c, id, "WINDOW_ADJUST");
    if (!ch) return -E_PROTO;
    if (ch->st != CH_4_OPEN) return 0; /* a late adjust for a stream we finished */
    if (add > UINT32_MAX - ch->peer_win) {
        tp_fail(c, -E_PROTO, "window adjust overflows 2^32-1 on channel %lu", (unsigned long)id);
        return -E_PROTO;
    }
    ch->peer_win += add;
    return 0;
}

/* RFC 4254 5.2: byte 94, uint32 recipient, string data; byte 95 adds
 * uint32 data_type_code before the data. */
static int ch_on_data(struct ssh *c, struct rd *r, int ext)
{
    uint32_t id = rd_u32(r);
    if (ext) rd_u32(r);
    struct str d = rd_str(r, ALK_PAYLOAD_MAX);
    if (!rd_end(r)) return -E_PROTO;
    struct chan *ch = ch_lookup(c, id, "DATA");
    if (!ch) return -E_PROTO;
    if (ch->st != CH_4_OPEN || ch->rcvd_eof || ch->rcvd_close) {
        tp_fail(c, -E_PROTO, "data on channel %lu after its end", (unsigned long)id);
        return -E_PROTO;
    }
    if (d.n > ch->win) {
        tp_fail(c, -E_PROTO, "peer sent %lu bytes on channel %lu with a window of %lu",
                (unsigned long)d.n, (unsigned long)id, (unsigned long)ch->win);
        return -E_PROTO;
    }
    ch->win -= (uint32_t)d.n;
    if (ch->kind == CK_ECHO && !ext) { /* sent back by ch_echo */
        buf_append(&ch->q, d.p, d.n);
        ch->down += d.n;
        return 0;
    }
    if (ext || ch->wfd < 0) { /* nowhere to deliver: consumed at once */
        ch->owed += (uint32_t)d.n;
        return 0;
    }
    ch->down += d.n;
    size_t done = 0;
    if (ch->q.len == 0) {
        ssize_t n = write(ch->wfd, d.p, d.n);
        if (n > 0)
            done = (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            ch_local_failed(ch, errno);
            ch->owed += (uint32_t)d.n;
            return 0;
        }
    }
    ch->owed += (uint32_t)done;
    if (done < d.n) buf_append(&ch->q, d.p + done, d.n - done);
    return 0;
}

/* EOF and CLOSE: uint32 recipient channel */
static int ch_on_eof_close(struct ssh *c, struct rd *r, int close)
{
    uint32_t id = rd_u32(r);
    if (!rd_end(r)) return -E_PROTO;
    struct chan *ch = ch_lookup(c, id, close ? "CLOSE" : "EOF");
    if (!ch) return -E_PROTO;
    if (ch->st != CH_4_OPEN || ch->rcvd_close) {
        tp_fail(c, -E_PROTO, "%s on channel %lu in the wrong state", close ? "CLOSE" : "EOF",
                (unsigned long)id);
        return -E_PROTO;
    }
    if (close) {
        ch->rcvd_close = 1;
        ch->reset = !ch->rcvd_eof; /* ended without EOF: tell the local side it failed */
    } else {
        ch->rcvd_eof = 1;
    }
    return 0;
}

/* RFC 4254 5.4: uint32 recipient, string type, boolean want reply, ...
 * Nothing is asked of a direct-tcpip channel; refuse politely. */
static int ch_on_request(struct ssh *c, struct rd *r)
{
    uint32_t id = rd_u32(r);
    struct str type = rd_str(r, 256);
    int want = rd_bool(r);
    if (r->bad) return -E_PROTO;
    struct chan *ch = ch_lookup(c, id, "CHANNEL_REQUEST");
    if (!ch) return -E_PROTO;
    LOG(L_DEBUG, c->id, "channel %lu request %s refused", (unsigned long)id, log_str(type));
    if (want && ch->st == CH_4_OPEN && !ch->sent_close)
        ch_send_u32(c, MSG_CHANNEL_FAILURE, ch->peer);
    return 0;
}

/* ==================== SECTION 13: SOCKS5h (sx_) ==================== */

/*
 * RFC 1928 (SOCKS5) and RFC 1929 (username/password), CONNECT only. The
 * framer works on whatever bytes have arrived: a greeting split over many
 * segments, or greeting + auth + request + the first data in one. Replies
 * go out only when the channel has opened or failed. Messages:
 *   greeting  VER=5 NMETHODS METHODS[NMETHODS]        -> VER METHOD
 *   auth      VER=1 ULEN UNAME PLEN PASSWD             -> VER STATUS
 *   request   VER=5 CMD RSV ATYP DST.ADDR DST.PORT     -> VER REP RSV ATYP BND.ADDR BND.PORT
 * The largest is the auth request, 1+1+255+1+255 = 513 bytes.
 */
enum { SX_1_HELLO, SX_2_AUTH, SX_3_REQUEST, SX_4_DONE };
struct sx {
    uint8_t st;
    uint16_t len;
    uint8_t b[ALK_SOCKS_MAX];
};

/* --socks-auth credentials; NULL user means no authentication */
static struct {
    const char *user, *pass;
} sx_cfg;

static void sx_free(struct chan *ch)
{
    if (ch->sx) wipe(ch->sx, sizeof *ch->sx), free(ch->sx);
    ch->sx = NULL;
}

static int sx_send(struct chan *ch, const void *p, size_t n)
{
    /* the socket's send buffer is empty at this point: a short write
     * means the client is gone */
    return ch->wfd >= 0 && write(ch->wfd, p, n) == (ssize_t)n ? 0 : -1;
}

/* RFC 1928 6: a reply with BND.ADDR 0.0.0.0:0 (the server side's bound
 * address is not known to us). */
static void sx_reply(struct chan *ch, uint8_t rep)
{
    uint8_t b[10] = {5, rep, 0, 1, 0, 0, 0, 0, 0, 0};
    if (ch->kind != CK_SOCKS || ch->rfd < 0) return;
    if (sx_send(ch, b, sizeof b) != 0 && rep == 0) ch_local_failed(ch, EPIPE);
}

/* Case-insensitive search for a lowercase needle. */
static int str_has(struct str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.n; i++) {
        size_t j = 0;
        while (j < n) {
            uint8_t a = s.p[i + j];
            if (a >= 'A' && a <= 'Z') a = (uint8_t)(a - 'A' + 'a');
            if (a != (uint8_t)needle[j]) break;
            j++;
        }
        if (j == n) return 1;
    }
    return 0;
}

/*
 * Channel-open failure (RFC 4254 5.1) to SOCKS reply (RFC 1928 6). OpenSSH
 * and alknet put the cause in the description ("Connection refused",
 * "Name or service not known", ...), so it is read for a precise code.
 */
static uint8_t sx_rep_for(uint32_t reason, struct str desc)
{
    if (reason == OPEN_ADMIN_PROHIBITED) return 2; /* not allowed by ruleset */
    if (reason != OPEN_CONNECT_FAILED) return 1;   /* general failure */
    if (str_has(desc, "refused")) return 5;        /* connection refused */
    if (str_has(desc, "timed out") || str_has(desc, "timeout")) return 6; /* TTL expired */
    if (str_has(desc, "network is unreachable") || str_has(desc, "network unreachable"))
        return 3; /* network unreachable */
    if (str_has(desc, "unreachable") || str_has(desc, "no route") || str_has(desc, "not known") ||
        str_has(desc, "resolve") || str_has(desc, "name") || str_has(desc, "no address") ||
        str_has(desc, "unknown host"))
        return 4; /* host unreachable */
    return 1;
}

/*
 * Parses as much of the handshake as has arrived. Returns 0 to wait for
 * more, 1 when the request is complete (ch->host/port set, any bytes after
 * it kept in sx as early data), -1 when the stream was refused and closed.
 */
static int sx_step(struct chan *ch)
{
    struct sx *s = ch->sx;
    for (;;) {
        struct rd r = rd_init(s->b, s->len);
        uint8_t ver = rd_u8(&r);
        if (r.bad) return 0;
        if (s->st == SX_1_HELLO) {
            if (ver != 5) {
                LOG(L_INFO, 0, "SOCKS: client speaks version %u, not 5", ver);
                if (ver == 4) { /* a SOCKS4 client gets a SOCKS4 "rejected" */
                    static const uint8_t rej[8] = {0, 0x5b};
                    sx_send(ch, rej, sizeof rej);
                }
                return -1;
            }
            uint8_t nm = rd_u8(&r);
            struct str m = rd_bytes(&r, nm);
            if (r.bad) return 0;
            uint8_t want = sx_cfg.user ? 2 : 0, pick = 0xff;
            if (nm > 0 && memchr(m.p, want, nm)) pick = want;
            uint8_t rep[2] = {5, pick};
            if (sx_send(ch, rep, 2) != 0 || pick == 0xff) {
                LOG(L_INFO, 0, "SOCKS: client offers no acceptable method (%s required)",
                    sx_cfg.user ? "username/password" : "no authentication");
                return -1;
            }
            s->st = pick == 2 ? SX_2_AUTH : SX_3_REQUEST;
        } else if (s->st == SX_2_AUTH) {
            struct str u = rd_bytes(&r, rd_u8(&r));
            struct str pw = rd_bytes(&r, rd_u8(&r));
            if (r.bad) return 0;
            /* compare in constant time over fixed-size copies */
            uint8_t a[256] = {0}, b[256] = {0}, x[256] = {0}, y[256] = {0};
            size_t ul = strlen(sx_cfg.user), pl = strlen(sx_cfg.pass);
            memcpy(a, u.p, u.n), memcpy(b, sx_cfg.user, ul);
            memcpy(x, pw.p, pw.n), memcpy(y, sx_cfg.pass, pl);
            int ok =
                ver == 1 && u.n == ul && pw.n == pl && (ct_cmp(a, b, 256) | ct_cmp(x, y, 256)) == 0;
            WIPE(x), WIPE(y);
            uint8_t rep[2] = {1, ok ? 0 : 1};
            if (sx_send(ch, rep, 2) != 0 || !ok) {
                LOG(L_INFO, 0, "SOCKS: wrong username or password");
                return -1;
            }
            s->st = SX_3_REQUEST;
        } else {
            uint8_t cmd = rd_u8(&r);
            rd_u8(&r);
            uint8_t atyp = rd_u8(&r);
            if (r.bad) return 0;
            char host[256];
            if (atyp == 1) {
                struct str a = rd_bytes(&r, 4);
                if (r.bad) return 0;
                net_ntop(AF_INET, a.p, host, sizeof host);
            } else if (atyp == 4) {
                struct str a = rd_bytes(&r, 16);
                if (r.bad) return 0;
                net_ntop(AF_INET6, a.p, host, sizeof host);
            } else if (atyp == 3) {
                struct str a = rd_bytes(&r, rd_u8(&r));
                if (r.bad) return 0;
                int bad = a.n == 0;
                for (size_t i = 0; i < a.n; i++)
                    bad |= a.p[i] <= 0x20 || a.p[i] >= 0x7f;
                if (bad) {
                    LOG(L_INFO, 0, "SOCKS: bad host name %s", log_str(a));
                    sx_reply(ch, 4);
                    return -1;
                }
                memcpy(host, a.p, a.n);
                host[a.n] = 0;
            } else {
                LOG(L_INFO, 0, "SOCKS: unknown address type %u", atyp);
                sx_reply(ch, 8);
                return -1;
            }
            struct str pb = rd_bytes(&r, 2);
            if (r.bad) return 0;
            if (ver != 5) {
                LOG(L_INFO, 0, "SOCKS: request with version %u", ver);
                sx_reply(ch, 1);
                return -1;
            }
            if (cmd != 1) {
                LOG(L_INFO, 0, "SOCKS: command %u not supported (only CONNECT)", cmd);
                sx_reply(ch, 7);
                return -1;
            }
            ch->host = xstrdup(host);
            ch->port = (unsigned)(pb.p[0] << 8 | pb.p[1]);
            s->st = SX_4_DONE;
        }
        /* keep what follows the message */
        memmove(s->b, s->b + r.off, s->len - r.off);
        s->len = (uint16_t)(s->len - r.off);
        if (s->st == SX_4_DONE) {
            if (s->len == 0) sx_free(ch);
            return 1;
        }
    }
}

/* Local socket readable during the handshake. */
static void sx_read(struct chan *ch)
{
    struct sx *s = ch->sx;
    ssize_t n = read(ch->rfd, s->b + s->len, sizeof s->b - s->len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) { /* gone before finishing the request: nothing to answer */
        ch_finish(ch, 0);
        return;
    }
    s->len = (uint16_t)(s->len + n);
    int r = sx_step(ch);
    if (r < 0)
        ch_finish(ch, 0);
    else if (r > 0) {
        ch->st = CH_2_WAIT;
        ch->deadline = ev.now + ALK_OPEN_TIMEOUT_MS;
    } else if (s->len == sizeof s->b) {
        LOG(L_INFO, 0, "SOCKS: oversized message");
        ch_finish(ch, 0);
    }
}

static void sx_flush_early(struct chan *ch)
{
    struct sx *s = ch->sx;
    struct ssh *c = ch->c;
    size_t n = MIN(MIN(ch->peer_win, ch->peer_max), s->len);
    if (!tp_can_send_data(c) || n == 0) return;
    struct wr w = tp_begin(c, 9 + n);
    wr_u8(&w, MSG_CHANNEL_DATA);
    wr_u32(&w, ch->peer);
    wr_str(&w, s->b, n);
    tp_end(c, &w);
    ch->peer_win -= (uint32_t)n;
    ch->up += n;
    memmove(s->b, s->b + n, s->len - n);
    s->len = (uint16_t)(s->len - n);
    if (s->len == 0) sx_free(ch);
}

/* ==================== SECTION 14: message dispatch (tp_dispatch) ==================== */

/*
 * One gate for every message type in every state (OpenSSH dispatch tables,
 * Dropbear's pre-auth limit): a legal message goes to its handler, an
 * unknown type gets UNIMPLEMENTED, a known type in the wrong state ends
 * the connection. Strict KEX takes its few lines here: nothing but kex
 * messages during the first exchange, not even IGNORE.
 */
static int sv_on_channel_open(struct ssh *c, struct rd *r); /* SECTION 18 */

static int tp_violation(struct ssh *c, uint8_t t)
{
    tp_fail(c, -E_PROTO, "unexpected message %u in state %s%s", t, tp_phase_name[c->ph],
            c->kx ? " (key exchange)" : "");
    return -E_PROTO;
}

static int tp_generic(struct ssh *c, uint8_t t, struct rd *r)
{
    if (t == MSG_DISCONNECT) {
        /* RFC 4253 11.1: uint32 reason, string description, string language */
        uint32_t reason = rd_u32(r);
        struct str d = rd_str(r, 4096);
        c->disc = reason;
        tp_fail(c, -E_DISC, "%s disconnected, saying \"%s\" (reason %lu)", c->peer,
                r->bad ? "(malformed)" : log_str(d), (unsigned long)reason);
        c->out.len = 0;
        return 0;
    }
    if (t == MSG_UNIMPLEMENTED) {
        uint32_t seq = rd_u32(r);
        LOG(L_DEBUG, c->id, "peer did not implement our packet %lu", (unsigned long)seq);
    }
    return 0; /* IGNORE, DEBUG */
}

static int tp_dispatch(struct ssh *c, const uint8_t *p, size_t n)
{
    uint8_t t = p[0];
    struct rd r = rd_init(p + 1, n - 1);
    struct kex *kx = c->kx;

    if (kx && kx->got_init && !kx->got_newkeys) {
        /* the peer is inside a key exchange: RFC 4253 7.1 */
        if (t == MSG_DISCONNECT) return tp_generic(c, t, &r);
        if (t <= MSG_DEBUG) {
            if (kx->first && c->strict) {
                tp_fail(c, -E_PROTO, "strict KEX: message %u during the first key exchange", t);
                return -E_PROTO;
            }
            return tp_generic(c, t, &r);
        }
        if (t >= MSG_KEX_ECDH_INIT && t <= 49 && kx->skip_next) {
            kx->skip_next = 0; /* the peer's wrong guess */
            return 0;
        }
        if (!c->server && t == MSG_KEX_ECDH_REPLY && !kx->have_keys) return kex_on_reply(c, p, n);
        if (c->server && t == MSG_KEX_ECDH_INIT && !kx->have_keys) return kex_on_init(c, p, n);
        if (t == MSG_NEWKEYS && kx->have_keys) {
            if (!rd_end(&r)) return -E_PROTO;
            return kex_on_newkeys(c);
        }
        return tp_violation(c, t);
    }
    if (!c->have_sid) {
        /* before the peer's first KEXINIT (strictness is checked in it) */
        if (t == MSG_KEXINIT) return kex_on_kexinit(c, p, n);
        if (t <= MSG_DEBUG) return tp_generic(c, t, &r);
        return tp_violation(c, t);
    }
    switch (t) {
    case MSG_DISCONNECT:
    case MSG_IGNORE:
    case MSG_UNIMPLEMENTED:
    case MSG_DEBUG:
        return tp_generic(c, t, &r);
    case MSG_KEXINIT:
        return kex_on_kexinit(c, p, n); /* a rekey, at any moment */
    case MSG_EXT_INFO:
        return 0; /* never asked for (no ext-info-c); harmless */
    case MSG_SERVICE_ACCEPT:
    case MSG_USERAUTH_FAILURE:
    case MSG_USERAUTH_SUCCESS:
    case MSG_USERAUTH_BANNER:
    case MSG_USERAUTH_PK_OK:
        if (c->server || c->ph != TP_3_AUTH) return tp_violation(c, t);
        return ua_on_msg(c, t, &r);
    case MSG_USERAUTH_REQUEST:
        /* RFC 4252 5.1: requests after success are ignored */
        if (c->server && c->ph == TP_4_OPEN) return 0;
        /* fall through */
    case MSG_SERVICE_REQUEST:
        if (!c->server || c->ph != TP_3_AUTH) return tp_violation(c, t);
        return ua_server(c, p, n);
    case MSG_KEXINIT + 1: /* NEWKEYS outside a kex */
    case MSG_KEX_ECDH_INIT:
    case MSG_KEX_ECDH_REPLY:
        return tp_violation(c, t);
    default:
        break;
    }
    if (t >= MSG_GLOBAL_REQUEST && t <= MSG_CHANNEL_FAILURE) {
        if (c->ph != TP_4_OPEN) return tp_violation(c, t);
        switch (t) {
        case MSG_GLOBAL_REQUEST: {
            /* RFC 4254 4: string name, boolean want reply, ... We have none
             * to offer (keepalive@openssh.com gets the failure it expects). */
            struct str name = rd_str(&r, 256);
            int want = rd_bool(&r);
            if (r.bad) return -E_PROTO;
            if (c->server &&
                (str_eq(name, "tcpip-forward") || str_eq(name, "streamlocal-forward@openssh.com")))
                LOG(L_INFO, c->id,
                    "refused remote forwarding (ssh -R): alknet serve only opens "
                    "direct-tcpip streams");
            else
                LOG(L_DEBUG, c->id, "global request %s refused", log_str(name));
            if (want) {
                struct wr w = tp_begin(c, 1);
                wr_u8(&w, MSG_REQUEST_FAILURE);
                tp_end(c, &w);
            }
            return 0;
        }
        case MSG_REQUEST_SUCCESS:
        case MSG_REQUEST_FAILURE:
            return 0; /* answers to our keepalives: receiving anything resets them */
        case MSG_CHANNEL_OPEN: {
            if (c->server) return sv_on_channel_open(c, &r);
            /* uint32 sender channel is the second field; the client takes no
             * channels from the server (no remote forwarding, no agent) */
            rd_str(&r, 256);
            uint32_t peer = rd_u32(&r);
            if (r.bad) return -E_PROTO;
            struct wr w = tp_begin(c, 128);
            wr_u8(&w, MSG_CHANNEL_OPEN_FAILURE);
            wr_u32(&w, peer);
            wr_u32(&w, OPEN_ADMIN_PROHIBITED);
            wr_cstr(&w, "the alknet client accepts no channels");
            wr_cstr(&w, "");
            tp_end(c, &w);
            return 0;
        }
        case MSG_CHANNEL_OPEN_CONFIRMATION:
            return ch_on_open_confirm(c, &r);
        case MSG_CHANNEL_OPEN_FAILURE:
            return ch_on_open_failure(c, &r);
        case MSG_CHANNEL_WINDOW_ADJUST:
            return ch_on_window(c, &r);
        case MSG_CHANNEL_DATA:
        case MSG_CHANNEL_EXTENDED_DATA:
            return ch_on_data(c, &r, t == MSG_CHANNEL_EXTENDED_DATA);
        case MSG_CHANNEL_EOF:
        case MSG_CHANNEL_CLOSE:
            return ch_on_eof_close(c, &r, t == MSG_CHANNEL_CLOSE);
        case MSG_CHANNEL_REQUEST:
            return ch_on_request(c, &r);
        default: /* CHANNEL_SUCCESS/FAILURE: we never ask */
            return tp_violation(c, t);
        }
    }
    /* RFC 4253 11.4: byte 3, uint32 sequence number of the rejected packet */
    struct wr w = tp_begin(c, 5);
    wr_u8(&w, MSG_UNIMPLEMENTED);
    wr_u32(&w, c->rx.seq - 1);
    tp_end(c, &w);
    return 0;
}

/* ==================== SECTION 15: event loop (ev_) ==================== */

/*
 * One pass:  ev_build (service every object, collect poll interest and the
 * nearest deadline) -> poll -> ev_dispatch (I/O only) -> ev_reap (the only
 * place objects are freed). Signals arrive through a self-pipe.
 */
enum { LK_SOCKS = CK_SOCKS, LK_LOCAL = CK_LOCAL, LK_SSH = 16, LK_TLS };
struct lsn {
    int fd;
    uint8_t kind; /* CK_SOCKS or CK_LOCAL */
    char *host;   /* -L destination */
    unsigned port;
    char name[80];       /* the bound address */
    int64_t pause_until; /* backing off after EMFILE */
    int dead;
};

enum { K_SIG, K_LSN, K_SSH, K_CHR, K_CHW, K_CONN, K_RS, K_SP0, K_SP1 };
/*
 * The poll set, rebuilt every pass. Streams that only wait to read and have
 * been idle for ALK_COLD_MS are "cold": they are serviced and polled only in
 * full passes, which come when the loop was idle (nothing ready last time:
 * the full set then blocks, as it always did) and otherwise at least every
 * ALK_COLD_GAP_MS (+1 ms per 256 cold streams). poll() costs the kernel
 * time for every descriptor and the pass costs us time for every stream, so
 * without this one busy stream beside 1,000 idle ones moved 20 MB/s
 * instead of 500. The price: an idle stream's next bytes may wait a few ms
 * while other streams are busy. A message from the peer for a cold stream
 * warms it at once (ch_lookup).
 */
static struct {
    struct pollfd *pfd;
    struct {
        uint8_t kind;
        void *obj;
    } * who;
    size_t n, cap;
    int64_t wake;    /* nearest deadline */
    size_t ncold;    /* cold streams in the last full pass */
    int full;        /* this pass includes the cold streams */
    int64_t full_at; /* when the last full pass began */
    int idle;        /* the last poll found nothing ready */
} evp;

static void ev_add(int fd, short events, uint8_t kind, void *obj)
{
    if (evp.n == evp.cap) {
        evp.cap = evp.cap ? evp.cap * 2 : 64;
        evp.pfd = xrealloc(evp.pfd, evp.cap * sizeof *evp.pfd);
        evp.who = xrealloc(evp.who, evp.cap * sizeof *evp.who);
    }
    evp.pfd[evp.n].fd = fd;
    evp.pfd[evp.n].events = events;
    evp.pfd[evp.n].revents = 0;
    evp.who[evp.n].kind = kind;
    evp.who[evp.n].obj = obj;
    evp.n++;
}
static void ev_deadline(int64_t t)
{
    if (t > 0 && (evp.wake == 0 || t < evp.wake)) evp.wake = t;
}

static struct lsn *lsn_new(int fd, uint8_t kind)
{
    struct lsn *l = xcalloc(1, sizeof *l);
    l->fd = fd, l->kind = kind;
    ev.lsn = xrealloc(ev.lsn, (ev.nlsn + 1) * sizeof *ev.lsn);
    ev.lsn[ev.nlsn++] = l;
    return l;
}

static void sv_accept(int fd, const struct sockaddr *peer, int tls); /* SECTION 18 */

static void lsn_accept(struct lsn *l)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept(l->fd, (struct sockaddr *)&ss, &sl);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (net_out_of_fds(errno)) l->pause_until = ev.now + 500; /* then try again */
            return;
        }
        l->pause_until = 0;
        if (l->kind == LK_SSH || l->kind == LK_TLS) {
            sv_accept(fd, (struct sockaddr *)&ss, l->kind == LK_TLS);
            continue;
        }
        net_nonblock(fd);
        net_nodelay(fd);
        struct chan *ch = ch_new(fd, fd, (enum ch_kind)l->kind);
        net_addr_str((struct sockaddr *)&ss, ch->orig, sizeof ch->orig);
        if (l->kind == CK_SOCKS) {
            ch->sx = xcalloc(1, sizeof *ch->sx);
            ch->st = CH_1_SOCKS;
            ch->deadline = ev.now + ALK_SOCKS_TIMEOUT_MS;
        } else {
            ch->host = xstrdup(l->host);
            ch->port = l->port;
            ch->st = CH_2_WAIT;
            ch->deadline = ev.now + ALK_OPEN_TIMEOUT_MS;
        }
    }
}

static void ch_free(struct chan *ch)
{
    buf_free(&ch->q);
    sx_free(ch);
    ch_dest_free(ch);
    free(ch->host);
    free(ch);
}

/*
 * A splice joins two sockets byte for byte: the stealth fallback (SECTION
 * 18) joins a visitor that is not ours to the --fallback backend, starting
 * with the bytes it already sent. EOF travels as shutdown(SHUT_WR), a reset
 * or error on one side resets the other, and at most SP_QMAX bytes wait
 * each way (the buffers go away when empty: an idle splice holds none).
 */
#define SP_QMAX (64u << 10)
#define SP_READ (16u << 10)
#define SP_HALF_IDLE_MS 120000 /* one side has ended and nothing moved for this long: done */
struct splice {
    int fd[2];       /* 0: the visitor; 1: the backend */
    struct buf q[2]; /* q[i]: read from fd[i], not yet written to fd[!i] */
    uint8_t eof[2];  /* fd[i] has ended its sending */
    uint8_t shut[2]; /* ... and fd[!i] was told so */
    uint8_t connecting, dead;
    const struct net_addrs *to; /* the backend's addresses, tried in turn */
    unsigned next;
    int err;          /* the last connect() error */
    int64_t deadline; /* for the connect in progress */
    int64_t t_act;    /* when a byte last moved */
    unsigned id;      /* the connection number the visitor had */
    char peer[64];
    uint64_t n[2]; /* bytes each way */
};

static void sp_connect_next(struct splice *sp)
{
    while (sp->next < sp->to->n) {
        int fd = net_connect(&sp->to->a[sp->next++]);
        if (fd >= 0) {
            sp->fd[1] = fd;
            sp->connecting = 1;
            sp->deadline = ev.now + ALK_CONNECT_TIMEOUT_MS;
            return;
        }
        sp->err = errno;
    }
    static int64_t logged;
    if (ev.now - logged >= 10000) { /* the operator must hear of it, but not 1000 times */
        logged = ev.now;
        LOG(L_WARN, sp->id, "--fallback backend unreachable (%s): closing %s",
            strerror(sp->err ? sp->err : ETIMEDOUT), sp->peer);
    }
    sp->dead = 1;
}

/* Takes over fd and the bytes already read from it (`first`); eof: the
 * visitor has already ended its side. */
static struct splice *sp_new(int fd, struct buf *first, int eof, const struct net_addrs *to,
                             unsigned id, const char *peer)
{
    struct splice *sp = xcalloc(1, sizeof *sp);
    sp->fd[0] = fd, sp->fd[1] = -1;
    sp->q[0] = *first;
    memset(first, 0, sizeof *first);
    sp->eof[0] = (uint8_t)eof;
    sp->to = to, sp->id = id;
    sp->t_act = ev.now;
    fmt_s(sp->peer, sizeof sp->peer, "%s", peer);
    if (ev.nsp == ev.capsp) {
        ev.capsp = ev.capsp ? ev.capsp * 2 : 16;
        ev.sp = xrealloc(ev.sp, ev.capsp * sizeof *ev.sp);
    }
    ev.sp[ev.nsp++] = sp;
    sp_connect_next(sp);
    return sp;
}

/* One side failed: the other learns of it as a reset. */
static void sp_fail(struct splice *sp, int side)
{
    int other = sp->fd[!side];
    if (other >= 0) net_close_reset(other);
    sp->fd[!side] = -1;
    sp->dead = 1;
}

/* Moves what can move; side/re: the socket poll() reported on. */
static void sp_io(struct splice *sp, int side, short re)
{
    if (sp->connecting) {
        if (side != 1) return;
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(sp->fd[1], SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
        if (e) {
            sp->err = e;
            close(sp->fd[1]);
            sp->fd[1] = -1;
            sp_connect_next(sp);
            return;
        }
        sp->connecting = 0;
        net_nodelay(sp->fd[1]);
    }
    if ((re & (POLLIN | POLLHUP | POLLERR)) && !sp->eof[side] && sp->q[side].len < SP_QMAX) {
        struct buf *q = &sp->q[side];
        buf_reserve(q, SP_READ, SP_READ);
        ssize_t n = read(sp->fd[side], buf_tail(q), MIN(buf_room(q), SP_QMAX - q->len));
        if (n > 0) {
            q->len += (size_t)n;
            sp->n[side] += (uint64_t)n;
            sp->t_act = ev.now;
        } else if (n == 0) {
            sp->eof[side] = 1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            sp_fail(sp, side);
            return;
        }
    }
    for (int i = 0; i < 2; i++) { /* i: the side whose bytes go out now */
        struct buf *q = &sp->q[i];
        while (q->len > 0) {
            ssize_t n = write(sp->fd[!i], buf_head(q), q->len);
            if (n > 0) {
                buf_consume(q, (size_t)n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
            sp_fail(sp, !i);
            return;
        }
        if (!q->len) buf_free(q);
        if (sp->eof[i] && !q->len && !sp->shut[i]) {
            shutdown(sp->fd[!i], SHUT_WR);
            sp->shut[i] = 1;
        }
    }
    if (sp->shut[0] && sp->shut[1]) sp->dead = 1;
}

/* poll() interest of one side. */
static short sp_events(const struct splice *sp, int side)
{
    if (sp->connecting) return side == 1 ? POLLOUT : 0;
    short e = 0;
    if (!sp->eof[side] && sp->q[side].len < SP_QMAX) e |= POLLIN;
    if (sp->q[!side].len > 0) e |= POLLOUT;
    return e;
}

static void sp_free(struct splice *sp)
{
    LOG(L_DEBUG, sp->id, "%s: fallback splice ended: %llu bytes in, %llu out", sp->peer,
        (unsigned long long)sp->n[0], (unsigned long long)sp->n[1]);
    for (int i = 0; i < 2; i++) {
        if (sp->fd[i] >= 0) close(sp->fd[i]);
        buf_free(&sp->q[i]);
    }
    free(sp);
}

/*
 * What the loop asks of the role it runs (`connect` or `serve`): upkeep at
 * the start of each pass, signals, a connection or stream that ended, and
 * the client's connect() in progress. Set once by cl_run or sv_run.
 */
struct ev_role {
    void (*service)(void);
    void (*on_signal)(int sig);
    void (*conn_lost)(struct ssh *c);            /* before it is freed */
    void (*stream_ended)(const struct chan *ch); /* before it is freed */
    void (*connect_ready)(void);
};
static const struct ev_role *role;

static void ev_add_conn(struct ssh *c)
{
    if (ev.nssh == ev.capssh) {
        ev.capssh = ev.capssh ? ev.capssh * 2 : 16;
        ev.ssh = xrealloc(ev.ssh, ev.capssh * sizeof *ev.ssh);
    }
    ev.ssh[ev.nssh++] = c;
}

/*
 * Per-pass upkeep of one connection, for both roles: the deadline for
 * getting authenticated, our own rekey (spec 2: after 1 GiB either way or
 * one hour), and keepalives (RFC 4254 4: a global request the peer must
 * answer; ALK_KEEPALIVE_COUNT unanswered ones mean the peer is gone).
 */
static void sv_gate_timer(struct ssh *c); /* SECTION 18 */

static void tp_service(struct ssh *c)
{
    if (c->ph == TP_5_CLOSING) return;
    if (c->ph == TP_0_GATE) {
        if (ev.now >= c->gate_until) sv_gate_timer(c);
        return;
    }
    if (c->ph < TP_4_OPEN) {
        int64_t limit = c->t_start + c->grace_ms;
        if (ev.now >= limit) {
            tp_fail(c, -E_TIMEOUT, "not authenticated within %lld s",
                    (long long)c->grace_ms / 1000);
            return;
        }
        ev_deadline(limit);
        return;
    }
    if (!c->kx && (c->tx.bytes >= c->rekey_bytes || c->rx.bytes >= c->rekey_bytes ||
                   ev.now - c->t_kex >= c->rekey_ms))
        kex_start(c);
    ev_deadline(c->t_kex + c->rekey_ms);
    if (c->keepalive_ms) {
        int64_t due = MAX(c->t_rx, c->t_ka) + c->keepalive_ms;
        if (ev.now >= due) {
            if (c->ka_out >= c->ka_count) {
                tp_fail(c, -E_TIMEOUT,
                        "nothing from %s for %lld s (%u keepalives unanswered): the peer or "
                        "the path is dead",
                        c->peer, (long long)(ev.now - c->t_rx) / 1000, c->ka_count);
                return;
            }
            struct wr w = tp_begin(c, 64);
            wr_u8(&w, MSG_GLOBAL_REQUEST);
            wr_cstr(&w, "keepalive@openssh.com");
            wr_u8(&w, 1);
            tp_end(c, &w);
            c->ka_out++;
            c->t_ka = ev.now;
            due = ev.now + c->keepalive_ms;
        }
        ev_deadline(due);
    }
}

static void ev_build(void)
{
    evp.n = 0;
    evp.wake = 0;
    ev.now = now_ms();
    /* the longest a cold stream waits, from the last full pass's count */
    int64_t next_full = evp.full_at + ALK_COLD_GAP_MS + (int64_t)(evp.ncold / 256);
    evp.full = evp.idle || ev.now >= next_full;
    if (evp.full) evp.full_at = ev.now, evp.ncold = 0;
    ev_add(ev.sig[0], POLLIN, K_SIG, NULL);
    win_held = 0;
    for (size_t i = 0; i < ev.nch; i++)
        if (!ev.ch[i]->dead) win_held += ev.ch[i]->win + ev.ch[i]->q.len;
    role->service();
    /* connections flush first: streams decide whether they may read by how
     * full the output queue is (tp_can_send_data), and must see it as poll
     * will, or a queue emptied later in this pass leaves nobody polling */
    for (size_t i = 0; i < ev.nssh; i++) {
        struct ssh *c = ev.ssh[i];
        if (c->dead) continue;
        tp_service(c);
        if (c->err && c->ph != TP_5_CLOSING) tp_fail(c, c->err, "%s", c->why); /* set in upkeep */
        if (c->out.len > 0 && tp_flush(c) < 0) tp_fail(c, -E_IO, "%s", c->why);
    }
    for (size_t i = 0; i < ev.nch; i++) {
        struct chan *ch = ev.ch[i];
        if (ch->cold && !evp.full && !ch->dead) continue;
        ch_service(ch);
        if (ch->dead) {
            ev_deadline(ev.now); /* reap it right after this pass */
            continue;
        }
        ev_deadline(ch->deadline);
        if (ch->st == CH_3_RESOLVE) {
            if (ch->dest->rs.fd >= 0) ev_add(ch->dest->rs.fd, POLLIN, K_RS, ch);
            continue;
        }
        if (ch->st == CH_3_CONNECT) {
            ev_add(ch->rfd, POLLOUT, K_CHR, ch);
            continue;
        }
        if (ch->st == CH_3_PROXY) {
            ev_add(ch->rfd, px_events(&ch->dest->px), K_CHR, ch);
            continue;
        }
        short r = ch_events_r(ch), w = ch_events_w(ch);
        if (ch->hup && !(r | w)) continue; /* would report POLLHUP forever */
        ch->cold = r == POLLIN && !w && ch->rfd == ch->wfd && ev.now - ch->t_io >= ALK_COLD_MS;
        evp.ncold += ch->cold;
        if (ch->rfd == ch->wfd) {
            if (r | w) ev_add(ch->rfd, (short)(r | w), K_CHR, ch);
        } else {
            if (r) ev_add(ch->rfd, r, K_CHR, ch);
            if (w) ev_add(ch->wfd, w, K_CHW, ch);
        }
    }
    for (size_t i = 0; i < ev.nssh; i++) {
        struct ssh *c = ev.ssh[i];
        if (c->dead) { /* ended in upkeep (a gate's deadline): reap it right away */
            ev_deadline(ev.now);
            continue;
        }
        if (c->err && c->ph != TP_5_CLOSING) tp_fail(c, c->err, "%s", c->why); /* set by streams */
        if (c->ph == TP_5_CLOSING && (!tp_pending(c) || ev.now >= c->t_close)) {
            c->dead = 1;
            ev_deadline(ev.now);
            continue;
        }
        short e = 0;
        if (c->tls) { /* the engine knows; it also reads while we have output to write */
            /* what the streams queued in this pass goes into the engine now:
             * the socket may be writable, but only the engine knows if it can
             * take it. Streams that stopped reading because the queue was full
             * decided before this: if it drained, they get another pass now. */
            size_t before = c->out.len;
            if (c->out.len > 0 && c->ph != TP_0_GATE && tp_tls(c, 1) < 0) {
                tp_fail(c, -E_IO, "%s", c->why);
                ev_deadline(ev.now);
                continue;
            }
            if (before >= ALK_OBUF_HIGH && c->out.len < ALK_OBUF_HIGH) ev_deadline(ev.now);
            e = tls_events(c->tls);
            if (c->ph == TP_5_CLOSING || (c->out.len >= ALK_OBUF_MAX && c->tls->up))
                e &= (short)~POLLIN;
        } else {
            if (c->ph != TP_5_CLOSING && c->out.len < ALK_OBUF_MAX) e |= POLLIN;
            if (c->out.len > 0) e |= POLLOUT;
        }
        if (c->ph == TP_0_GATE) { /* reading only; nothing when the visitor has ended */
            ev_deadline(c->gate_until);
            if (c->gate_drop != GATE_DONE) ev_add(c->fd, POLLIN, K_SSH, c);
            continue;
        }
        ev_add(c->fd, e, K_SSH, c);
        if (c->ph == TP_5_CLOSING) ev_deadline(c->t_close);
    }
    for (size_t i = 0; i < ev.nsp; i++) {
        struct splice *sp = ev.sp[i];
        if (!sp->dead && sp->connecting && ev.now >= sp->deadline) {
            sp->err = ETIMEDOUT;
            close(sp->fd[1]);
            sp->fd[1] = -1;
            sp_connect_next(sp);
        }
        if (!sp->dead && (sp->eof[0] || sp->eof[1])) {
            if (ev.now - sp->t_act >= SP_HALF_IDLE_MS) sp->dead = 1;
            ev_deadline(sp->t_act + SP_HALF_IDLE_MS);
        }
        if (sp->dead) {
            ev_deadline(ev.now);
            continue;
        }
        if (sp->connecting) ev_deadline(sp->deadline);
        for (int side = 0; side < 2; side++) {
            short e = sp_events(sp, side);
            if (e) ev_add(sp->fd[side], e, side ? K_SP1 : K_SP0, sp);
        }
    }
    for (size_t i = 0; i < ev.nlsn; i++) {
        struct lsn *l = ev.lsn[i];
        if (l->dead) continue;
        if (l->pause_until > ev.now)
            ev_deadline(l->pause_until);
        else
            ev_add(l->fd, POLLIN, K_LSN, l);
    }
    if (!evp.full) ev_deadline(next_full);
}

static void ev_dispatch(void)
{
    for (size_t i = 0; i < evp.n; i++) {
        short re = evp.pfd[i].revents;
        void *o = evp.who[i].obj;
        if (!re) continue;
        switch (evp.who[i].kind) {
        case K_SIG: {
            uint8_t b[16];
            ssize_t n = read(ev.sig[0], b, sizeof b);
            for (ssize_t j = 0; j < n; j++)
                role->on_signal(b[j]);
            break;
        }
        case K_LSN:
            lsn_accept(o);
            break;
        case K_CONN:
            role->connect_ready();
            break;
        case K_SSH: {
            struct ssh *c = o;
            if (c->dead) break;
            if (re & (POLLIN | POLLHUP | POLLERR)) tp_read(c);
            if ((re & POLLOUT) && tp_flush(c) < 0) tp_fail(c, -E_IO, "%s", c->why);
            break;
        }
        case K_SP0:
        case K_SP1:
            if (!((struct splice *)o)->dead) sp_io(o, evp.who[i].kind == K_SP1, re);
            break;
        case K_RS: {
            struct chan *ch = o;
            if (ch->dead || ch->st != CH_3_RESOLVE) break;
            rs_input(&ch->dest->rs);
            ch_dest_step(ch);
            break;
        }
        case K_CHR:
        case K_CHW: {
            struct chan *ch = o;
            if (ch->dead) break;
            if (ch->st == CH_3_CONNECT) {
                ch_dest_ready(ch);
                break;
            }
            if (ch->st == CH_3_PROXY) {
                ch_dest_proxy(ch);
                break;
            }
            ch->t_io = ev.now, ch->cold = 0;
            short want = evp.pfd[i].events;
            if ((re & POLLERR) && !(want & (POLLIN | POLLOUT))) {
                ch_local_failed(ch, ECONNRESET);
                break;
            }
            if ((re & POLLHUP) && !(want & (POLLIN | POLLOUT))) ch->hup = 1;
            if ((want & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) {
                if (ch->st == CH_1_SOCKS)
                    sx_read(ch);
                else
                    ch_local_read(ch);
            }
            if (!ch->dead && (want & POLLOUT) && (re & (POLLOUT | POLLHUP | POLLERR)))
                ch_local_write(ch);
            break;
        }
        }
    }
}

static void ev_reap(void)
{
    for (size_t i = 0; i < ev.nssh;) {
        struct ssh *c = ev.ssh[i];
        if (!c->dead) {
            i++;
            continue;
        }
        for (size_t j = 0; j < ev.nch; j++)
            if (ev.ch[j]->c == c && !ev.ch[j]->dead) ch_transport_lost(ev.ch[j]);
        ev.ssh[i] = ev.ssh[--ev.nssh];
        role->conn_lost(c);
        tp_free(c);
    }
    for (size_t i = 0; i < ev.nch;) {
        struct chan *ch = ev.ch[i];
        if (!ch->dead) {
            i++;
            continue;
        }
        role->stream_ended(ch);
        ev.ch[i] = ev.ch[--ev.nch];
        ev.ch[i]->idx = i;
        ch_free(ch);
    }
    for (size_t i = 0; i < ev.nsp;) {
        if (!ev.sp[i]->dead) {
            i++;
            continue;
        }
        sp_free(ev.sp[i]);
        ev.sp[i] = ev.sp[--ev.nsp];
    }
    for (size_t i = 0; i < ev.nlsn;) {
        struct lsn *l = ev.lsn[i];
        if (!l->dead) {
            i++;
            continue;
        }
        close(l->fd);
        free(l->host);
        free(l);
        ev.lsn[i] = ev.lsn[--ev.nlsn];
    }
}

static void ev_on_signal(int sig)
{
    uint8_t b = (uint8_t)sig;
    int e = errno;
    if (write(ev.sig[1], &b, 1) < 0) { /* pipe full: the loop is already awake */
    }
    errno = e;
}

/* poll() has no FD_SETSIZE: a tunnel takes every descriptor the hard limit
 * allows (5,000 streams need 5,000 on each end); a -- COMMAND gets the
 * limit it would have had. */
static struct rlimit ev_nofile0;
static void ev_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    ev_nofile0 = rl;
    rlim_t want =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int ev_init(void)
{
    ev_raise_nofile();
    if (pipe(ev.sig) != 0) return -1;
    net_nonblock(ev.sig[0]);
    net_nonblock(ev.sig[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ev_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    int sigs[] = {SIGINT, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGHUP};
    for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
        sigaction(sigs[i], &sa, NULL);
    return 0;
}

/* Runs passes until the client says stop. */
static void ev_run(void)
{
    while (!ev.quit) {
        ev_build();
        if (ev.quit) break;
        int timeout = -1;
        if (evp.wake) {
            int64_t d = evp.wake - ev.now;
            timeout = d <= 0 ? 0 : d > 60000 ? 60000 : (int)d;
        }
        int ready = poll(evp.pfd, (nfds_t)evp.n, timeout);
        if (ready < 0 && errno != EINTR) {
            say("poll: %s", strerror(errno));
            break;
        }
        evp.idle = ready <= 0;
        ev.now = now_ms();
        ev_dispatch();
        ev_reap();
    }
}

/* ==================== SECTION 16: client (cl_) ==================== */

/*
 * `alknet connect`: listeners and streams are the loop's; the client owns
 * the one transport to the server and decides what its end means: an exit
 * code before authentication, a lost connection after it. Streams that
 * arrive before the transport is open wait (CH_2_WAIT) and are opened when
 * it is.
 */
struct fwd {
    char *lhost;
    unsigned lport;
    char *host;
    unsigned port;
};

struct cfg {
    char *user, *host;
    unsigned port;
    char *identity;
    struct fwd *dyn; /* -D: lhost/lport only */
    size_t ndyn;
    struct fwd *loc; /* -L */
    size_t nloc;
    char *stdio_host; /* -W */
    unsigned stdio_port;
    char **command; /* after -- */
    char *pin, *known_hosts;
    int accept_new, check;
    char *socks_user, *socks_pass;
    char *ciphers;
    unsigned keepalive;       /* seconds; 0 = off */
    unsigned keepalive_count; /* unanswered ones that end the connection */
    int keepalive_given;
    uint64_t rekey_bytes; /* --rekey-limit SIZE [SECS]; 0: the defaults */
    unsigned rekey_secs;
    uint64_t window_budget; /* --window-budget; 0: the default */
    int no_reconnect;
    int tls; /* --tls */
    char *sni, *tls_ca, *tls_pin, *alpn, *proxy;
    int sni_given;        /* --sni "" means none */
    char *file, *comment; /* keygen, pubkey */
    /* serve */
    struct fwd *lst; /* -l: lhost/lport */
    size_t nlst;
    struct fwd *tlst; /* --tls-listen */
    size_t ntlst;
    char *tls_cert, *tls_key, *fallback, *banner, *outbound;
    char *host_key_file, *auth_keys, *dns, *config;
    struct {
        int allow;
        char *text;
    } * rules; /* --allow/--deny, in order */
    size_t nrules;
    int rules_from_cli; /* the command line gave rules: the file's are not used */
    unsigned max_startups, login_grace, max_channels;
    int verbose, quiet, use_syslog;
};
static struct cfg cfg;

/* What the command line says about every connection, in either role. */
static void tp_apply_cfg(struct ssh *c)
{
    c->keepalive_ms = (int64_t)cfg.keepalive * 1000;
    c->ka_count = cfg.keepalive_count;
    if (cfg.rekey_bytes) c->rekey_bytes = cfg.rekey_bytes;
    if (cfg.rekey_secs) c->rekey_ms = (int64_t)cfg.rekey_secs * 1000;
}

static struct {
    struct ssh *c;          /* the transport, while there is one */
    struct rs *rs;          /* looking the server's (or --proxy's) name up */
    struct net_addrs addrs; /* its addresses, from the last lookup that found any */
    unsigned next;          /* the next one to try */
    int cfd;                /* connect() in progress */
    int64_t cdeadline;
    char cerr[160];   /* last connect error */
    char target[300]; /* "host:port" for messages */
    int ready;        /* authenticated (once) */
    int up;           /* the transport we have now is authenticated */
    int lost;         /* the connection ended after that, and is not back */
    int64_t t_lost;   /* since when */
    unsigned attempt; /* reconnection attempts since */
    int64_t retry_at; /* the next one, or 0 */
    int64_t backoff;  /* its base delay in ms, doubling to ALK_RETRY_MAX_MS */
    int done;         /* finished: exit with `code` */
    int code;
    struct key id;
    char socks_url[80]; /* ALL_PROXY for -- COMMAND: the first SOCKS listener */
    pid_t child;
    int fl0, fl1; /* stdin/stdout flags before -W changed them */
    char known_hosts2[PATH_MAX];
    struct px_cfg pxc; /* --proxy */
    struct px *px;     /* its handshake on cfd, once connected */
} cl; /* zero: .bss, not 7 KiB of .data in the binary; cl_run sets what must start at -1 */

/* The --proxy handshake is over. */
static void cl_drop_px(void)
{
    if (cl.px) wipe(cl.px, sizeof *cl.px), free(cl.px), cl.px = NULL;
}
/* Gives up the connect() (and proxy handshake) under way, if any. */
static void cl_drop_connect(void)
{
    if (cl.cfd >= 0) close(cl.cfd);
    cl.cfd = -1;
    cl_drop_px();
}

static void cl_finish(int code)
{
    if (!cl.done) cl.done = 1, cl.code = code;
    struct ssh *c = cl.c;
    cl_drop_connect();
    if (cl.rs) rs_free(cl.rs), free(cl.rs), cl.rs = NULL;
    if (c && c->ph != TP_5_CLOSING) tp_fail(c, -E_LOCAL, "client exiting");
    if (!c) ev.quit = 1;
}

/* Exit code for a transport that ended before authentication. */
static int cl_exit_for(const struct ssh *c)
{
    switch (-c->err) {
    case E_HOSTKEY:
        return ALK_EXIT_HOSTKEY;
    case E_AUTH:
        return ALK_EXIT_AUTH;
    case E_PROTO:
    case E_MAC:
    case E_ALGO:
    case E_LIMIT:
        return ALK_EXIT_PROTOCOL;
    case E_DISC:
        if (c->disc == DISC_NO_MORE_AUTH_METHODS) return ALK_EXIT_AUTH;
        if (c->disc == DISC_HOST_KEY_NOT_VERIFIABLE) return ALK_EXIT_HOSTKEY;
        if (c->disc == DISC_PROTOCOL_ERROR || c->disc == DISC_KEY_EXCHANGE_FAILED ||
            c->disc == DISC_MAC_ERROR)
            return ALK_EXIT_PROTOCOL;
        return ALK_EXIT_UNREACH;
    default:
        return ALK_EXIT_UNREACH;
    }
}

/*
 * Reconnection (spec 4): after the connection was up once, a long-running
 * client (-D, -L, a command) keeps its listeners and tries again after
 * 0.5-1 s, then after twice as long each time up to 30-60 s; SIGHUP or
 * SIGUSR2 makes it try at once. -W, --check and --no-reconnect end instead.
 */
static int cl_may_reconnect(void) { return !cfg.no_reconnect && !cfg.check && !cfg.stdio_host; }

static void cl_retry_later(const char *why)
{
    cl.backoff = cl.backoff ? MIN(cl.backoff * 2, ALK_RETRY_MAX_MS) : ALK_RETRY_MIN_MS;
    int64_t wait = cl.backoff / 2 + rnd_below((uint32_t)(cl.backoff / 2) + 1);
    cl.retry_at = ev.now + wait;
    LOG(L_INFO, 0, "%s; trying again in %lld.%lld s", why, (long long)wait / 1000,
        (long long)wait % 1000 / 100);
}

/* The server could not be reached: exit 3, or try again later. */
static void cl_unreachable(const char *why)
{
    if (cl.lost && cl_may_reconnect()) {
        char b[400];
        fmt_s(b, sizeof b, "reconnection attempt %u failed: %s", cl.attempt, why);
        cl_retry_later(b);
        return;
    }
    say("%s", why);
    cl_finish(ALK_EXIT_UNREACH);
}

/* Starts connect() to the next address; on running out, gives up. */
static void cl_connect_next(void)
{
    while (cl.next < cl.addrs.n) {
        int fd = net_connect(&cl.addrs.a[cl.next++]);
        if (fd >= 0) {
            cl.cfd = fd;
            cl.cdeadline = ev.now + ALK_CONNECT_TIMEOUT_MS;
            return;
        }
        fmt_s(cl.cerr, sizeof cl.cerr, "%s", strerror(errno));
    }
    char why[600];
    if (cfg.proxy)
        fmt_s(why, sizeof why, "cannot connect to the proxy %s (for %s): %s", cl.pxc.shown,
              cl.target, cl.cerr[0] ? cl.cerr : "no address");
    else
        fmt_s(why, sizeof why, "cannot connect to %s: %s", cl.target,
              cl.cerr[0] ? cl.cerr : "no address");
    cl_unreachable(why);
}

/*
 * Every attempt starts by looking the name up again, without blocking (the
 * resolver of SECTION 12a, with /etc/hosts and a fresh resolv.conf, or
 * --dns): a server behind dynamic DNS may have moved while the link was
 * down. A lookup that fails after the first success keeps the addresses
 * known before.
 */
static void cl_resolve_step(void)
{
    struct rs *q = cl.rs;
    if (!q->done) return;
    const char *host = cfg.proxy ? cl.pxc.host : cfg.host;
    unsigned port = cfg.proxy ? cl.pxc.port : cfg.port;
    char why[400];
    if (q->result == RS_OK && q->n) {
        struct net_addrs a;
        memset(&a, 0, sizeof a);
        for (unsigned i = 0; i < q->n && a.n < NET_ADDRS_MAX; i++)
            dns_sockaddr(q->addr[i].family, q->addr[i].a, port, &a.a[a.n++]);
        if (cl.addrs.n && memcmp(&a, &cl.addrs, sizeof a) != 0) {
            char was[64], now[64];
            net_addr_str((struct sockaddr *)&cl.addrs.a[0], was, sizeof was);
            net_addr_str((struct sockaddr *)&a.a[0], now, sizeof now);
            LOG(L_INFO, 0, "%s now resolves to %s (was %s)", host, now, was);
        }
        cl.addrs = a;
    } else {
        rs_why(q, why, sizeof why);
        if (!cl.addrs.n || !cl.lost) {
            rs_free(q), free(q), cl.rs = NULL;
            if (cfg.proxy) fmt_s(why + strlen(why), sizeof why - strlen(why), " (the proxy)");
            cl_unreachable(why);
            return;
        }
        LOG(L_INFO, 0, "%s; trying the addresses it had", why);
    }
    rs_free(q), free(q), cl.rs = NULL;
    cl.next = 0;
    cl.cerr[0] = 0;
    cl_connect_next();
}
static void cl_resolve(void)
{
    rs_load_conf();
    cl.rs = xcalloc(1, sizeof *cl.rs);
    rs_start(cl.rs, cfg.proxy ? cl.pxc.host : cfg.host);
    cl_resolve_step();
}

/* The TCP connection is up: start SSH on it. */
static void cl_connected(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char peer[64] = "?";
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        net_addr_str((struct sockaddr *)&ss, peer, sizeof peer);
    net_nodelay(fd);
    struct ssh *c = tp_new(fd, 0, peer);
    c->ciphers = cfg.ciphers;
    c->user = cfg.user;
    c->ident = &cl.id;
    c->host = cfg.host;
    c->port = cfg.port;
    c->pin = cfg.pin;
    c->known_hosts = cfg.known_hosts;
    c->known_hosts2 = cl.known_hosts2[0] ? cl.known_hosts2 : NULL;
    c->accept_new = cfg.accept_new;
    c->grace_ms = ALK_HANDSHAKE_TIMEOUT_MS;
    tp_apply_cfg(c);
    if (cfg.tls) {
        /* SNI: --sni, else the host name (RFC 6066 3: never an IP address) */
        uint8_t a[16];
        const char *sni =
            cfg.sni_given ? cfg.sni
            : inet_pton(AF_INET, cfg.host, a) == 1 || inet_pton(AF_INET6, cfg.host, a) == 1
                ? NULL
                : cfg.host;
        c->tls = tls_new_client(sni);
    }
    cl.c = c;
    ev_add_conn(c);
    LOG(L_DEBUG, c->id, "connected to %s (%s%s%s)%s", cl.target, peer, cfg.proxy ? " through " : "",
        cfg.proxy ? cl.pxc.shown : "", cfg.tls ? ", TLS" : "");
    tp_send_version(c); /* with TLS, queued until the handshake is done */
    kex_start(c);
    if (c->tls && tp_flush(c) < 0) tp_fail(c, c->err, "%s", c->why); /* the ClientHello */
}

static void cl_spawn(void)
{
    const char *proxy = cl.socks_url;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        say("cannot run %s: fork: %s", cfg.command[0], strerror(errno));
        cl_finish(ALK_EXIT_FAIL);
        return;
    }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGUSR1, SIG_DFL);
        signal(SIGUSR2, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        if (ev_nofile0.rlim_cur) setrlimit(RLIMIT_NOFILE, &ev_nofile0);
        setenv("ALL_PROXY", proxy, 1);
        setenv("all_proxy", proxy, 1);
        execvp(cfg.command[0], cfg.command);
        fmt_to(stderr, "alknet: cannot run %s: %s\n", cfg.command[0], strerror(errno));
        _exit(127);
    }
    cl.child = pid;
    LOG(L_DEBUG, 0, "started %s (pid %ld) with ALL_PROXY=%s", cfg.command[0], (long)pid, proxy);
}

/* The connect() in progress finished, one way or the other; or, with
 * --proxy, its handshake moved on. */
static void cl_conn_ready(void)
{
    int e = 0, fd = cl.cfd;
    socklen_t el = sizeof e;
    if (cl.rs) { /* the lookup's answer came */
        rs_input(cl.rs);
        cl_resolve_step();
        return;
    }
    if (fd < 0) return;
    if (cl.px) {
        int r = px_io(cl.px, fd);
        if (r == 0) return;
        if (r < 0) {
            char why[600];
            fmt_s(why, sizeof why, "cannot reach %s: %s", cl.target, cl.px->why);
            cl_drop_connect();
            cl_unreachable(why);
            return;
        }
        cl.cfd = -1; /* the transport's now */
        cl_drop_px();
        cl_connected(fd);
        return;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    if (e == 0 && cfg.proxy) { /* the proxy's turn: it connects us to the server */
        net_nodelay(fd);
        cl.px = xcalloc(1, sizeof *cl.px);
        px_start(cl.px, &cl.pxc, cfg.host, cfg.port);
        cl.cdeadline = ev.now + ALK_CONNECT_TIMEOUT_MS;
        LOG(L_DEBUG, 0, "connected to the proxy %s; asking for %s", cl.pxc.shown, cl.target);
        cl_conn_ready();
        return;
    }
    cl.cfd = -1;
    if (e == 0) {
        cl_connected(fd);
        return;
    }
    fmt_s(cl.cerr, sizeof cl.cerr, "%s", strerror(e));
    close(fd);
    cl_connect_next();
}

/* Once per pass: connection progress, what authentication unlocks, and
 * the streams waiting for the transport. */
static void cl_service(void)
{
    struct ssh *c = cl.c;
    int open = c && c->ph == TP_4_OPEN;
    if (cl.lost && !open) {
        /* no transport: a stream that wants one fails at once, or waits a
         * bounded time for the reconnection */
        for (size_t i = 0; i < ev.nch; i++) {
            struct chan *ch = ev.ch[i];
            if (ch->st != CH_2_WAIT || ch->dead) continue;
            if (!cl_may_reconnect()) {
                if (ch->kind == CK_SOCKS) sx_reply(ch, 1);
                ch->failed = 1;
                ch_finish(ch, 1);
            } else if (!ch->deadline || ch->deadline > ev.now + ALK_OUTAGE_WAIT_MS) {
                ch->deadline = ev.now + ALK_OUTAGE_WAIT_MS;
            }
        }
    }
    if (!c && cl.retry_at && !cl.done && ev.now >= cl.retry_at) {
        cl.retry_at = 0;
        cl.attempt++;
        LOG(L_INFO, 0, "reconnecting to %s (attempt %u)", cl.target, cl.attempt);
        cl_resolve(); /* a lookup under way, a connect(), or the next retry set */
    }
    if (cl.rs) {
        rs_service(cl.rs);
        cl_resolve_step();
    }
    if (cl.rs) {
        if (cl.rs->fd >= 0) ev_add(cl.rs->fd, POLLIN, K_CONN, NULL);
        ev_deadline(MIN(cl.rs->resend, cl.rs->deadline));
        return;
    }
    if (cl.retry_at) { /* waiting to try again */
        ev_deadline(cl.retry_at);
        return;
    }
    if (cl.cfd >= 0) {
        if (ev.now >= cl.cdeadline && cl.px) {
            char why[600];
            fmt_s(why, sizeof why, "cannot reach %s: proxy %s: no answer within %d s", cl.target,
                  cl.pxc.shown, ALK_CONNECT_TIMEOUT_MS / 1000);
            cl_drop_connect();
            cl_unreachable(why);
            return;
        }
        if (ev.now >= cl.cdeadline) {
            fmt_s(cl.cerr, sizeof cl.cerr, "connection timed out");
            close(cl.cfd);
            cl.cfd = -1;
            cl_connect_next();
        }
        if (cl.cfd >= 0) {
            ev_add(cl.cfd, cl.px ? px_events(cl.px) : POLLOUT, K_CONN, NULL);
            ev_deadline(cl.cdeadline);
        }
        return;
    }
    if (!open) return;
    if (!cl.up) {
        cl.up = 1;
        if (cl.lost)
            LOG(L_INFO, c->id, "reconnected to %s after %lld s (attempt %u)", cl.target,
                (long long)(ev.now - cl.t_lost) / 1000, cl.attempt);
        cl.lost = 0, cl.attempt = 0, cl.backoff = 0;
    }
    if (!cl.ready) {
        cl.ready = 1;
        if (cfg.check) {
            char fp[KEY_FP_LEN];
            key_fp(c->hostkey, fp);
            fmt_to(stdout, "ok %s user %s host key %s cipher %s time %lld ms\n", cl.target,
                   cfg.user, fp, c->tx.alg->name, (long long)(ev.now - c->t_start));
            fflush(stdout);
            cl_finish(ALK_EXIT_OK);
            return;
        }
        if (cfg.command) cl_spawn();
    }
    for (size_t i = 0; i < ev.nch; i++) {
        struct chan *ch = ev.ch[i];
        if (ch->st == CH_2_WAIT && !ch->dead) ch_send_open(ch, c);
    }
}

/* The transport ended (reaped). */
static void cl_lost(struct ssh *c)
{
    int was_up = cl.up;
    cl.c = NULL;
    cl.up = 0;
    if (cl.done) {
        ev.quit = 1;
        return;
    }
    const char *what = c->err == -E_HOSTKEY ? "host key not trusted"
                       : c->err == -E_AUTH  ? "authentication refused"
                                            : "connection failed";
    /* a host key or a key the server no longer takes is for a person to
     * fix, not for retrying; anything else on the way up is retried */
    if (!cl.ready || (!was_up && (c->err == -E_HOSTKEY || c->err == -E_AUTH))) {
        say("%s: %s: %s", cl.target, what, c->why);
        cl_finish(cl_exit_for(c));
        return;
    }
    if (!was_up) { /* a reconnection attempt that did not make it */
        char why[600];
        fmt_s(why, sizeof why, "%s: %s: %s", cl.target, what, c->why);
        cl_unreachable(why);
        return;
    }
    say("lost the connection to %s: %s", cl.target, c->why);
    cl.lost = 1; /* streams waiting now, or arriving later, wait or fail (cl_service) */
    cl.t_lost = ev.now;
    if (cl_may_reconnect()) {
        cl_retry_later("streams that were open have been reset");
        return;
    }
    if (cl.child > 0) return; /* the command decides when we are done */
    cl_finish(ALK_EXIT_UNREACH);
}

static void cl_on_signal(int sig)
{
    if (sig == SIGCHLD && cl.child > 0) {
        int st;
        if (waitpid(cl.child, &st, WNOHANG) == cl.child) {
            cl.child = 0;
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            LOG(L_DEBUG, 0, "%s exited with status %d", cfg.command[0], code);
            cl_finish(code);
        }
    } else if (sig == SIGINT || sig == SIGTERM) {
        if (cl.child > 0) {
            /* Ctrl-C reaches the command by itself; pass SIGTERM on */
            if (sig == SIGTERM) kill(cl.child, SIGTERM);
            return;
        }
        LOG(L_INFO, 0, "signal %d: exiting", sig);
        cl_finish(ALK_EXIT_OK);
    } else if (sig == SIGHUP || sig == SIGUSR2) {
        if (!cl_may_reconnect()) {
            if (sig == SIGUSR2) return;
            LOG(L_INFO, 0, "signal %d: exiting", sig); /* a hangup, as for ssh */
            if (cl.child > 0) kill(cl.child, SIGHUP);
            cl_finish(ALK_EXIT_OK);
        } else if (cl.retry_at) {
            LOG(L_INFO, 0, "signal %d: reconnecting now", sig);
            cl.retry_at = ev.now, cl.backoff = 0;
        } else {
            LOG(L_INFO, 0, "signal %d: %s", sig,
                cl.up ? "connected; nothing to do" : "a connection attempt is under way");
        }
    } else if (sig == SIGUSR1) {
        struct ssh *c = cl.c;
        LOG(L_INFO, 0, "status: %s, %zu streams, %llu bytes out, %llu in",
            !c ? (cl.retry_at ? "reconnecting" : "not connected") : tp_phase_name[c->ph], ev.nch,
            c ? (unsigned long long)c->tx_total : 0ull, c ? (unsigned long long)c->rx_total : 0ull);
        ch_dump();
    }
}

/* The stdio stream (-W) decides the exit code when it ends: 0 after a
 * normal end, 7 if it never opened, 4 if it broke. */
static void cl_stdio_ended(const struct chan *ch)
{
    if (ch->kind != CK_STDIO) return;
    int opened = ch->st >= CH_4_OPEN;
    cl_finish(!opened ? ALK_EXIT_FORWARD : ch->failed ? ALK_EXIT_UNREACH : ALK_EXIT_OK);
}

/* ALL_PROXY for -- COMMAND, from the SOCKS listener's own address (a
 * wildcard one is reached on loopback). */
static void cl_proxy_url(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char hp[INET6_ADDRSTRLEN + 8] = "127.0.0.1:1080";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        struct sockaddr_in *s4 = (void *)&ss;
        struct sockaddr_in6 *s6 = (void *)&ss;
        if (ss.ss_family == AF_INET && s4->sin_addr.s_addr == htonl(INADDR_ANY))
            s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
            s6->sin6_addr = in6addr_loopback;
        net_addr_str((struct sockaddr *)&ss, hp, sizeof hp);
    }
    fmt_s(cl.socks_url, sizeof cl.socks_url, "socks5h://%s", hp);
}

/* Binds a listener; failures are fatal at start-up (exit 7). */
static int cl_listen(const char *host, unsigned port, uint8_t kind, const char *dhost,
                     unsigned dport)
{
    char err[300];
    int fd = net_listen(host, port, err, sizeof err);
    if (fd < 0) {
        say("%s", err);
        return -1;
    }
    struct lsn *l = lsn_new(fd, kind);
    unsigned bound = net_local_port(fd);
    net_hostport(l->name, sizeof l->name, host, bound);
    if (dhost) l->host = xstrdup(dhost), l->port = dport;
    if (kind == CK_SOCKS) {
        if (!cl.socks_url[0]) cl_proxy_url(fd);
        struct sockaddr_storage a;
        if (rs_numeric(host, 0, &a) != 0 || !net_is_loopback((struct sockaddr *)&a)) {
            if (!sx_cfg.user)
                LOG(L_WARN, 0,
                    "SOCKS listener %s is not on loopback and has no --socks-auth: "
                    "anyone who can reach it can use your tunnel",
                    l->name);
        }
        LOG(L_DEBUG, 0, "SOCKS5h on %s", l->name);
    } else {
        LOG(L_DEBUG, 0, "forwarding %s to %s:%u", l->name, dhost, dport);
    }
    return 0;
}

/* --tls-ca, --tls-pin, --alpn, --proxy. 0, or an exit code. */
static int cl_tls_setup(void)
{
    char err[PATH_MAX + 128];
    if (cfg.alpn) tlsc.alpn = cfg.alpn;
    if (cfg.tls_ca && tls_load_ca(cfg.tls_ca, err, sizeof err) != 0) {
        say("%s", err);
        return ALK_EXIT_CONFIG;
    }
    if (cfg.tls_pin) {
        b64_dec(tlsc.pin, sizeof tlsc.pin, cfg.tls_pin + 7, strlen(cfg.tls_pin + 7));
        tlsc.have_pin = 1;
    }
    const char *bad;
    if (cfg.proxy && px_parse(cfg.proxy, &cl.pxc, &bad) != 0) {
        say("--proxy: %s", bad);
        return ALK_EXIT_USAGE;
    }
    return 0;
}

static int cl_run(void)
{
    cl.cfd = cl.fl0 = cl.fl1 = -1;
    char err[PATH_MAX + 256];
    /* identity: -i, else ~/.alknet/id_ed25519, else ~/.ssh/id_ed25519 */
    char path[PATH_MAX];
    if (cfg.identity) {
        fmt_s(path, sizeof path, "%s", cfg.identity);
    } else {
        fmt_s(path, sizeof path, "%s/.alknet/id_ed25519", home_dir());
        if (access(path, F_OK) != 0) {
            fmt_s(path, sizeof path, "%s/.ssh/id_ed25519", home_dir());
            if (access(path, F_OK) != 0) {
                say("no identity: neither %s/.alknet/id_ed25519 nor %s exists; create one with "
                    "alknet keygen, or give one with -i FILE",
                    home_dir(), path);
                return ALK_EXIT_CONFIG;
            }
        }
    }
    if (key_load(path, &cl.id, err, sizeof err) != 0) {
        say("%s", err);
        return ALK_EXIT_CONFIG;
    }
    if (!cfg.known_hosts) {
        char kh[PATH_MAX];
        fmt_s(kh, sizeof kh, "%s/.alknet/known_hosts", home_dir());
        cfg.known_hosts = xstrdup(kh);
        fmt_s(cl.known_hosts2, sizeof cl.known_hosts2, "%s/.ssh/known_hosts", home_dir());
    }
    net_hostport(cl.target, sizeof cl.target, cfg.host, cfg.port);
    sx_cfg.user = cfg.socks_user, sx_cfg.pass = cfg.socks_pass;
    int rc = cl_tls_setup();
    if (rc) return rc;
    if (ev_init() != 0) {
        say("cannot create a pipe: %s", strerror(errno));
        return ALK_EXIT_FAIL;
    }
    /* listeners first, so that a busy port fails before we connect */
    int want_socks = !cfg.check && !cfg.stdio_host && !cfg.nloc && !cfg.ndyn;
    if (cfg.command && !cfg.ndyn) {
        if (cl_listen("127.0.0.1", 0, CK_SOCKS, NULL, 0) != 0) return ALK_EXIT_FORWARD;
    } else if (want_socks && !cfg.command) {
        if (cl_listen("127.0.0.1", 1080, CK_SOCKS, NULL, 0) != 0) return ALK_EXIT_FORWARD;
    }
    for (size_t i = 0; i < cfg.ndyn; i++)
        if (cl_listen(cfg.dyn[i].lhost, cfg.dyn[i].lport, CK_SOCKS, NULL, 0) != 0)
            return ALK_EXIT_FORWARD;
    for (size_t i = 0; i < cfg.nloc; i++)
        if (cl_listen(cfg.loc[i].lhost, cfg.loc[i].lport, CK_LOCAL, cfg.loc[i].host,
                      cfg.loc[i].port) != 0)
            return ALK_EXIT_FORWARD;
    if (cfg.stdio_host) {
        /* stdin/stdout are shared with our caller (often a terminal):
         * their flags are put back on the way out */
        cl.fl0 = fcntl(0, F_GETFL);
        cl.fl1 = fcntl(1, F_GETFL);
        if (cl.fl0 >= 0) fcntl(0, F_SETFL, cl.fl0 | O_NONBLOCK);
        if (cl.fl1 >= 0) fcntl(1, F_SETFL, cl.fl1 | O_NONBLOCK);
        struct chan *ch = ch_new(0, 1, CK_STDIO);
        ch->host = xstrdup(cfg.stdio_host);
        ch->port = cfg.stdio_port;
        ch->st = CH_2_WAIT;
    }
    if (rs_apply_dns(cfg.dns) != 0) return ALK_EXIT_USAGE;
    static const struct ev_role client_role = {cl_service, cl_on_signal, cl_lost, cl_stdio_ended,
                                               cl_conn_ready};
    role = &client_role;
    ev.now = now_ms();
    /* through a proxy, the proxy resolves the server's name: we resolve the proxy's */
    cl_resolve();
    ev_run();
    if (cl.child > 0) { /* our end came first: do not leave the command behind */
        kill(cl.child, SIGTERM);
        waitpid(cl.child, NULL, 0);
    }
    if (cfg.stdio_host) {
        if (cl.fl0 >= 0) fcntl(0, F_SETFL, cl.fl0);
        if (cl.fl1 >= 0) fcntl(1, F_SETFL, cl.fl1);
    }
    WIPE(cl.id);
    WIPE(cl.pxc);
    tls_cfg_free();
    return cl.code;
}

/* ==================== SECTION 17: command line, config (cfg_) ==================== */

/*
 * One table describes every option: the argv parser, the -F file parser
 * and --help all read it, so they cannot drift apart. A config file holds
 * "keyword value" lines named after the long options (spec 6); options
 * given on the command line win over the file.
 */
enum cmd { C_KEYGEN = 1, C_PUBKEY = 2, C_CONNECT = 4, C_SERVE = 8 };
enum opt_id {
    O_PORT,
    O_CONFIG,
    O_IDENTITY,
    O_DYNAMIC,
    O_LOCAL,
    O_STDIO,
    O_HOSTKEY,
    O_KNOWN_HOSTS,
    O_ACCEPT_NEW,
    O_SOCKS_AUTH,
    O_CHECK,
    O_CIPHERS,
    O_KEEPALIVE,
    O_VERBOSE,
    O_QUIET,
    O_SYSLOG,
    O_FILE,
    O_COMMENT,
    O_HELP,
    O_LISTEN,
    O_HOSTKEY_FILE,
    O_AUTH_KEYS,
    O_ALLOW,
    O_DENY,
    O_DNS,
    O_MAX_STARTUPS,
    O_LOGIN_GRACE,
    O_MAX_CHANNELS,
    O_TLS,
    O_SNI,
    O_TLS_CA,
    O_TLS_PIN,
    O_ALPN,
    O_PROXY,
    O_TLS_LISTEN,
    O_TLS_CERT,
    O_TLS_KEY,
    O_FALLBACK,
    O_BANNER,
    O_OUTBOUND,
    O_KEEPALIVE_COUNT,
    O_REKEY_LIMIT,
    O_WINDOW_BUDGET,
    O_NO_RECONNECT,
    O_COUNT
};
struct opt {
    uint8_t id;
    char sh;          /* short form, or 0 */
    const char *name; /* long form and config keyword */
    const char *arg;  /* NULL for a flag */
    uint8_t cmds;     /* commands it applies to */
    const char *help;
};
static const struct opt opts[] = {
    {O_PORT, 'p', "port", "PORT", C_CONNECT, "server port (default 22; HOST:PORT works too)"},
    {O_CONFIG, 'F', "config", "FILE", C_CONNECT | C_SERVE,
     "read options from FILE (keyword value lines)"},
    {O_LISTEN, 'l', "listen", "ADDR:PORT", C_SERVE,
     "SSH listener, repeatable (default 0.0.0.0:2222 when no listener is given)"},
    {O_TLS_LISTEN, 0, "tls-listen", "ADDR:PORT", C_SERVE, "SSH-over-TLS listener, repeatable"},
    {O_TLS_CERT, 0, "tls-cert", "FILE", C_SERVE,
     "certificate chain for the TLS listeners (PEM, end entity first)"},
    {O_TLS_KEY, 0, "tls-key", "FILE", C_SERVE,
     "its RSA or EC private key (PEM); without both, a self-signed certificate is made at start"},
    {O_FALLBACK, 0, "fallback", "HOST:PORT", C_SERVE,
     "splice visitors that are not SSH clients (or lack our TLS ALPN) to this backend"},
    {O_BANNER, 0, "banner", "TEXT", C_SERVE,
     "SSH identification string to present (default SSH-2.0-alknet_" ALK_VERSION ")"},
    {O_OUTBOUND, 0, "outbound", "URL", C_SERVE,
     "connect to destinations through socks5://[USER:PASS@]HOST:PORT (names unresolved) or "
     "http://[USER:PASS@]HOST:PORT"},
    {O_HOSTKEY_FILE, 'k', "host-key", "FILE", C_SERVE,
     "host key, created 0600 on first start (default ~/.alknet/host_ed25519)"},
    {O_AUTH_KEYS, 'a', "authorized-keys", "FILE", C_SERVE,
     "client keys, OpenSSH format (default ~/.alknet/authorized_keys); needs at least one"},
    {O_ALLOW, 0, "allow", "RULE", C_SERVE,
     "allow destinations: CIDR, IP, host pattern, each with :PORT or :LOW-HIGH; repeatable"},
    {O_DENY, 0, "deny", "RULE", C_SERVE,
     "deny destinations (same forms); the first matching rule decides, then the default: "
     "no loopback, private, link-local, CGNAT or unique-local addresses"},
    {O_DNS, 0, "dns", "ADDR[:PORT]", C_CONNECT | C_SERVE,
     "name server to use instead of /etc/resolv.conf"},
    {O_MAX_STARTUPS, 0, "max-startups", "N", C_SERVE,
     "connections that may be authenticating at once (default 32)"},
    {O_LOGIN_GRACE, 0, "login-grace", "SECS", C_SERVE,
     "time a connection has to authenticate (default 30)"},
    {O_MAX_CHANNELS, 0, "max-channels", "N", C_SERVE, "streams per connection (default 16384)"},
    {O_IDENTITY, 'i', "identity", "FILE", C_CONNECT,
     "private key (default ~/.alknet/id_ed25519, then ~/.ssh/id_ed25519)"},
    {O_DYNAMIC, 'D', "dynamic", "[ADDR:]PORT", C_CONNECT,
     "SOCKS5h listener, repeatable (default 127.0.0.1:1080 when nothing else is asked)"},
    {O_LOCAL, 'L', "local", "[ADDR:]PORT:HOST:HOSTPORT", C_CONNECT, "local forward, repeatable"},
    {O_STDIO, 'W', "stdio", "HOST:PORT", C_CONNECT,
     "join stdin/stdout to one stream and exit when it ends (for ssh ProxyCommand)"},
    {O_TLS, 0, "tls", NULL, C_CONNECT,
     "SSH over TLS (an alknet --tls-listen port); default port 443"},
    {O_SNI, 0, "sni", "NAME", C_CONNECT,
     "TLS server name to send (default: HOST unless it is an IP address; \"\" for none)"},
    {O_TLS_CA, 0, "tls-ca", "FILE", C_CONNECT,
     "check the server's TLS certificate against these CA certificates (PEM)"},
    {O_TLS_PIN, 0, "tls-pin", "SHA256:...", C_CONNECT,
     "accept only a TLS certificate with this key (the server logs it at start)"},
    {O_ALPN, 0, "alpn", "NAME", C_CONNECT | C_SERVE,
     "TLS ALPN protocol name, the same on both ends (default alknet-ssh)"},
    {O_PROXY, 0, "proxy", "URL", C_CONNECT,
     "reach the server through socks5://[USER:PASS@]HOST:PORT or http://[USER:PASS@]HOST:PORT"},
    {O_HOSTKEY, 0, "host-key", "SHA256:...", C_CONNECT, "pin the server's host key"},
    {O_KNOWN_HOSTS, 0, "known-hosts", "FILE", C_CONNECT,
     "known hosts file (default ~/.alknet/known_hosts; ~/.ssh/known_hosts is also read)"},
    {O_ACCEPT_NEW, 0, "accept-new", NULL, C_CONNECT,
     "record an unknown host key (still refuse a changed one)"},
    {O_SOCKS_AUTH, 0, "socks-auth", "USER:PASS", C_CONNECT,
     "require this RFC 1929 user and password on the SOCKS listeners"},
    {O_CHECK, 0, "check", NULL, C_CONNECT, "connect, authenticate, report and exit"},
    {O_CIPHERS, 'c', "ciphers", "C1[,C2...]", C_CONNECT | C_SERVE,
     "cipher preference (default: the fastest for this CPU first)"},
    {O_KEEPALIVE, 0, "keepalive", "SECS", C_CONNECT | C_SERVE,
     "probe the peer after SECS of silence (default 30; 0: off)"},
    {O_KEEPALIVE_COUNT, 0, "keepalive-count", "N", C_CONNECT | C_SERVE,
     "unanswered probes that end the connection (default 3): a dead path is noticed "
     "within (N + 1) x SECS"},
    {O_REKEY_LIMIT, 0, "rekey-limit", "SIZE [SECS]", C_CONNECT | C_SERVE,
     "start a new key exchange after SIZE bytes either way (K, M, G) or SECS "
     "(s, m, h suffixes; default 1G 1h)"},
    {O_WINDOW_BUDGET, 0, "window-budget", "SIZE", C_CONNECT | C_SERVE,
     "most data all streams together may hold for slow readers (default 64M)"},
    {O_NO_RECONNECT, 0, "no-reconnect", NULL, C_CONNECT,
     "exit when the connection to the server is lost, instead of reconnecting"},
    {O_VERBOSE, 'v', "verbose", NULL, C_CONNECT | C_SERVE,
     "more detail in the log (-vv: even more)"},
    {O_QUIET, 'q', "quiet", NULL, C_CONNECT | C_SERVE, "log errors only"},
    {O_SYSLOG, 0, "syslog", NULL, C_CONNECT | C_SERVE,
     "log to syslog (daemon facility) instead of stderr"},
    {O_FILE, 'f', "file", "FILE", C_KEYGEN | C_PUBKEY,
     "key file (default ~/.alknet/id_ed25519; pubkey then tries ~/.ssh/id_ed25519 and also reads "
     ".pub files)"},
    {O_COMMENT, 'C', "comment", "COMMENT", C_KEYGEN, "key comment (default user@host)"},
    {O_HELP, 'h', "help", NULL, C_KEYGEN | C_PUBKEY | C_CONNECT | C_SERVE, "show this help"},
};

static const struct {
    const char *name;
    enum cmd cmd;
    const char *synopsis, *what;
} cmds[] = {
    {"keygen", C_KEYGEN, "keygen [-f FILE] [-C COMMENT]",
     "make an OpenSSH-format ed25519 key pair (FILE 0600, FILE.pub)"},
    {"pubkey", C_PUBKEY, "pubkey [-f FILE]",
     "print the public key line and its fingerprint (as ssh-keygen -lf)"},
    {"connect", C_CONNECT, "connect [USER@]HOST[:PORT] [options] [-- COMMAND ARGS...]",
     "tunnel TCP streams through an SSH server (USER defaults to alknet)"},
    {"serve", C_SERVE, "serve [options]",
     "an SSH server for alknet connect and stock ssh clients: key logins, TCP streams only"},
};

static void cfg_help(FILE *f, enum cmd cmd)
{
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        if (cmd && cmds[i].cmd != cmd) continue;
        fmt_to(f, "usage: alknet %s\n  %s\n", cmds[i].synopsis, cmds[i].what);
        if (!cmd) continue;
        if (cmd == C_CONNECT)
            fmt_to(
                f,
                "\n  -- COMMAND ARGS...  start the tunnel on a free loopback port, run COMMAND"
                "\n                      with ALL_PROXY=socks5h://... and exit with its status\n");
        fmt_to(f, "\noptions:\n");
        for (size_t j = 0; j < ARRAY_LEN(opts); j++) {
            const struct opt *o = &opts[j];
            if (!(o->cmds & cmd)) continue;
            char left[64];
            fmt_s(left, sizeof left, "%c%c%s--%s%s%s", o->sh ? '-' : ' ', o->sh ? o->sh : ' ',
                  o->sh ? ", " : "  ", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
            fmt_to(f, "  %-36s %s\n", left, o->help);
        }
        if (cmd == C_CONNECT || cmd == C_SERVE)
            fmt_to(f, "\nwithout -F, %s is read if it exists\n",
                   cmd == C_CONNECT ? "~/" ALK_CONNECT_CONFIG
                   : geteuid() == 0 ? ALK_SERVE_CONFIG_ROOT
                                    : "~/" ALK_SERVE_CONFIG " (as root: " ALK_SERVE_CONFIG_ROOT
                                      ")");
        if (cmd == C_SERVE)
            fmt_to(f, "\nexit codes: 0 stopped by SIGTERM or SIGINT, 1 local failure,\n"
                      "  2 usage (command line or config file syntax),\n"
                      "  3 local file (host key, authorized_keys, config, TLS key),\n"
                      "  7 listener not set up.\n");
        if (cmd == C_CONNECT)
            fmt_to(f, "\nexit codes: 0 ok, 1 local failure, 2 usage (command line or config file "
                      "syntax),\n  3 local file (key, known_hosts, config),\n"
                      "  4 cannot reach or lost the server, 5 host key not trusted or changed,\n"
                      "  6 authentication refused, 7 forwarding not set up, 8 protocol violation;\n"
                      "  with -- COMMAND: the command's status.\n");
    }
    if (!cmd)
        fmt_to(f, "\nalknet CMD --help shows the options of CMD; alknet --version the version.\n");
}

/* Frees everything the option parser allocated and forgets it. */
static void cfg_free(void)
{
    char *secrets[] = {cfg.socks_pass, cfg.proxy, cfg.outbound};
    for (size_t i = 0; i < ARRAY_LEN(secrets); i++)
        if (secrets[i]) wipe(secrets[i], strlen(secrets[i]));
    char **strs[] = {
        &cfg.user,        &cfg.host,          &cfg.identity,   &cfg.stdio_host, &cfg.pin,
        &cfg.known_hosts, &cfg.socks_user,    &cfg.socks_pass, &cfg.ciphers,    &cfg.file,
        &cfg.comment,     &cfg.host_key_file, &cfg.auth_keys,  &cfg.dns,        &cfg.config,
        &cfg.sni,         &cfg.tls_ca,        &cfg.tls_pin,    &cfg.alpn,       &cfg.proxy,
        &cfg.tls_cert,    &cfg.tls_key,       &cfg.fallback,   &cfg.banner,     &cfg.outbound};
    for (size_t i = 0; i < ARRAY_LEN(strs); i++)
        free(*strs[i]);
    struct fwd *lists[] = {cfg.dyn, cfg.loc, cfg.lst, cfg.tlst};
    size_t counts[] = {cfg.ndyn, cfg.nloc, cfg.nlst, cfg.ntlst};
    for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
        for (size_t j = 0; j < counts[i]; j++)
            free(lists[i][j].lhost), free(lists[i][j].host);
        free(lists[i]);
    }
    for (size_t i = 0; i < cfg.nrules; i++)
        free(cfg.rules[i].text);
    free(cfg.rules);
    memset(&cfg, 0, sizeof cfg);
}

/* Splits s on ':' outside [brackets] into at most 4 parts (in place). */
static int cfg_colons(char *s, char *part[4])
{
    int n = 0, depth = 0;
    part[n++] = s;
    for (char *p = s; *p; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']')
            depth--;
        else if (*p == ':' && depth == 0) {
            if (n == 4) return -1;
            *p = 0;
            part[n++] = p + 1;
        }
    }
    return n;
}
static char *cfg_unbracket(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s[n - 1] = 0;
        return s + 1;
    }
    return s;
}

static int cfg_uint(const char *v, unsigned max, unsigned *out)
{
    char *end;
    if (!*v || *v == '-' || *v == '+') return -1;
    unsigned long x = strtoul(v, &end, 10);
    if (*end || x > max) return -1;
    *out = (unsigned)x;
    return 0;
}

/* "16M", "1G", "4096" (bytes: K, M, G, T are powers of 1024), or with
 * bytes = 0 a time: "90", "90s", "15m", "1h" in seconds. */
static int cfg_size(const char *v, int bytes, uint64_t *out)
{
    char *end;
    if (*v < '0' || *v > '9') return -1;
    unsigned long long x = strtoull(v, &end, 10);
    static const char bu[] = "KMGT", tu[] = "smh";
    static const unsigned tmul[] = {1, 60, 3600};
    unsigned shift = 0, mul = 1;
    if (*end) {
        const char *u = strchr(bytes ? bu : tu, *end);
        if (!u || end[1]) return -1;
        if (bytes)
            shift = 10 * (unsigned)(u - bu + 1);
        else
            mul = tmul[u - tu];
    }
    if (x > ((~0ull >> 24) >> shift) / mul) return -1; /* under 2^40: no overflow */
    *out = ((uint64_t)x << shift) * mul;
    return 0;
}

/* Applies one option. Returns NULL, or what is wrong with the value. */
static const char *cfg_apply(const struct opt *o, const char *v)
{
    static char why[160];
    char tmp[600], *part[4];
    unsigned u;
    switch (o->id) {
    case O_PORT:
        if (cfg_uint(v, 65535, &u) != 0 || u == 0) return "not a port number (1-65535)";
        cfg.port = u;
        break;
    case O_IDENTITY:
        free(cfg.identity), cfg.identity = xstrdup(v);
        break;
    case O_DYNAMIC: {
        char host[256];
        if (net_split(v, host, sizeof host, &u, "127.0.0.1", 1) != 0) return "expected [ADDR:]PORT";
        cfg.dyn = xrealloc(cfg.dyn, (cfg.ndyn + 1) * sizeof *cfg.dyn);
        cfg.dyn[cfg.ndyn].lhost = xstrdup(host);
        cfg.dyn[cfg.ndyn].lport = u;
        cfg.dyn[cfg.ndyn].host = NULL;
        cfg.ndyn++;
        break;
    }
    case O_LOCAL: {
        struct fwd f = {0};
        unsigned lp, hp;
        fmt_s(tmp, sizeof tmp, "%s", v);
        int n = cfg_colons(tmp, part);
        if (n < 3) return "expected [ADDR:]PORT:HOST:HOSTPORT";
        char *la = n == 4 ? cfg_unbracket(part[0]) : "127.0.0.1";
        char *h = cfg_unbracket(part[n - 2]);
        if (cfg_uint(part[n - 3], 65535, &lp) != 0 || cfg_uint(part[n - 1], 65535, &hp) != 0 ||
            hp == 0 || !*h || !*la)
            return "expected [ADDR:]PORT:HOST:HOSTPORT";
        f.lhost = xstrdup(la), f.lport = lp, f.host = xstrdup(h), f.port = hp;
        cfg.loc = xrealloc(cfg.loc, (cfg.nloc + 1) * sizeof *cfg.loc);
        cfg.loc[cfg.nloc++] = f;
        break;
    }
    case O_STDIO: {
        char host[256];
        if (net_split(v, host, sizeof host, &u, NULL, 0) != 0 || u == 0)
            return "expected HOST:PORT";
        free(cfg.stdio_host), cfg.stdio_host = xstrdup(host);
        cfg.stdio_port = u;
        break;
    }
    case O_HOSTKEY:
        if (strncmp(v, "SHA256:", 7) != 0 || strlen(v) < 7 + 43 || strlen(v) > 7 + 44)
            return "expected SHA256:<43 base64 characters> as ssh-keygen -l prints it";
        free(cfg.pin), cfg.pin = xstrdup(v);
        break;
    case O_KNOWN_HOSTS:
        free(cfg.known_hosts), cfg.known_hosts = xstrdup(v);
        break;
    case O_ACCEPT_NEW:
        cfg.accept_new = 1;
        break;
    case O_SOCKS_AUTH: {
        const char *c = strchr(v, ':');
        if (!c || c == v || !c[1] || c - v > 255 || strlen(c + 1) > 255)
            return "expected USER:PASS (each 1 to 255 bytes)";
        free(cfg.socks_user), free(cfg.socks_pass);
        cfg.socks_user = xstrndup(v, (size_t)(c - v));
        cfg.socks_pass = xstrdup(c + 1);
        break;
    }
    case O_CHECK:
        cfg.check = 1;
        break;
    case O_CIPHERS: {
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, ",");
            if (!ci_find(p, n)) {
                fmt_s(why, sizeof why, "unknown cipher '%.*s' (known: %s, %s, %s)", (int)n, p,
                      ci_algs[0].name, ci_algs[1].name, ci_algs[2].name);
                return why;
            }
            p += n + (p[n] == ',');
        }
        if (!*v) return "empty cipher list";
        free(cfg.ciphers), cfg.ciphers = xstrdup(v);
        break;
    }
    case O_KEEPALIVE:
        if (cfg_uint(v, 86400, &u) != 0) return "expected seconds (0-86400)";
        cfg.keepalive = u;
        cfg.keepalive_given = 1;
        break;
    case O_KEEPALIVE_COUNT:
        if (cfg_uint(v, 100, &u) != 0 || u == 0) return "expected a count (1-100)";
        cfg.keepalive_count = u;
        break;
    case O_REKEY_LIMIT: {
        /* as OpenSSH's RekeyLimit: a size, then optionally a time */
        uint64_t b, t = 0;
        fmt_s(tmp, sizeof tmp, "%s", v);
        char *sp = tmp + strcspn(tmp, " \t");
        if (*sp) *sp++ = 0;
        sp += strspn(sp, " \t");
        if (cfg_size(tmp, 1, &b) != 0 || b < 16384 || b > (1ull << 40))
            return "expected SIZE [SECS]: a size from 16K to 1T (suffix K, M, G or T), then "
                   "optionally a time from 10 s to 24 h (suffix s, m or h)";
        if (*sp && (cfg_size(sp, 0, &t) != 0 || t < 10 || t > 86400))
            return "expected SIZE [SECS]: a time from 10 s to 24 h (suffix s, m or h)";
        cfg.rekey_bytes = b;
        cfg.rekey_secs = (unsigned)t;
        break;
    }
    case O_WINDOW_BUDGET: {
        uint64_t b;
        if (cfg_size(v, 1, &b) != 0 || b < (1u << 20) || b > (1ull << 40))
            return "expected a size from 1M to 1T (suffix K, M, G or T)";
        cfg.window_budget = b;
        break;
    }
    case O_NO_RECONNECT:
        cfg.no_reconnect = 1;
        break;
    case O_VERBOSE:
        cfg.verbose++;
        break;
    case O_QUIET:
        cfg.quiet = 1;
        break;
    case O_SYSLOG:
        cfg.use_syslog = 1;
        break;
    case O_FILE:
        free(cfg.file), cfg.file = xstrdup(v);
        break;
    case O_LISTEN:
    case O_TLS_LISTEN: {
        char host[256];
        struct fwd **l = o->id == O_LISTEN ? &cfg.lst : &cfg.tlst;
        size_t *n = o->id == O_LISTEN ? &cfg.nlst : &cfg.ntlst;
        if (net_split(v, host, sizeof host, &u, "0.0.0.0", 1) != 0) return "expected [ADDR:]PORT";
        *l = xrealloc(*l, (*n + 1) * sizeof **l);
        memset(&(*l)[*n], 0, sizeof **l);
        (*l)[*n].lhost = xstrdup(host);
        (*l)[(*n)++].lport = u;
        break;
    }
    case O_TLS:
        cfg.tls = 1;
        break;
    case O_SNI:
        if (strlen(v) > 255) return "longer than 255 bytes";
        for (const char *q = v; *q; q++)
            if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return "not a host name";
        free(cfg.sni), cfg.sni = xstrdup(v);
        cfg.sni_given = 1;
        break;
    case O_TLS_CA:
        free(cfg.tls_ca), cfg.tls_ca = xstrdup(v);
        break;
    case O_TLS_PIN: {
        uint8_t h[33];
        const char *b = strncmp(v, "SHA256:", 7) == 0 ? v + 7 : NULL;
        if (!b || b64_dec(h, sizeof h, b, strlen(b)) != 32)
            return "expected SHA256:<base64 of 32 bytes>, as the server logs it";
        free(cfg.tls_pin), cfg.tls_pin = xstrdup(v);
        break;
    }
    case O_ALPN:
        if (!*v || strlen(v) > 255) return "expected 1 to 255 bytes";
        free(cfg.alpn), cfg.alpn = xstrdup(v);
        break;
    case O_PROXY:
    case O_OUTBOUND: {
        struct px_cfg pc;
        const char *bad;
        int rc = px_parse(v, &pc, &bad);
        WIPE(pc);
        if (rc != 0) return bad;
        char **dst = o->id == O_PROXY ? &cfg.proxy : &cfg.outbound;
        if (*dst) wipe(*dst, strlen(*dst)), free(*dst);
        *dst = xstrdup(v);
        break;
    }
    case O_TLS_CERT:
        free(cfg.tls_cert), cfg.tls_cert = xstrdup(v);
        break;
    case O_TLS_KEY:
        free(cfg.tls_key), cfg.tls_key = xstrdup(v);
        break;
    case O_FALLBACK: {
        char host[256];
        if (net_split(v, host, sizeof host, &u, NULL, 0) != 0 || u == 0)
            return "expected HOST:PORT";
        free(cfg.fallback), cfg.fallback = xstrdup(v);
        break;
    }
    case O_BANNER: {
        /* RFC 4253 4.2: "SSH-2.0-softwareversion SP comments", printable, at most 253 */
        char b[300];
        fmt_s(b, sizeof b, "%s%s", strncmp(v, "SSH-2.0-", 8) == 0 ? "" : "SSH-2.0-", v);
        size_t n = strlen(b);
        if (n > ALK_VERLINE_MAX - 2 || n <= 8) return "expected 1 to 245 printable characters";
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e)
                return "expected printable ASCII characters only";
        size_t swl = strcspn(b + 8, " ");
        if (swl == 0) return "the software version (after SSH-2.0-) is empty";
        if (memchr(b + 8, '-', swl))
            return "the software version (before any space) must not contain '-' (RFC 4253 4.2)";
        free(cfg.banner), cfg.banner = xstrdup(b);
        break;
    }
    case O_HOSTKEY_FILE:
        free(cfg.host_key_file), cfg.host_key_file = xstrdup(v);
        break;
    case O_AUTH_KEYS:
        free(cfg.auth_keys), cfg.auth_keys = xstrdup(v);
        break;
    case O_ALLOW:
    case O_DENY: {
        struct pol check;
        memset(&check, 0, sizeof check);
        const char *bad = pol_add(&check, o->id == O_ALLOW, v);
        pol_free(&check);
        if (bad) {
            fmt_s(why, sizeof why, "%s", bad);
            return why;
        }
        cfg.rules = xrealloc(cfg.rules, (cfg.nrules + 1) * sizeof *cfg.rules);
        cfg.rules[cfg.nrules].allow = o->id == O_ALLOW;
        cfg.rules[cfg.nrules++].text = xstrdup(v);
        break;
    }
    case O_DNS: {
        struct sockaddr_storage ss;
        if (dns_server_parse(v, &ss) != 0) return "expected ADDR, ADDR:PORT or [V6]:PORT";
        free(cfg.dns), cfg.dns = xstrdup(v);
        break;
    }
    case O_MAX_STARTUPS:
        if (cfg_uint(v, 100000, &u) != 0 || u == 0) return "expected a number from 1";
        cfg.max_startups = u;
        break;
    case O_LOGIN_GRACE:
        if (cfg_uint(v, 3600, &u) != 0 || u == 0) return "expected seconds (1-3600)";
        cfg.login_grace = u;
        break;
    case O_MAX_CHANNELS:
        if (cfg_uint(v, ALK_MAX_CHANNELS, &u) != 0 || u == 0)
            return "expected a number from 1 to 65536";
        cfg.max_channels = u;
        break;
    case O_COMMENT:
        free(cfg.comment), cfg.comment = xstrdup(v);
        break;
    default:
        break;
    }
    return NULL;
}

static const struct opt *cfg_find_long(const char *name, size_t n, enum cmd cmd)
{
    for (size_t i = 0; i < ARRAY_LEN(opts); i++)
        if ((opts[i].cmds & cmd) && strlen(opts[i].name) == n && memcmp(opts[i].name, name, n) == 0)
            return &opts[i];
    return NULL;
}
static const struct opt *cfg_find_short(char c, enum cmd cmd)
{
    for (size_t i = 0; i < ARRAY_LEN(opts); i++)
        if ((opts[i].cmds & cmd) && opts[i].sh == c) return &opts[i];
    return NULL;
}

/* "[USER@]HOST[:PORT]" */
static const char *cfg_destination(const char *v)
{
    const char *at = strrchr(v, '@'), *hp = at ? at + 1 : v;
    char host[256];
    unsigned port = 0;
    if (at) {
        if (at == v) return "empty user name";
        free(cfg.user), cfg.user = xstrndup(v, (size_t)(at - v));
    }
    if (strchr(hp, ':') && (hp[0] == '[' || strchr(hp, ':') == strrchr(hp, ':'))) {
        if (net_split(hp, host, sizeof host, &port, NULL, 0) != 0 || port == 0)
            return "expected [USER@]HOST[:PORT]";
        cfg.port = port;
    } else {
        fmt_s(host, sizeof host, "%s", hp); /* a bare IPv6 address, or a name */
    }
    if (!host[0]) return "empty host name";
    free(cfg.host), cfg.host = xstrdup(host);
    return NULL;
}

static int cfg_usage(enum cmd cmd, const char *fmt, ...) ALK_PRINTF(2, 3);
static int cfg_usage(enum cmd cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    fmt_v(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *name = "";
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
        if (cmds[i].cmd == cmd) name = cmds[i].name;
    fmt_to(stderr, "alknet: %s\nTry 'alknet %s --help'.\n", msg, name);
    return ALK_EXIT_USAGE;
}

/* The lines of a config file (text modified in place); path names it in
 * messages. Options in `given` (set on the command line) are skipped.
 * Returns 0 or an exit code. */
static int cfg_text(char *text, const char *path, enum cmd cmd, const uint8_t *given)
{
    int lineno = 0, rc = 0;
    for (char *line = text; line && !rc;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        char *s = (char *)skip_ws(line), *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            *--e = 0;
        if (*s && *s != '#') {
            size_t kn = word_len(s);
            const char *v = skip_ws(s + kn);
            const struct opt *o = cfg_find_long(s, kn, cmd);
            if (!o || o->id == O_CONFIG || o->id == O_HELP) {
                say("%s:%d: unknown keyword '%.*s'", path, lineno, (int)kn, s);
                rc = ALK_EXIT_USAGE;
            } else if (!given[o->id]) {
                const char *why = NULL;
                if (!o->arg && *v && strcmp(v, "yes") != 0) {
                    if (strcmp(v, "no") != 0) why = "expected yes or no";
                } else if (o->arg && !*v) {
                    why = "missing value";
                } else if (o->arg && strcmp(o->arg, "FILE") == 0 && strncmp(v, "~/", 2) == 0) {
                    char full[PATH_MAX]; /* as the shell would on the command line */
                    fmt_s(full, sizeof full, "%s%s", home_dir(), v + 1);
                    why = cfg_apply(o, full);
                } else {
                    why = cfg_apply(o, v);
                }
                if (why) {
                    say("%s:%d: %s: %s", path, lineno, o->name, why);
                    rc = ALK_EXIT_USAGE;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return rc;
}

/* Reads a config file (-F, or the default one); see cfg_text. */
static int cfg_file(const char *path, enum cmd cmd, const uint8_t *given)
{
    char err[PATH_MAX + 64];
    char *text = file_read(path, 1u << 20, NULL, err, sizeof err);
    if (!text) {
        say("%s", err);
        return ALK_EXIT_CONFIG;
    }
    int rc = cfg_text(text, path, cmd, given);
    free(text);
    return rc;
}

/* Parses argv (after the command name). Returns 0, or an exit code
 * (-1: help was shown, exit 0). */
static int cfg_args(enum cmd cmd, int argc, char **argv)
{
    uint8_t given[O_COUNT] = {0};
    const char *config = NULL;
    int dest = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        const struct opt *o = NULL;
        const char *v = NULL;
        if (strcmp(a, "--") == 0) {
            if (cmd != C_CONNECT || i + 1 >= argc)
                return cfg_usage(cmd, "'--' needs a command after it");
            cfg.command = argv + i + 1;
            break;
        }
        if (a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = cfg_find_long(a + 2, n, cmd);
            if (!o) return cfg_usage(cmd, "unknown option %s", a);
            if (o->arg) {
                if (eq)
                    v = eq + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else
                    return cfg_usage(cmd, "%s needs a value (%s)", a, o->arg);
            } else if (eq) {
                return cfg_usage(cmd, "--%s takes no value", o->name);
            }
        } else if (a[0] == '-' && a[1]) {
            for (char *p = a + 1; *p; p++) {
                o = cfg_find_short(*p, cmd);
                if (!o) return cfg_usage(cmd, "unknown option -%c", *p);
                if (o->arg) {
                    if (p[1])
                        v = p + 1;
                    else if (i + 1 < argc)
                        v = argv[++i];
                    else
                        return cfg_usage(cmd, "-%c needs a value (%s)", *p, o->arg);
                    break;
                }
                if (p[1]) { /* a cluster of flags such as -vv */
                    if (o->id == O_HELP) break;
                    cfg_apply(o, NULL);
                    given[o->id] = 1;
                }
            }
        } else if (cmd == C_CONNECT && !dest) {
            const char *why = cfg_destination(a);
            if (why) return cfg_usage(cmd, "%s: %s", a, why);
            dest = 1;
            continue;
        } else {
            return cfg_usage(cmd, "unexpected argument '%s'", a);
        }
        if (o->id == O_HELP) {
            cfg_help(stdout, cmd);
            return -1;
        }
        if (o->id == O_CONFIG) {
            config = v;
            continue;
        }
        const char *why = cfg_apply(o, v);
        if (why)
            return cfg_usage(cmd, "%s%s %s: %s", o->sh && a[1] != '-' ? "-" : "--",
                             o->sh && a[1] != '-' ? (char[2]){o->sh, 0} : o->name, v ? v : "", why);
        given[o->id] = 1;
    }
    if (given[O_ALLOW] || given[O_DENY]) { /* the rules are one list: all from one place */
        given[O_ALLOW] = given[O_DENY] = 1;
        cfg.rules_from_cli = 1;
    }
    char defpath[PATH_MAX];
    if (!config && cmd != C_KEYGEN && cmd != C_PUBKEY) {
        /* no -F: the default file, if there is one (a missing one is not an error) */
        if (cmd == C_SERVE && geteuid() == 0)
            fmt_s(defpath, sizeof defpath, "%s", ALK_SERVE_CONFIG_ROOT);
        else
            fmt_s(defpath, sizeof defpath, "%s/%s", home_dir(),
                  cmd == C_SERVE ? ALK_SERVE_CONFIG : ALK_CONNECT_CONFIG);
        if (access(defpath, F_OK) == 0) config = defpath;
    }
    if (config) {
        /* options given on the command line win; lists given there replace the file's */
        cfg.config = xstrdup(config);
        int rc = cfg_file(config, cmd, given);
        if (rc) return rc;
    }
    if (cmd == C_CONNECT) {
        if (!dest) return cfg_usage(cmd, "missing the server: alknet connect [USER@]HOST[:PORT]");
        if (!cfg.user) cfg.user = xstrdup(ALK_USER_DEFAULT);
        if (!cfg.port) cfg.port = cfg.tls ? 443 : 22;
        if (!cfg.tls && (cfg.sni_given || cfg.tls_ca || cfg.tls_pin || cfg.alpn))
            return cfg_usage(cmd, "--%s is about the TLS transport: add --tls",
                             cfg.sni_given ? "sni"
                             : cfg.tls_ca  ? "tls-ca"
                             : cfg.tls_pin ? "tls-pin"
                                           : "alpn");
        if (cfg.stdio_host && (cfg.ndyn || cfg.nloc || cfg.command || cfg.check))
            return cfg_usage(cmd, "-W uses stdin and stdout; it cannot be combined with -D, -L, "
                                  "--check or a command");
        if (cfg.check && cfg.command)
            return cfg_usage(cmd, "--check and a command exclude each other");
    }
    if (cmd == C_SERVE) {
        char path[PATH_MAX];
        if (!cfg.host_key_file) {
            fmt_s(path, sizeof path, "%s/.alknet/host_ed25519", home_dir());
            cfg.host_key_file = xstrdup(path);
        }
        if (!cfg.auth_keys) {
            fmt_s(path, sizeof path, "%s/.alknet/authorized_keys", home_dir());
            cfg.auth_keys = xstrdup(path);
        }
        if (!cfg.tls_cert != !cfg.tls_key)
            return cfg_usage(cmd, "--tls-cert and --tls-key go together (or neither: a "
                                  "self-signed certificate is made)");
        if (!cfg.ntlst && (cfg.tls_cert || cfg.alpn))
            return cfg_usage(cmd, "--%s is for TLS listeners: add --tls-listen ADDR:PORT",
                             cfg.tls_cert ? "tls-cert" : "alpn");
        if (!cfg.max_startups) cfg.max_startups = 32;
        if (!cfg.login_grace) cfg.login_grace = 30;
        if (!cfg.max_channels) cfg.max_channels = 16384;
    }
    if (!cfg.keepalive_given) cfg.keepalive = ALK_KEEPALIVE_SECS;
    if (!cfg.keepalive_count) cfg.keepalive_count = ALK_KEEPALIVE_COUNT;
    if (cfg.window_budget) win_budget = cfg.window_budget;
    if (!cfg.ciphers) {
        char def[160];
        ci_default_list(def, sizeof def);
        cfg.ciphers = xstrdup(def);
    }
    return 0;
}

/* ==================== SECTION 18: server (sv_) ==================== */

/*
 * `alknet serve`: accepts SSH connections (never speaking first), lets in
 * the keys of authorized_keys, and opens the direct-tcpip streams they ask
 * for, within the destination policy. Limits: --max-startups connections
 * may be unauthenticated at once (when full, the oldest one that has not
 * even sent its identification line makes room, so a flood of idle or
 * garbage connections cannot keep a real client out), --login-grace to
 * authenticate, --max-channels streams per connection; memory per
 * connection and stream is bounded as SECTION 1 says. SIGHUP re-reads
 * authorized_keys, the rules of the -F file and resolv.conf; live tunnels
 * keep the permissions they logged in with. SIGUSR1 logs a status line.
 */
struct ak_set { /* one load of authorized_keys, kept while sessions use it */
    struct ak a;
    unsigned refs;
};
struct sv_grant { /* what one session's key may do */
    struct ak_set *set;
    const struct ak_entry *e;
};

static struct {
    struct key hk;
    struct ak_set *keys; /* the current authorized_keys */
    struct pol pol;
    int stopping;
    int64_t stop_by;
    uint64_t conns, streams;   /* since start */
    uint64_t spliced, dropped; /* visitors that were not ours, since start */
    int64_t full_logged;       /* last "max-startups reached" line */
    struct net_addrs fallback; /* --fallback, resolved at start (n == 0: none) */
    struct px_cfg outbound;    /* --outbound, resolved at start */
} sv;

static void sv_set_release(struct ak_set *set)
{
    if (set && --set->refs == 0) {
        ak_free(&set->a);
        free(set);
    }
}

/* Loads authorized_keys; NULL (with the reason said) if unusable. */
static struct ak_set *sv_load_keys(void)
{
    char err[PATH_MAX + 64];
    char *text = file_read(cfg.auth_keys, 4u << 20, NULL, err, sizeof err);
    if (!text) {
        say("%s", err);
        return NULL;
    }
    struct ak_set *set = xcalloc(1, sizeof *set);
    ak_parse(text, cfg.auth_keys, &set->a);
    free(text);
    for (size_t i = 0; i < set->a.nwarn; i++)
        LOG(L_WARN, 0, "%s", set->a.warn[i]);
    if (set->a.n == 0) {
        say("%s holds no usable ssh-ed25519 key: the server does not start (or reload) without "
            "one; add client public keys (alknet pubkey prints them), one per line",
            cfg.auth_keys);
        ak_free(&set->a);
        free(set);
        return NULL;
    }
    set->refs = 1;
    return set;
}

/* The destination rules, in the order given. */
static int sv_load_policy(struct pol *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < cfg.nrules; i++) {
        const char *why = pol_add(p, cfg.rules[i].allow, cfg.rules[i].text);
        if (why) {
            say("%s %s: %s", cfg.rules[i].allow ? "allow" : "deny", cfg.rules[i].text, why);
            pol_free(p);
            return -1;
        }
    }
    return 0;
}

static int sv_peer(const struct ssh *c, struct sockaddr_storage *ss)
{
    socklen_t sl = sizeof *ss;
    return getpeername(c->fd, (struct sockaddr *)ss, &sl);
}

/* see ua_server */
static int sv_key_allowed(struct ssh *c, const uint8_t pk[32], char *why, size_t cap)
{
    struct sockaddr_storage ss;
    if (sv_peer(c, &ss) != 0) {
        fmt_s(why, cap, "peer address unknown");
        return 0;
    }
    if (ak_find(&sv.keys->a, pk, (struct sockaddr *)&ss)) return 1;
    const struct ak_entry *e = ak_first(&sv.keys->a, pk);
    if (e)
        fmt_s(why, cap, "%s:%d: from= does not admit %s", cfg.auth_keys, e->line, c->peer);
    else
        fmt_s(why, cap, "not in %s", cfg.auth_keys);
    return 0;
}

static void sv_login(struct ssh *c, const uint8_t pk[32])
{
    struct sockaddr_storage ss;
    struct sv_grant *g = xcalloc(1, sizeof *g);
    sv_peer(c, &ss);
    g->set = sv.keys;
    g->set->refs++;
    g->e = ak_find(&sv.keys->a, pk, (struct sockaddr *)&ss);
    c->grant = g;
    const char *cm = g->e ? g->e->k.comment : "";
    LOG(L_INFO, c->id, "%s: user %s authenticated with key %s%s%s%s", c->peer,
        log_esc(c->auth_user, strlen(c->auth_user)), c->auth_fp, cm[0] ? " (" : "", cm,
        cm[0] ? ")" : "");
}

static void sv_refuse(struct ssh *c, uint32_t peer, uint32_t reason, const char *what,
                      const char *why)
{
    struct wr w = tp_begin(c, 64 + strlen(why));
    wr_u8(&w, MSG_CHANNEL_OPEN_FAILURE);
    wr_u32(&w, peer);
    wr_u32(&w, reason);
    wr_cstr(&w, why);
    wr_cstr(&w, "");
    tp_end(c, &w);
    LOG(L_INFO, c->id, "%s refused: %s", what, why);
}

/*
 * RFC 4254 7.2: string "direct-tcpip", uint32 sender channel, uint32
 * initial window, uint32 maximum packet, string host, uint32 port, string
 * originator address, uint32 originator port. Everything else (a shell
 * "session", "forwarded-tcpip", ...) is refused with words an OpenSSH user
 * can act on.
 */
static int sv_on_channel_open(struct ssh *c, struct rd *r)
{
    struct str type = rd_str(r, 64);
    uint32_t peer = rd_u32(r), win = rd_u32(r), maxp = rd_u32(r);
    if (r->bad) return -E_PROTO;
    if (str_eq(type, "session")) {
        sv_refuse(c, peer, OPEN_ADMIN_PROHIBITED, "session (shell)",
                  "this alknet server has no shells and runs no commands: use ssh -N with "
                  "-D, -L or -W to open TCP streams");
        return 0;
    }
    if (!str_eq(type, "direct-tcpip")) {
        char why[200];
        fmt_s(why, sizeof why,
              "channel type %s is not offered: alknet opens direct-tcpip streams only "
              "(ssh -N with -D, -L or -W)",
              log_str(type));
        sv_refuse(c, peer, OPEN_UNKNOWN_TYPE, "channel", why);
        return 0;
    }
    struct str host = rd_str(r, 255);
    uint32_t port = rd_u32(r);
    rd_str(r, 255); /* originator address and port: only for logs in OpenSSH */
    rd_u32(r);
    if (!rd_end(r) || maxp == 0) {
        tp_fail(c, -E_PROTO, "malformed direct-tcpip request");
        return -E_PROTO;
    }
    char name[256], what[300], why[400];
    memcpy(name, host.p, host.n);
    name[host.n] = 0;
    fmt_s(what, sizeof what, "stream to %s:%lu", log_str(host), (unsigned long)port);
    int bad = host.n == 0 || port == 0 || port > 65535;
    for (size_t i = 0; i < host.n; i++)
        bad |= host.p[i] <= 0x20 || host.p[i] >= 0x7f;
    if (bad) {
        sv_refuse(c, peer, OPEN_CONNECT_FAILED, what, "bad destination: Name or service not known");
        return 0;
    }
    const struct ak_entry *e = c->grant ? c->grant->e : NULL;
    if (!e || e->no_fwd) {
        sv_refuse(c, peer, OPEN_ADMIN_PROHIBITED, what,
                  "port forwarding is disabled for this key (restrict or no-port-forwarding in "
                  "authorized_keys)");
        return 0;
    }
    if (!ak_open_ok(e, name, port)) {
        fmt_s(why, sizeof why,
              "%s:%lu is not in this key's permitopen list (authorized_keys line %d)", name,
              (unsigned long)port, e->line);
        sv_refuse(c, peer, OPEN_ADMIN_PROHIBITED, what, why);
        return 0;
    }
    int reserved = host.n > 7 && strncasecmp(name, "alknet-", 7) == 0;
    if (reserved && strcasecmp(name, "alknet-echo") != 0) {
        fmt_s(why, sizeof why, "%s is a reserved name this server does not serve (alknet-echo is)",
              name);
        sv_refuse(c, peer, OPEN_CONNECT_FAILED, what, why);
        return 0;
    }
    int verdict = pol_check_name(&sv.pol, name, port, reserved, why, sizeof why);
    if (verdict < 0 && dst_outbound) {
        /* the proxy resolves, so the addresses are not ours to judge; but a
         * "localhost" name leads to the proxy's own host (RFC 6761 6.3) */
        size_t nl = strlen(name) - (host.n > 1 && name[host.n - 1] == '.');
        if ((nl == 9 && strncasecmp(name, "localhost", 9) == 0) ||
            (nl > 10 && strncasecmp(name + nl - 10, ".localhost", 10) == 0)) {
            struct sockaddr_in lo;
            memset(&lo, 0, sizeof lo);
            lo.sin_family = AF_INET;
            lo.sin_addr.s_addr = htonl(0x7f000001);
            verdict = pol_check(&sv.pol, name, port, (struct sockaddr *)&lo, why, sizeof why);
        }
    }
    if (verdict == 0) {
        sv_refuse(c, peer, OPEN_ADMIN_PROHIBITED, what, why);
        return 0;
    }
    if (c->ch_live >= c->max_channels) {
        fmt_s(why, sizeof why, "too many streams on this connection (--max-channels %u)",
              c->max_channels);
        sv_refuse(c, peer, OPEN_NO_RESOURCE, what, why);
        return 0;
    }
    struct chan *ch = ch_new(-1, -1, reserved ? CK_ECHO : CK_DEST);
    ch->host = xstrdup(name);
    ch->port = port;
    ch->peer = peer, ch->peer_win = win, ch->peer_max = MIN(maxp, ALK_CHAN_MAXPKT);
    if (ch_bind(c, ch) != 0) {
        ch->dead = 1;
        sv_refuse(c, peer, OPEN_NO_RESOURCE, what, "no free channel number");
        return 0;
    }
    sv.streams++;
    if (reserved)
        ch_confirm(ch);
    else
        ch_dest_start(ch);
    return 0;
}

/*
 * Stealth (spec 4): the gate. A connection starts in TP_0_GATE and nothing
 * is sent until its first bytes show an alknet or SSH client:
 *
 *   plain port  an identification line "SSH-2.0-..." (gate_plain); a client
 *               that sends its KEXINIT right behind the line, as alknet
 *               does, also shows the packet's random cookie.
 *   TLS port    a whole ClientHello offering our ALPN (tls_hello_parse).
 *
 * Everyone else (garbage, a truncated hello, a silent visitor after
 * GATE_SILENT_MS plus jitter, a replay) is "not ours": spliced byte for
 * byte, the bytes read so far included, to --fallback, so the port looks
 * like the service behind it; without a fallback, read and discarded for a
 * random 1 to 5 s, then closed without a byte sent. A replay is a first
 * packet whose random value (ClientHello.random, or the KEXINIT cookie) was
 * seen before: a real client never repeats one, a prober replaying a
 * recorded alknet connection does. The last GATE_REPLAY_N values are kept
 * (as 16-byte hashes, 64 KiB).
 *
 * What the gate cannot hide: a prober that sends its own SSH identification
 * line to a plain port gets an SSH server's answer, as from any sshd (see
 * --banner); the ALPN name is visible in a TLS ClientHello.
 */
#define GATE_SILENT_MS 5000 /* a visitor silent this long (+ jitter) is not ours */
#define GATE_JITTER_MS 3000
#define GATE_DROP_MS 1000 /* not ours, no fallback: closed after this (+ jitter) */
#define GATE_DROP_JITTER_MS 4000
#define GATE_PLAIN_MAX (ALK_VERLINE_MAX + 22) /* the line, and a KEXINIT up to its cookie */
#define GATE_REPLAY_N 4096
#define ALK_SPLICE_MAX 1024 /* fallback splices at once; more visitors are dropped */

static struct {
    uint8_t h[GATE_REPLAY_N][16];
    unsigned next;
} gate_seen;

/* Was this first-packet random value seen before? Remembers it either way. */
static int gate_replayed(uint8_t kind, const uint8_t *v, size_t n)
{
    br_sha256_context h;
    uint8_t d[32];
    br_sha256_init(&h);
    br_sha256_update(&h, &kind, 1);
    br_sha256_update(&h, v, n);
    br_sha256_out(&h, d);
    for (unsigned i = 0; i < GATE_REPLAY_N; i++)
        if (memcmp(gate_seen.h[i], d, 16) == 0) return 1;
    memcpy(gate_seen.h[gate_seen.next], d, 16);
    gate_seen.next = (gate_seen.next + 1) % GATE_REPLAY_N;
    return 0;
}

/*
 * The first bytes of a plain-TCP visitor (RFC 4253 4.2, 6, 7.1): 1 an SSH
 * client, 0 more bytes needed, -1 not SSH; why says what was wrong. Every
 * byte is judged as soon as it is there, so "GET /" or a TLS record is
 * refused on its first byte. A line of printable ASCII after "SSH-2.0-",
 * ending in LF within ALK_VERLINE_MAX bytes; if more bytes follow at once,
 * they must open a KEXINIT packet (uint32 length, byte padding, byte 20,
 * byte[16] cookie), whose cookie goes to *cookie. Pure.
 */
static int gate_plain(const uint8_t *p, size_t n, const uint8_t **cookie, const char **why)
{
    static const char id[] = "SSH-2.0-";
    *cookie = NULL;
    *why = "not an SSH identification line";
    if (memcmp(p, id, MIN(n, sizeof id - 1)) != 0) return -1;
    size_t i = sizeof id - 1, lim = MIN(n, ALK_VERLINE_MAX);
    for (; i < lim && p[i] != '\n'; i++) /* printable, or CR just before the LF */
        if ((p[i] < 0x20 || p[i] > 0x7e) && !(p[i] == '\r' && (i + 1 == n || p[i + 1] == '\n')))
            return -1;
    if (i >= lim) return n >= ALK_VERLINE_MAX ? -1 : 0;
    size_t used = i + 1, ln = i - (p[i - 1] == '\r');
    if (ln <= sizeof id - 1) return -1;
    if (n == used) return 1; /* a client that waits for our line (OpenSSH) */
    if (n - used < 22) return 0;
    const uint8_t *k = p + used;
    uint32_t len = ld32_be(k);
    *why = "no KEXINIT after the identification line";
    /* padding length, type, cookie, ten name-lists, boolean, reserved, 4 padding: 67 */
    if (len < 67 || len > ALK_PKT_MAX || k[4] < 4 || k[5] != MSG_KEXINIT) return -1;
    *cookie = k + 6;
    return 1;
}

/* Judges c->in: 1 ours, 0 wait, -1 not ours (why set). */
static int gate_judge(struct ssh *c, const char **why)
{
    const uint8_t *p = buf_head(&c->in);
    if (!c->gate_tls) {
        const uint8_t *cookie;
        int r = gate_plain(p, c->in.len, &cookie, why);
        if (r == 1 && cookie && gate_replayed('S', cookie, 16)) {
            *why = "replayed first packet (KEXINIT cookie seen before)";
            return -1;
        }
        return r;
    }
    static struct tls_hello h; /* 2.3 KiB, filled and read at once */
    int r = tls_hello_parse(p, c->in.len, &h);
    if (r < 0) *why = "not a TLS ClientHello";
    if (r != 1) return r;
    if (!tls_hello_has_alpn(&h, tlsc.alpn)) {
        *why = h.nalpn ? "TLS ClientHello without our ALPN" : "TLS ClientHello without ALPN";
        return -1;
    }
    if (gate_replayed('T', h.random, 32)) {
        *why = "replayed TLS ClientHello (random seen before)";
        return -1;
    }
    return 1;
}

/* Not ours: to the fallback, or quietly to the door. eof: it already ended. */
static void gate_refuse(struct ssh *c, const char *why, int eof)
{
    if (sv.fallback.n && ev.nsp < ALK_SPLICE_MAX) {
        LOG(L_DEBUG, c->id, "%s: %s: spliced to --fallback", c->peer, why);
        sp_new(c->fd, &c->in, eof, &sv.fallback, c->id, c->peer);
        sv.spliced++;
        c->fd = -1;
        c->dead = 1;
        return;
    }
    uint32_t ms = GATE_DROP_MS + rnd_below(GATE_DROP_JITTER_MS);
    LOG(L_DEBUG, c->id, "%s: %s: closing in %lu ms without a word%s", c->peer, why,
        (unsigned long)ms, sv.fallback.n ? " (too many fallback splices)" : "");
    sv.dropped++;
    buf_free(&c->in);
    c->gate_drop = eof ? GATE_DONE : GATE_DROP;
    c->gate_until = MIN(ev.now + ms, c->t_start + c->grace_ms); /* --login-grace still holds */
}

/* Ours: on to the SSH (or TLS) handshake with what was read. */
static void gate_pass(struct ssh *c)
{
    c->ph = TP_1_VERSION;
    sv.conns++;
    LOG(L_INFO, c->id, "connection from %s%s", c->peer, c->gate_tls ? " (TLS)" : "");
    if (c->gate_tls) {
        c->tls = tls_new_server(&c->in);
        if (tp_tls(c, 0) < 0) tp_fail(c, c->err, "%s", c->why);
    } else {
        tp_input(c);
    }
}

static void sv_gate_read(struct ssh *c)
{
    if (c->gate_drop) {
        uint8_t junk[4096];
        ssize_t n = read(c->fd, junk, sizeof junk);
        if (n == 0) c->gate_drop = GATE_DONE; /* keep quiet until gate_until all the same */
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c->dead = 1;
        return;
    }
    size_t cap = c->gate_tls ? TLS_HELLO_MAX : GATE_PLAIN_MAX;
    buf_reserve(&c->in, cap - c->in.len, cap);
    ssize_t n = read(c->fd, buf_tail(&c->in), cap - c->in.len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n < 0) { /* reset: nobody left to hide from */
        LOG(L_DEBUG, c->id, "%s: %s before saying who it is", c->peer, strerror(errno));
        c->dead = 1;
        return;
    }
    if (n == 0) {
        gate_refuse(c, c->in.len ? "ended in its first bytes" : "closed without a word", 1);
        return;
    }
    c->in.len += (size_t)n;
    sv_gate_input(c);
}

/* What the visitor sent so far (c->in) decides; tp_input comes here
 * while the connection is at the gate. */
static void sv_gate_input(struct ssh *c)
{
    if (c->gate_drop) {
        buf_free(&c->in);
        return;
    }
    const char *why = NULL;
    int r = gate_judge(c, &why);
    if (r < 0) gate_refuse(c, why, 0);
    if (r > 0) gate_pass(c);
}

/* The gate's deadline: a silent or slow visitor, or the end of a drop. */
static void sv_gate_timer(struct ssh *c)
{
    if (c->gate_drop) {
        c->dead = 1;
        return;
    }
    gate_refuse(c, c->in.len ? "incomplete first bytes" : "silent", 0);
}

/* A new connection: make room if the unauthenticated ones are at the
 * limit, then let the gate judge it. */
static void sv_accept(int fd, const struct sockaddr *peer, int tls)
{
    char name[64];
    net_addr_str(peer, name, sizeof name);
    unsigned pending = 0;
    struct ssh *oldest = NULL;
    for (size_t i = 0; i < ev.nssh; i++) {
        struct ssh *o = ev.ssh[i];
        if (o->dead || o->authed || o->ph == TP_5_CLOSING) continue;
        pending++;
        /* the first to go: a visitor being dropped, then the oldest that has not spoken */
        if (o->ph <= TP_1_VERSION &&
            (!oldest || (o->gate_drop && !oldest->gate_drop) ||
             (!o->gate_drop == !oldest->gate_drop && o->t_start < oldest->t_start)))
            oldest = o;
    }
    if (pending >= cfg.max_startups) {
        if (!oldest) {
            if (ev.now - sv.full_logged >= 1000)
                LOG(L_WARN, 0, "%u connections are authenticating (--max-startups): refusing %s",
                    pending, name);
            sv.full_logged = ev.now;
            close(fd);
            return;
        }
        if (oldest->gate_drop)
            oldest->dead = 1;
        else
            tp_fail(oldest, -E_LIMIT, "--max-startups reached: dropped to make room for %s", name);
    }
    net_nonblock(fd);
    net_nodelay(fd);
    struct ssh *c = tp_new(fd, 1, name);
    c->gate_tls = tls ? 1 : 0;
    c->hk = &sv.hk;
    c->ver = cfg.banner ? cfg.banner : ALK_ID_STRING;
    c->ciphers = cfg.ciphers;
    c->grace_ms = (int64_t)cfg.login_grace * 1000;
    c->gate_until = ev.now + MIN(GATE_SILENT_MS + rnd_below(GATE_JITTER_MS), c->grace_ms);
    tp_apply_cfg(c);
    c->max_channels = cfg.max_channels;
    ev_add_conn(c);
    LOG(L_DEBUG, c->id, "%s: new %s visitor", name, tls ? "TLS" : "plain");
}

static void sv_conn_lost(struct ssh *c)
{
    const char *u = c->auth_user ? c->auth_user : "";
    if (c->ph == TP_0_GATE) return; /* a visitor the gate turned away: logged there (-v) */
    LOG(L_INFO, c->id, "%s%s%s closed after %lld s: %s; %llu bytes in, %llu out", c->peer,
        u[0] ? " user " : "", log_esc(u, strlen(u)), (long long)(ev.now - c->t_start) / 1000,
        c->err ? c->why : "ended", (unsigned long long)c->rx_total,
        (unsigned long long)c->tx_total);
    if (c->grant) {
        sv_set_release(c->grant->set);
        free(c->grant);
        c->grant = NULL;
    }
}

static void sv_stream_ended(const struct chan *ch) { (void)ch; }

static void sv_reload(void)
{
    struct ak_set *set = sv_load_keys();
    if (set) {
        sv_set_release(sv.keys);
        sv.keys = set;
    }
    if (cfg.config && !cfg.rules_from_cli) {
        /* the file's rules again; the command line's (if any) never change */
        uint8_t only[O_COUNT];
        memset(only, 1, sizeof only); /* "given": everything but the rules is skipped */
        only[O_ALLOW] = only[O_DENY] = 0;
        for (size_t i = 0; i < cfg.nrules; i++)
            free(cfg.rules[i].text);
        cfg.nrules = 0;
        struct pol p;
        if (cfg_file(cfg.config, C_SERVE, only) == 0 && sv_load_policy(&p) == 0) {
            pol_free(&sv.pol);
            sv.pol = p;
        } else {
            LOG(L_ERR, 0, "SIGHUP: the destination rules in %s are broken; keeping the old ones",
                cfg.config);
        }
    }
    rs_load_conf();
    LOG(L_INFO, 0, "SIGHUP: %zu keys from %s%s, %zu destination rules", sv.keys->a.n, cfg.auth_keys,
        set ? "" : " (kept: the new file is unusable)", sv.pol.n);
}

static void sv_on_signal(int sig)
{
    if (sig == SIGHUP) {
        sv_reload();
    } else if (sig == SIGUSR1) {
        size_t authed = 0, gate = 0;
        for (size_t i = 0; i < ev.nssh; i++)
            authed += ev.ssh[i]->authed, gate += ev.ssh[i]->ph == TP_0_GATE;
        LOG(L_INFO, 0,
            "status: %zu connections (%zu authenticated), %zu streams open, %zu visitors at the "
            "gate, %zu fallback splices; since start %llu connections, %llu streams, %llu visitors "
            "spliced to --fallback, %llu turned away",
            ev.nssh - gate, authed, ev.nch, gate, ev.nsp, (unsigned long long)sv.conns,
            (unsigned long long)sv.streams, (unsigned long long)sv.spliced,
            (unsigned long long)sv.dropped);
        ch_dump();
    } else if ((sig == SIGTERM || sig == SIGINT) && !sv.stopping) {
        LOG(L_INFO, 0, "signal %d: closing %zu connections and exiting", sig, ev.nssh);
        sv.stopping = 1;
        sv.stop_by = ev.now + 2000;
        for (size_t i = 0; i < ev.nlsn; i++)
            ev.lsn[i]->dead = 1;
        for (size_t i = 0; i < ev.nssh; i++)
            tp_fail(ev.ssh[i], -E_LOCAL, "server shutting down");
    }
}

static void sv_service(void)
{
    if (!sv.stopping) return;
    if (ev.nssh == 0 || ev.now >= sv.stop_by)
        ev.quit = 1;
    else
        ev_deadline(sv.stop_by);
}

/* The TLS certificate, --fallback and --outbound: what start-up must
 * settle before the first visitor. 0, or an exit code. */
static int sv_tls_setup(void)
{
    char err[PATH_MAX + 256];
    if (cfg.alpn) tlsc.alpn = cfg.alpn;
    if (cfg.ntlst) {
        if (cfg.tls_cert) {
            if (tls_load_server(cfg.tls_cert, cfg.tls_key, err, sizeof err) != 0) {
                say("%s", err);
                return ALK_EXIT_CONFIG;
            }
            uint8_t h[32];
            char b64[48];
            if (x509_spki_sha256(tlsc.chain[0].data, tlsc.chain[0].data_len, h) == 0) {
                b64_enc(b64, h, 32, 1);
                LOG(L_INFO, 0, "TLS certificate %s, key SHA256:%s (for --tls-pin)", cfg.tls_cert,
                    b64);
            }
        } else {
            char host[256] = "localhost";
            gethostname(host, sizeof host - 1);
            host[sizeof host - 1] = 0;
            host[strcspn(host, ".")] = 0; /* a short name says less */
            if (tls_make_server(host[0] ? host : "localhost", err, sizeof err) != 0) {
                say("%s", err);
                return ALK_EXIT_FAIL;
            }
        }
    }
    if (cfg.fallback) {
        char host[256];
        unsigned port;
        net_split(cfg.fallback, host, sizeof host, &port, NULL, 0);
        if (rs_addrs(host, port, &sv.fallback, err, sizeof err) != 0) {
            say("--fallback %s: %s", cfg.fallback, err);
            return ALK_EXIT_CONFIG;
        }
        LOG(L_INFO, 0, "visitors that are not SSH clients go to %s", cfg.fallback);
    }
    if (cfg.outbound) {
        const char *bad;
        if (px_parse(cfg.outbound, &sv.outbound, &bad) != 0) {
            say("--outbound: %s", bad);
            return ALK_EXIT_USAGE;
        }
        if (rs_addrs(sv.outbound.host, sv.outbound.port, &sv.outbound.addrs, err, sizeof err) !=
            0) {
            say("--outbound %s: %s", sv.outbound.shown, err);
            return ALK_EXIT_CONFIG;
        }
        dst_outbound = &sv.outbound;
        LOG(L_INFO, 0, "destinations are reached through %s", sv.outbound.shown);
    }
    return 0;
}

/* Loads the host key, creating it (0600) on first start. */
static int sv_host_key(void)
{
    char err[PATH_MAX + 256], fp[KEY_FP_LEN];
    if (access(cfg.host_key_file, F_OK) != 0) {
        char dir[PATH_MAX];
        fmt_s(dir, sizeof dir, "%s", cfg.host_key_file);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) *slash = 0, mkdirs(dir, 0700);
        memset(&sv.hk, 0, sizeof sv.hk);
        rnd_bytes(sv.hk.seed, 32);
        ed_pubkey(sv.hk.pk, sv.hk.seed);
        fmt_s(sv.hk.comment, sizeof sv.hk.comment, "alknet host key");
        if (key_save(cfg.host_key_file, &sv.hk, err, sizeof err) != 0) {
            say("%s", err);
            return -1;
        }
        LOG(L_INFO, 0, "created host key %s", cfg.host_key_file);
    } else if (key_load(cfg.host_key_file, &sv.hk, err, sizeof err) != 0) {
        say("%s", err);
        return -1;
    }
    key_fp(sv.hk.pk, fp);
    LOG(L_INFO, 0, "host key %s (%s)", fp, cfg.host_key_file);
    return 0;
}

static int sv_run(void)
{
    if (sv_host_key() != 0) return ALK_EXIT_CONFIG;
    if (!(sv.keys = sv_load_keys())) return ALK_EXIT_CONFIG;
    if (sv_load_policy(&sv.pol) != 0) return ALK_EXIT_USAGE;
    dst_pol = &sv.pol;
    if (rs_apply_dns(cfg.dns) != 0) return ALK_EXIT_USAGE;
    rs_load_conf();
    int rc = sv_tls_setup();
    if (rc) return rc;
    if (ev_init() != 0) {
        say("cannot create a pipe: %s", strerror(errno));
        return ALK_EXIT_FAIL;
    }
    if (!cfg.nlst && !cfg.ntlst) {
        cfg.lst = xcalloc(1, sizeof *cfg.lst);
        cfg.lst[0].lhost = xstrdup("0.0.0.0");
        cfg.lst[0].lport = 2222;
        cfg.nlst = 1;
    }
    for (size_t i = 0; i < cfg.nlst + cfg.ntlst; i++) {
        char err[300];
        int tls = i >= cfg.nlst;
        const struct fwd *f = tls ? &cfg.tlst[i - cfg.nlst] : &cfg.lst[i];
        int fd = net_listen(f->lhost, f->lport, err, sizeof err);
        if (fd < 0) {
            say("%s", err);
            return ALK_EXIT_FORWARD;
        }
        struct lsn *l = lsn_new(fd, tls ? LK_TLS : LK_SSH);
        net_hostport(l->name, sizeof l->name, f->lhost, net_local_port(fd));
        LOG(L_INFO, 0, "listening on %s%s", l->name, tls ? " (TLS)" : "");
    }
    LOG(L_INFO, 0,
        "alknet %s: %zu authorized keys, %zu destination rules before the default "
        "policy",
        ALK_VERSION, sv.keys->a.n, sv.pol.n);
    static const struct ev_role server_role = {sv_service, sv_on_signal, sv_conn_lost,
                                               sv_stream_ended, NULL};
    role = &server_role;
    ev.now = now_ms();
    ev_run();
    sv_set_release(sv.keys);
    pol_free(&sv.pol);
    WIPE(sv.hk);
    tls_cfg_free();
    WIPE(sv.outbound);
    return ALK_EXIT_OK;
}

/* ==================== SECTION 19: keygen, pubkey, main ==================== */

static void cmd_print_fp(const struct key *k)
{
    char fp[KEY_FP_LEN];
    key_fp(k->pk, fp);
    fmt_to(stdout, "256 %s %s (ED25519)\n", fp, k->comment[0] ? k->comment : "no comment");
}

static int cmd_keygen(void)
{
    char path[PATH_MAX], err[PATH_MAX + 128], host[128] = "localhost";
    struct key k;
    memset(&k, 0, sizeof k);
    if (cfg.file) {
        fmt_s(path, sizeof path, "%s", cfg.file);
    } else {
        fmt_s(path, sizeof path, "%s/.alknet", home_dir());
        mkdirs(path, 0700);
        fmt_s(path, sizeof path, "%s/.alknet/id_ed25519", home_dir());
    }
    if (cfg.comment) {
        fmt_s(k.comment, sizeof k.comment, "%s", cfg.comment);
    } else {
        struct passwd *pw = getpwuid(getuid());
        gethostname(host, sizeof host - 1);
        fmt_s(k.comment, sizeof k.comment, "%s@%s", pw ? pw->pw_name : "alknet", host);
    }
    if (strlen(cfg.comment ? cfg.comment : "") >= sizeof k.comment) {
        say("comment too long (at most %zu bytes)", sizeof k.comment - 1);
        return ALK_EXIT_USAGE;
    }
    rnd_bytes(k.seed, 32);
    ed_pubkey(k.pk, k.seed);
    int rc = key_save(path, &k, err, sizeof err);
    if (rc != 0) {
        WIPE(k);
        say("%s", err);
        return ALK_EXIT_CONFIG;
    }
    char line[512];
    key_pub_line(&k, line, sizeof line);
    fmt_to(stdout, "Wrote %s (private, 0600) and %s.pub\n%s\n", path, path, line);
    cmd_print_fp(&k);
    WIPE(k);
    return ALK_EXIT_OK;
}

static int cmd_pubkey(void)
{
    char path[PATH_MAX], err[PATH_MAX + 256];
    struct key k;
    if (cfg.file) {
        fmt_s(path, sizeof path, "%s", cfg.file);
    } else {
        fmt_s(path, sizeof path, "%s/.alknet/id_ed25519", home_dir());
        if (access(path, F_OK) != 0) fmt_s(path, sizeof path, "%s/.ssh/id_ed25519", home_dir());
    }
    /* a public key line, or a private key file */
    char *text = file_read(path, KEY_FILE_MAX, NULL, err, sizeof err);
    if (!text) {
        say("%s", err);
        return ALK_EXIT_CONFIG;
    }
    int pub = strncmp(skip_ws(text), "ssh-", 4) == 0;
    int rc = pub ? key_parse_pub(text, &k) : key_load(path, &k, err, sizeof err);
    wipe(text, strlen(text));
    free(text);
    if (rc != 0) {
        if (pub)
            say("%s: not an ssh-ed25519 public key line", path);
        else
            say("%s", err);
        return ALK_EXIT_CONFIG;
    }
    char line[512];
    key_pub_line(&k, line, sizeof line);
    fmt_to(stdout, "%s\n", line);
    cmd_print_fp(&k);
    WIPE(k);
    return ALK_EXIT_OK;
}

/* see alknet.h */
int alk_main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    ci_init();
    if (argc < 2) {
        cfg_help(stderr, 0);
        return ALK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        fmt_to(stdout, "alknet %s (BearSSL; ciphers: %s first)\n", ALK_VERSION,
               ci.aes_hw ? "AES-GCM" : "ChaCha20-Poly1305");
        return ALK_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cfg_help(stdout, 0);
        return ALK_EXIT_OK;
    }
    enum cmd cmd = 0;
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
        if (strcmp(argv[1], cmds[i].name) == 0) cmd = cmds[i].cmd;
    if (!cmd) {
        fmt_to(stderr, "alknet: unknown command '%s'\n", argv[1]);
        cfg_help(stderr, 0);
        return ALK_EXIT_USAGE;
    }
    int rc = cfg_args(cmd, argc - 2, argv + 2);
    if (rc) return rc < 0 ? ALK_EXIT_OK : rc;
    lg.level = cfg.quiet ? L_ERR : L_INFO + cfg.verbose;
    if (lg.level > L_TRACE) lg.level = L_TRACE;
    lg.syslog = cfg.use_syslog;
    switch (cmd) {
    case C_KEYGEN:
        rc = cmd_keygen();
        break;
    case C_PUBKEY:
        rc = cmd_pubkey();
        break;
    case C_SERVE:
        rc = sv_run();
        break;
    default:
        rc = cl_run();
        break;
    }
    cfg_free();
    return rc;
}

#ifndef ALKNET_NO_MAIN
int main(int argc, char **argv) { return alk_main(argc, argv); }
#endif
