/*
 * The SSH transport as `alknet serve` runs it, fed what a client sends:
 * identification line, key exchange, authentication, connection protocol.
 * The fuzz world: one authorized key, destination rules that deny every
 * address (so nothing connects out; alknet-echo still works), signatures
 * not required to verify (ALKNET_FUZZ).
 */
#include "fuzz.h"

static const struct ev_role fz_role = {sv_service, sv_on_signal, sv_conn_lost, sv_stream_ended,
                                       NULL};

static void fz_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    fz_log();
    ci_init();
    fz_keys();
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
    role = &fz_role;
}

#ifndef FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv2[2];
    fz_init();
    rnd_test_seed(1);
    memset(&gate_seen, 0, sizeof gate_seen); /* each input judged alone, not as a replay */
    fz_pair(sv2);
    struct ssh *c = tp_new(sv2[0], 1, "fuzz");
    c->hk = &sv.hk;
    c->ciphers = "none@fuzz,chacha20-poly1305@openssh.com,aes128-gcm@openssh.com";
    c->grace_ms = 30000;
    c->max_channels = 8;
    ev_add_conn(c);
    fz_feed(c, data, size, sv2[1]);
    fz_teardown();
    close(sv2[1]);
    return 0;
}
#else
static void put(struct fz_out *o, void (*build)(struct wr *w, const void *arg), const void *arg)
{
    uint8_t b[4096];
    struct wr w = wr_init(b, sizeof b);
    build(&w, arg);
    fz_out_pkt(o, &w);
}
static void b_kexinit(struct wr *w, const void *a) { (void)a, fz_kexinit(w, 0); }
static void b_ecdh(struct wr *w, const void *a)
{
    uint8_t sk[32], pk[32];
    (void)a;
    memset(sk, 9, 32);
    ci_x25519_base(pk, sk);
    wr_u8(w, MSG_KEX_ECDH_INIT);
    wr_str(w, pk, 32);
}
static void b_str(struct wr *w, const void *a) /* "type|string" */
{
    const char *s = a;
    wr_u8(w, (uint8_t)s[0]);
    wr_cstr(w, s + 1);
}
static void b_auth(struct wr *w, const void *a)
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
static void b_open(struct wr *w, const void *a)
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
static void b_chan(struct wr *w, const void *a) /* {type, channel, extra} */
{
    const uint32_t *v = a;
    wr_u8(w, (uint8_t)v[0]);
    wr_u32(w, v[1]);
    if (v[0] == MSG_CHANNEL_DATA) wr_cstr(w, "hello, echo");
    if (v[0] == MSG_CHANNEL_WINDOW_ADJUST) wr_u32(w, v[2]);
    if (v[0] == MSG_CHANNEL_REQUEST) wr_cstr(w, "keepalive@openssh.com"), wr_u8(w, 1);
}
static void b_global(struct wr *w, const void *a)
{
    wr_u8(w, MSG_GLOBAL_REQUEST);
    wr_cstr(w, a);
    wr_u8(w, 1);
    if (strcmp(a, "tcpip-forward") == 0) wr_cstr(w, ""), wr_u32(w, 8080);
}
static void b_disconnect(struct wr *w, const void *a)
{
    (void)a;
    wr_u8(w, MSG_DISCONNECT);
    wr_u32(w, 11);
    wr_cstr(w, "bye");
    wr_cstr(w, "");
}

static void session(const char *dir, const char *name, int chunk, int rekey)
{
    struct fz_out o;
    int none = 0, query = 1, sig = 2, pw = 3;
    fz_out_init(&o, chunk);
    fz_out_line(&o, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n");
    put(&o, b_kexinit, NULL);
    put(&o, b_ecdh, NULL);
    fz_out_newkeys(&o);
    put(&o, b_str, "\x05ssh-userauth");
    put(&o, b_auth, &none);
    put(&o, b_auth, &pw);
    put(&o, b_auth, &query);
    put(&o, b_auth, &sig);
    put(&o, b_global, "keepalive@openssh.com");
    put(&o, b_global, "tcpip-forward");
    put(&o, b_open, "alknet-echo");
    put(&o, b_open, "example.com");
    put(&o, b_open, "session");
    put(&o, b_open, "x11");
    put(&o, b_open, "alknet-unknown");
    uint32_t data[] = {MSG_CHANNEL_DATA, 0, 0}, adj[] = {MSG_CHANNEL_WINDOW_ADJUST, 0, 65536},
             req[] = {MSG_CHANNEL_REQUEST, 0, 0}, eof[] = {MSG_CHANNEL_EOF, 0, 0},
             cls[] = {MSG_CHANNEL_CLOSE, 0, 0};
    put(&o, b_chan, data);
    put(&o, b_chan, adj);
    put(&o, b_chan, req);
    put(&o, b_chan, data);
    if (rekey) {
        put(&o, b_kexinit, NULL);
        put(&o, b_ecdh, NULL);
        fz_out_newkeys(&o);
        put(&o, b_chan, data);
    }
    put(&o, b_chan, eof);
    put(&o, b_chan, cls);
    put(&o, b_str, "\x02");
    put(&o, b_disconnect, NULL);
    fz_out_done(&o, dir, name);
}

static void fz_seeds(const char *dir)
{
    fz_init();
    session(dir, "session-256", 256, 0);
    session(dir, "session-rekey-97", 97, 1);
    session(dir, "session-7", 7, 0);
    struct fz_out o;
    fz_out_init(&o, 256);
    fz_out_line(&o, "SSH-2.0-x\r\n");
    put(&o, b_kexinit, NULL);
    fz_out_done(&o, dir, "version-kexinit");
    static const char garbage[] = "\xffGET / HTTP/1.1\r\nHost: example\r\n\r\n";
    fz_write(dir, "garbage-http", garbage, sizeof garbage - 1);
}
#endif
