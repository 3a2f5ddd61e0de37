/*
 * A peer that breaks the connection protocol on purpose: `alknet serve`'s
 * transport (the code it runs, in the fuzz world of tests/fuzz/fuzz.h:
 * none@fuzz cipher, signatures let through) gets a real login and an
 * alknet-echo channel, then one abusive message. The abuser must be
 * disconnected with a reason that names what it did, while a second
 * connection, logged in beside it, keeps echoing.
 *
 * Build: make build/unit_abuse (no libFuzzer; plain cc).
 */
#define FUZZ_UNIT
#define FZ_SERVER_BUILDERS
#define FZ_OUT_MAX (4 << 20) /* 70 full CHANNEL_DATA packets, more than a window */
#include "fuzz/fuzz.h"
#include "unit.h"

static struct fz_out out; /* 4 MiB: not on the stack */

/* The server's role, with a note of why each connection ended: the loop
 * frees a connection right after telling its role. */
static unsigned lost_id;
static char lost_why[sizeof ((struct ssh *)0)->why];
static void note_lost(struct ssh *c)
{
    lost_id = c->id;
    snprintf(lost_why, sizeof lost_why, "%s", c->why);
    sv_conn_lost(c);
}
static const struct ev_role abuse_role = {sv_service, sv_on_signal, note_lost, sv_stream_ended,
                                          NULL};

/* Identification, key exchange, login and CHANNEL_OPEN alknet-echo (our
 * channel 0, announced window 65536, maximum packet maxp). */
static void login_and_open(uint32_t maxp)
{
    int sig = 2;
    fz_out_init(&out, 256);
    fz_out_line(&out, "SSH-2.0-OpenSSH_9.2p1\r\n");
    put(&out, b_kexinit, NULL);
    put(&out, b_ecdh, NULL);
    fz_out_newkeys(&out);
    put(&out, b_str, "\x05ssh-userauth");
    put(&out, b_auth, &sig);
    uint8_t b[128];
    struct wr w = wr_init(b, sizeof b);
    wr_u8(&w, MSG_CHANNEL_OPEN);
    wr_cstr(&w, "direct-tcpip");
    wr_u32(&w, 0), wr_u32(&w, 65536), wr_u32(&w, maxp);
    wr_cstr(&w, "alknet-echo"), wr_u32(&w, 7);
    wr_cstr(&w, "127.0.0.1"), wr_u32(&w, 4444);
    fz_out_pkt(&out, &w);
}

static void msg_u32x2(uint8_t type, uint32_t a, uint32_t b)
{
    uint8_t p[9];
    struct wr w = wr_init(p, sizeof p);
    wr_u8(&w, type), wr_u32(&w, a), wr_u32(&w, b);
    fz_out_pkt(&out, &w);
}

