/*
 * Shared by the libFuzzer targets in tests/fuzz/: alknet.c included whole
 * in its fuzz build (ALKNET_FUZZ: seeded randomness, the none@fuzz cipher,
 * bad signatures let through; see SECTION 1), so the code under test is
 * the code alknet runs. Build and run: make fuzz, make fuzz-replay.
 *
 * Each target may also be built with -DFUZZ_SEEDS, which replaces libFuzzer
 * with a main() that writes the target's generated seed inputs into a
 * directory (tests/fuzz/make_corpus.py does that). -DFUZZ_UNIT gives a
 * unit test program the same world and session builders, with a main of
 * its own (tests/unit_abuse.c).
 */
#define ALKNET_NO_MAIN
#define ALKNET_FUZZ
#include "../../alknet.c"

/* The loop's role for targets that run no connection of their own. */
static void fz_nop(void) {}
static void fz_nop_sig(int sig) { (void)sig; }
static void fz_nop_conn(struct ssh *c) { (void)c; }
static void fz_nop_stream(const struct chan *ch) { (void)ch; }
static const struct ev_role fz_nop_role = {fz_nop, fz_nop_sig, fz_nop_conn, fz_nop_stream, fz_nop};

/* Logs stay off (they cost time), unless ALK_FUZZ_LOG is set to debug a
 * harness; the role starts as the no-op one. */
static ALK_UNUSED void fz_log(void)
{
    lg.level = getenv("ALK_FUZZ_LOG") ? L_TRACE : -1;
    if (!role) role = &fz_nop_role;
}

#if defined(FUZZ_SEEDS) || defined(FUZZ_UNIT)
#define FZ_BUILDERS
#endif
#ifdef FUZZ_SEEDS
static void fz_seeds(const char *dir);
static void fz_write(const char *dir, const char *name, const void *p, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    fz_log();
    ci_init();
    rnd_test_seed(7);
    fz_seeds(argv[1]);
    return 0;
}
#elif !defined(FUZZ_UNIT)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

/* The fixed keys of the fuzz world: a client key and a host key. */
static struct key fz_client_key, fz_host_key;
static ALK_UNUSED void fz_keys(void)
{
    memset(&fz_client_key, 0, sizeof fz_client_key);
    memset(&fz_host_key, 0, sizeof fz_host_key);
    memset(fz_client_key.seed, 1, 32);
    memset(fz_host_key.seed, 2, 32);
    ed_pubkey(fz_client_key.pk, fz_client_key.seed);
    ed_pubkey(fz_host_key.pk, fz_host_key.seed);
    snprintf(fz_client_key.comment, sizeof fz_client_key.comment, "fuzz");
}

/* The fuzz world, once per process: logs off, the CPU's cipher choices,
 * the fixed keys. 1 on the first call, when the caller sets up the rest. */
static ALK_UNUSED int fz_world(void)
{
    static int done;
    if (done) return 0;
    done = 1;
    fz_log();
    ci_init();
    fz_keys();
    return 1;
}

/* A connected pair of non-blocking sockets: [0] is alknet's, [1] ours. */
static ALK_UNUSED void fz_pair(int fd[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd) != 0) abort();
    net_nonblock(fd[0]);
    net_nonblock(fd[1]);
}

static ALK_UNUSED void fz_drain(int fd)
{
    char b[65536];
    while (read(fd, b, sizeof b) > 0) {
    }
}

/* One pass of the loop that never waits: upkeep of every stream and
 * connection (EOF, CLOSE, window adjusts, flushing), poll with a zero
 * timeout, the I/O of whatever is ready (local sockets; the SSH socket
 * itself stays silent, its input comes from fz_feed), then the reaping. */
static ALK_UNUSED void fz_pass(void)
{
    ev_build();
    if (poll(evp.pfd, (nfds_t)evp.n, 0) > 0) ev_dispatch();
    ev_reap();
}

/* Ends everything still alive and frees it, so each input starts clean. */
static ALK_UNUSED void fz_teardown(void)
{
    for (size_t i = 0; i < ev.nssh; i++)
        ev.ssh[i]->dead = 1;
    for (size_t i = 0; i < ev.nch; i++)
        if (!ev.ch[i]->dead) ch_finish(ev.ch[i], 0);
    ev_reap();
    for (size_t i = 0; i < ev.nlsn; i++)
        ev.lsn[i]->dead = 1;
    ev_reap();
}

/* Is c still in the loop's table (not reaped and freed)? */
static ALK_UNUSED int fz_live(const struct ssh *c)
{
    for (size_t i = 0; i < ev.nssh; i++)
        if (ev.ssh[i] == c) return 1;
    return 0;
}

