/*
 * Shared by the libFuzzer targets in tests/fuzz/: alknet.c included whole
 * in its fuzz build (ALKNET_FUZZ: seeded randomness, the none@fuzz cipher,
 * bad signatures let through; see SECTION 1), so the code under test is
 * the code alknet runs. Build and run: make fuzz, make fuzz-replay.
 *
 * Each target may also be built with -DFUZZ_SEEDS, which replaces libFuzzer
 * with a main() that writes the target's generated seed inputs into a
 * directory (tests/fuzz/make_corpus.py does that).
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
#else
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
        if (ev.nssh == 0 || c->ph == TP_5_CLOSING) break;
    }
}

/* Seed-writing helpers: packets framed as alknet frames them. */
#ifdef FUZZ_SEEDS
struct fz_out {
    struct ssh *c;
    uint8_t buf[1 << 16];
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
static ALK_UNUSED void fz_out_done(struct fz_out *o, const char *dir, const char *name)
{
    fz_write(dir, name, o->buf, o->len);
    tp_free(o->c);
}
/* KEXINIT offering none@fuzz first, as the fuzz world expects. */
static ALK_UNUSED void fz_kexinit(struct wr *w, int server)
{
    wr_u8(w, MSG_KEXINIT);
    for (int i = 0; i < 16; i++)
        wr_u8(w, (uint8_t)i);
    wr_cstr(w, server ? "curve25519-sha256,kex-strict-s-v00@openssh.com"
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
#endif