static void msg_data(uint32_t chan, size_t n)
{
    static uint8_t p[9 + 32768];
    struct wr w = wr_init(p, sizeof p);
    wr_u8(&w, MSG_CHANNEL_DATA), wr_u32(&w, chan);
    wr_u32(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        wr_u8(&w, (uint8_t)i);
    fz_out_pkt(&out, &w);
}

/* A server connection on a socket pair, as sv_accept would make it. */
static struct ssh *conn(int pair[2])
{
    fz_pair(pair);
    return fz_server_conn(pair[0], "none@fuzz");
}

/* Feeds what `out` holds to c, one 256-byte segment a pass. */
static void feed(struct ssh *c, int peer)
{
    fz_feed(c, out.buf, out.len, peer);
    tp_free(out.c);
}

static int alive_and_open(const struct ssh *c)
{
    return fz_live(c) && !c->dead && c->ph == TP_4_OPEN;
}

/* One case: the bystander logs in, the abuser logs in and misbehaves. */
static void abuse(const char *name, void (*misbehave)(void), const char *why)
{
    group = name;
    int a[2], b[2];
    struct ssh *by = conn(b);
    login_and_open(32768);
    feed(by, b[1]);
    CHECK(alive_and_open(by), "%s: the bystander did not get in", name);
    struct ssh *ab = conn(a);
    unsigned ab_id = ab->id;
    login_and_open(32768);
    misbehave();
    lost_id = 0;
    fz_feed(ab, out.buf, out.len, a[1]); /* stops once ab is closing; it may be freed then */
    tp_free(out.c);
    fz_pass();
    CHECK(lost_id == ab_id, "%s: the abuser is still connected", name);
    CHECK(lost_id == ab_id && strstr(lost_why, why), "%s: reason '%s', expected '%s'", name,
          lost_why, why);
    CHECK(alive_and_open(by), "%s: the bystander was disconnected too", name);
    /* the bystander's echo still answers */
    uint64_t up = 0;
    for (size_t i = 0; i < ev.nch; i++)
        if (ev.ch[i]->c == by) up = ev.ch[i]->up;
    fz_out_init(&out, 256);
    out.c->tx.alg = ci_find("none@fuzz", 9);
    out.c->rx.alg = out.c->tx.alg;
    msg_data(0, 100);
    fz_feed(by, out.buf, out.len, b[1]);
    tp_free(out.c);
    fz_pass();
    uint64_t up2 = 0;
    for (size_t i = 0; i < ev.nch; i++)
        if (ev.ch[i]->c == by) up2 = ev.ch[i]->up;
    CHECK(up2 == up + 100, "%s: the bystander's echo sent %llu bytes back, expected %llu", name,
          (unsigned long long)up2, (unsigned long long)(up + 100));
    fz_teardown();
    close(a[1]), close(b[1]);
}

static void window_overflow(void) { msg_u32x2(MSG_CHANNEL_WINDOW_ADJUST, 0, 0xffffffffu); }
static void unknown_channel_data(void) { msg_data(77, 10); }
static void unknown_channel_adjust(void) { msg_u32x2(MSG_CHANNEL_WINDOW_ADJUST, 5, 100); }
static void unknown_channel_close(void)
{
    uint8_t p[5];
    struct wr w = wr_init(p, sizeof p);
    wr_u8(&w, MSG_CHANNEL_CLOSE), wr_u32(&w, 3);
    fz_out_pkt(&out, &w);
}
static void beyond_window(void) /* 70 x 32 KiB > the 2 MiB window we gave */
{
    for (int i = 0; i < 70; i++)
        msg_data(0, 32768);
}
static void huge_packet(void) /* packet_length 2^31: past RFC 4253 6.1 */
{
    static const uint8_t p[] = {0x80, 0, 0, 0, 4, MSG_IGNORE, 0, 0, 0, 0};
    memcpy(out.buf + out.len, p, sizeof p);
    out.len += sizeof p;
}

int main(void)
{
    fz_server_world();
    role = &abuse_role;
    lg.level = getenv("ALK_FUZZ_LOG") ? L_TRACE : -1;
    rnd_test_seed(3);
    abuse("window adjust past 2^32-1", window_overflow, "window adjust overflows 2^32-1");
    abuse("data on a channel never opened", unknown_channel_data, "which is not open");
    abuse("window adjust for a channel never opened", unknown_channel_adjust, "which is not open");
    abuse("close for a channel never opened", unknown_channel_close, "which is not open");
    abuse("data beyond the window", beyond_window, "with a window of");
    abuse("packet of 2 GiB", huge_packet, "bad packet length");

    /* a maximum packet of 2^32-1 is legal (RFC 4254 5.1): we send at
     * most 32 KiB a packet anyway, and the connection works */
    int a[2];
    struct ssh *c = conn(a);
    login_and_open(0xffffffffu);
    msg_data(0, 32768);
    msg_data(0, 32768);
    feed(c, a[1]);
    fz_pass();
    CHECK(alive_and_open(c), "maximum packet 2^32-1: the connection ended: %s", lost_why);
    uint64_t up = 0;
    for (size_t i = 0; i < ev.nch; i++)
        if (ev.ch[i]->c == c) up = ev.ch[i]->up;
    CHECK(up == 65536, "maximum packet 2^32-1: %llu bytes echoed, expected 65536 (window)",
          (unsigned long long)up);
    fz_teardown();
    close(a[1]);

    printf("unit_abuse: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