/*
 * Feeds a peer's byte stream to connection c the way reads would: the
 * first byte picks the segment size (1..256), so that every split of
 * every packet gets tried. Stops when the connection is gone.
 */
static ALK_UNUSED void fz_feed(struct ssh *c, const uint8_t *data, size_t size, int peer_fd)
{
    if (size == 0) return;
    size_t chunk = (size_t)data[0] + 1;
    data++, size--;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = MIN(chunk, size - off);
        buf_reserve(&c->in, n, ALK_IBUF);
        memcpy(buf_tail(&c->in), data + off, n);
        c->in.len += n;
        tp_input(c);
        fz_pass();
        fz_drain(peer_fd);
        if (!fz_live(c) || c->ph == TP_5_CLOSING) break;
    }
}

/*
 * The world of `alknet serve` under test: one authorized key (the fuzz
 * client key), destination rules that deny every address (so nothing
 * connects out; alknet-echo still works), signatures not required to
 * verify (ALKNET_FUZZ). Set up once.
 */
static const struct ev_role fz_server_role = {sv_service, sv_on_signal, sv_conn_lost,
                                              sv_stream_ended, NULL};

static ALK_UNUSED void fz_server_world(void)
{
    if (!fz_world()) return;
    char line[512];
    key_pub_line(&fz_client_key, line, sizeof line - 2);
    strcat(line, "\n");
    sv.hk = fz_host_key;
    sv.keys = xcalloc(1, sizeof *sv.keys);
    ak_parse(line, "fuzz", &sv.keys->a);
    sv.keys->refs = 1;
    pol_add(&sv.pol, 1, "alknet-echo"); /* the one destination of the fuzz world */
    pol_add(&sv.pol, 0, "*");
    dst_pol = &sv.pol;
    role = &fz_server_role;
}

/* A connection of `alknet serve` on fd, as sv_accept makes one. The
 * gate's replay filter starts empty: every session of the fuzz world
 * offers the same KEXINIT cookie, and each is judged alone. */
static ALK_UNUSED struct ssh *fz_server_conn(int fd, const char *ciphers)
{
    memset(&gate_seen, 0, sizeof gate_seen);
    struct ssh *c = tp_new(fd, 1, "fuzz");
    c->hk = &sv.hk;
    c->ciphers = ciphers;
    c->grace_ms = 30000;
    c->max_channels = 8;
    ev_add_conn(c);
    return c;
}

/* Seed-writing helpers: packets framed as alknet frames them. */
#ifdef FZ_BUILDERS
#ifndef FZ_OUT_MAX
#define FZ_OUT_MAX (1 << 16)
#endif
struct fz_out {
    struct ssh *c;
    uint8_t buf[FZ_OUT_MAX];
    size_t len;
};
static ALK_UNUSED void fz_out_init(struct fz_out *o, int chunk)
{
    o->c = tp_new(-1, 0, "seed");
    o->buf[0] = (uint8_t)(chunk - 1);
    o->len = 1;
}
static ALK_UNUSED void fz_out_line(struct fz_out *o, const char *line)
{
    memcpy(o->buf + o->len, line, strlen(line));
    o->len += strlen(line);
}
/* Seals payload p with the current tx cipher (none, then none@fuzz). */
static ALK_UNUSED void fz_out_pkt(struct fz_out *o, const struct wr *p)
{
    struct wr w = tp_begin(o->c, p->len);
    wr_bytes(&w, p->p, p->len);
    tp_seal(o->c, w.p - 5, w.len);
    memcpy(o->buf + o->len, buf_head(&o->c->out), o->c->out.len);
    o->len += o->c->out.len;
    buf_consume(&o->c->out, o->c->out.len);
}
static ALK_UNUSED void fz_out_newkeys(struct fz_out *o)
{
    uint8_t b[1] = {MSG_NEWKEYS};
    struct wr w = wr_init(b, 1);
    w.len = 1;
    fz_out_pkt(o, &w);
    o->c->tx.alg = ci_find("none@fuzz", 9);
}
#ifdef FUZZ_SEEDS
static ALK_UNUSED void fz_out_done(struct fz_out *o, const char *dir, const char *name)
{
    fz_write(dir, name, o->buf, o->len);
    tp_free(o->c);
}
#endif
/* KEXINIT offering none@fuzz first, as the fuzz world expects. */
static ALK_UNUSED void fz_kexinit(struct wr *w, int server)
{
    wr_u8(w, MSG_KEXINIT);
    for (int i = 0; i < 16; i++)
        wr_u8(w, (uint8_t)i);
    wr_cstr(w, server
                   ? "curve25519-sha256,kex-strict-s-v00@openssh.com"
                   : "curve25519-sha256,curve25519-sha256@libssh.org,kex-strict-c-v00@openssh.com");
    wr_cstr(w, "ssh-ed25519");
    wr_cstr(w, "none@fuzz,chacha20-poly1305@openssh.com");
    wr_cstr(w, "none@fuzz,chacha20-poly1305@openssh.com");
    wr_cstr(w, "hmac-sha2-256");
    wr_cstr(w, "hmac-sha2-256");
    wr_cstr(w, "none");
    wr_cstr(w, "none");
    wr_cstr(w, "");
    wr_cstr(w, "");
    wr_u8(w, 0);
    wr_u32(w, 0);
}

/* A client's messages to `alknet serve`, for put() (the targets that play
 * the client define FZ_SERVER_BUILDERS; fuzz_client has its own). */
#ifdef FZ_SERVER_BUILDERS
static ALK_UNUSED void put(struct fz_out *o, void (*build)(struct wr *w, const void *arg),
                           const void *arg)
{
    uint8_t b[4096];
    struct wr w = wr_init(b, sizeof b);
    build(&w, arg);
    fz_out_pkt(o, &w);
}
static ALK_UNUSED void b_kexinit(struct wr *w, const void *a) { (void)a, fz_kexinit(w, 0); }
static ALK_UNUSED void b_ecdh(struct wr *w, const void *a)
{
    uint8_t sk[32], pk[32];
    (void)a;
    memset(sk, 9, 32);
    ci_x25519_base(pk, sk);
    wr_u8(w, MSG_KEX_ECDH_INIT);
    wr_str(w, pk, 32);
}
static ALK_UNUSED void b_str(struct wr *w, const void *a) /* "type|string" */
{
    const char *s = a;
    wr_u8(w, (uint8_t)s[0]);
    wr_cstr(w, s + 1);
}
static ALK_UNUSED void b_auth(struct wr *w, const void *a)
{
    int kind = *(const int *)a; /* 0 none, 1 query, 2 signed, 3 password */
    uint8_t blob[KEY_BLOB_LEN], sig[64] = {0};
    key_blob(fz_client_key.pk, blob);
    wr_u8(w, MSG_USERAUTH_REQUEST);
    wr_cstr(w, "fuzz");
    wr_cstr(w, "ssh-connection");
    wr_cstr(w, kind == 0 ? "none" : kind == 3 ? "password" : "publickey");
    if (kind == 3) wr_u8(w, 0), wr_cstr(w, "secret");
    if (kind == 1 || kind == 2) {
        wr_u8(w, kind == 2);
        wr_cstr(w, "ssh-ed25519");
        wr_str(w, blob, sizeof blob);
        if (kind == 2) {
            wr_u32(w, 4 + 11 + 4 + 64);
            wr_cstr(w, "ssh-ed25519");
            wr_str(w, sig, 64);
        }
    }
}
static ALK_UNUSED void b_open(struct wr *w, const void *a)
{
    const char *host = a;
    static uint32_t id;
    wr_u8(w, MSG_CHANNEL_OPEN);
    if (strcmp(host, "session") == 0 || strcmp(host, "x11") == 0) {
        wr_cstr(w, host);
        wr_u32(w, id++), wr_u32(w, 65536), wr_u32(w, 32768);
        return;
    }
    wr_cstr(w, "direct-tcpip");
    wr_u32(w, id++), wr_u32(w, 65536), wr_u32(w, 32768);
    wr_cstr(w, host);
    wr_u32(w, 80);
    wr_cstr(w, "127.0.0.1");
    wr_u32(w, 4444);
}
static ALK_UNUSED void b_chan(struct wr *w, const void *a) /* {type, channel, extra} */
{
    const uint32_t *v = a;
    wr_u8(w, (uint8_t)v[0]);
    wr_u32(w, v[1]);
    if (v[0] == MSG_CHANNEL_DATA) wr_cstr(w, "hello, echo");
    if (v[0] == MSG_CHANNEL_WINDOW_ADJUST) wr_u32(w, v[2]);
    if (v[0] == MSG_CHANNEL_REQUEST) wr_cstr(w, "keepalive@openssh.com"), wr_u8(w, 1);
}
static ALK_UNUSED void b_global(struct wr *w, const void *a)
{
    wr_u8(w, MSG_GLOBAL_REQUEST);
    wr_cstr(w, a);
    wr_u8(w, 1);
    if (strcmp(a, "tcpip-forward") == 0) wr_cstr(w, ""), wr_u32(w, 8080);
}
static ALK_UNUSED void b_disconnect(struct wr *w, const void *a)
{
    (void)a;
    wr_u8(w, MSG_DISCONNECT);
    wr_u32(w, 11);
    wr_cstr(w, "bye");
    wr_cstr(w, "");
}

#endif
#endif
