/*
 * The SSH transport as `alknet connect` runs it, fed what a server sends:
 * identification line, key exchange (host key recorded as on first use,
 * signature not required to verify in the fuzz build), authentication
 * answers, and the connection protocol for three streams that are waiting
 * for the transport (two -L, one SOCKS), whose CHANNEL_OPENs go out once
 * authentication succeeds: channel numbers 0, 1, 2. Each local side has a
 * request waiting to be sent (the second one then half-closes).
 */
#include "fuzz.h"

static const struct ev_role fz_role = {cl_service, cl_on_signal, cl_lost, cl_stdio_ended,
                                       cl_conn_ready};

static void fz_init(void)
{
    if (fz_world()) role = &fz_role;
}

#ifndef FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd[2], local[3][2];
    fz_init();
    rnd_test_seed(1);
    memset(&cl, 0, sizeof cl);
    cl.cfd = cl.fl0 = cl.fl1 = -1;
    snprintf(cl.target, sizeof cl.target, "fuzz:22");
    fz_pair(fd);
    struct ssh *c = tp_new(fd[0], 0, "fuzz");
    c->ciphers = "none@fuzz,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com";
    c->user = "fuzz";
    c->ident = &fz_client_key;
    c->host = "fuzz";
    c->port = 22;
    c->known_hosts = "/dev/null"; /* --accept-new "records" the key there */
    c->accept_new = 1;
    cl.c = c;
    ev_add_conn(c);
    for (int i = 0; i < 3; i++) {
        fz_pair(local[i]);
        /* small buffers, so that a few KiB of DATA fill them and the
         * queue for a slow local reader comes into play */
        int small = 2048;
        setsockopt(local[i][0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        setsockopt(local[i][1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        /* what the local client has to say once its stream opens */
        static const char req[] = "GET / HTTP/1.0\r\nHost: example.com\r\n\r\n";
        if (write(local[i][1], req, sizeof req - 1) < 0) abort();
        if (i == 1) shutdown(local[i][1], SHUT_WR); /* and a half-close */
        struct chan *ch = ch_new(local[i][0], local[i][0], i < 2 ? CK_LOCAL : CK_SOCKS);
        ch->host = xstrdup(i ? "example.com" : "10.0.0.1");
        ch->port = 80;
        ch->st = CH_2_WAIT;
    }
    tp_send_version(c);
    kex_start(c);
    fz_feed(c, data, size, fd[1]);
    fz_teardown();
    close(fd[1]);
    for (int i = 0; i < 3; i++)
        close(local[i][1]);
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
static void b_kexinit(struct wr *w, const void *a) { (void)a, fz_kexinit(w, 1); }
static void b_reply(struct wr *w, const void *a)
{
    uint8_t sk[32], pk[32], blob[KEY_BLOB_LEN], sig[64] = {0};
    (void)a;
    memset(sk, 5, 32);
    ci_x25519_base(pk, sk);
    key_blob(fz_host_key.pk, blob);
    wr_u8(w, MSG_KEX_ECDH_REPLY);
    wr_str(w, blob, sizeof blob);
    wr_str(w, pk, 32);
    wr_u32(w, 4 + 11 + 4 + 64);
    wr_cstr(w, "ssh-ed25519");
    wr_str(w, sig, 64);
}
static void b_str(struct wr *w, const void *a) /* "type|string" */
{
    const char *s = a;
    wr_u8(w, (uint8_t)s[0]);
    wr_cstr(w, s + 1);
}
static void b_banner(struct wr *w, const void *a)
{
    (void)a;
    wr_u8(w, MSG_USERAUTH_BANNER);
    wr_cstr(w, "Welcome\r\nto the fuzz world\r\n");
    wr_cstr(w, "");
}
static void b_type(struct wr *w, const void *a) { wr_u8(w, (uint8_t)*(const int *)a); }
static void b_failure(struct wr *w, const void *a)
{
    (void)a;
    wr_u8(w, MSG_USERAUTH_FAILURE);
    wr_cstr(w, "publickey,password");
    wr_u8(w, 0);
}
static void b_chan(struct wr *w, const void *a) /* {type, channel, extra} */
{
    const uint32_t *v = a;
    wr_u8(w, (uint8_t)v[0]);
    wr_u32(w, v[1]);
    switch (v[0]) {
    case MSG_CHANNEL_OPEN_CONFIRMATION:
        wr_u32(w, 100 + v[1]), wr_u32(w, v[2]), wr_u32(w, 32768);
        break;
    case MSG_CHANNEL_OPEN_FAILURE:
        wr_u32(w, v[2]), wr_cstr(w, "Connection refused"), wr_cstr(w, "");
        break;
    case MSG_CHANNEL_DATA:
        wr_cstr(w, "HTTP/1.0 200 OK\r\n\r\nhello");
        break;
    case MSG_CHANNEL_EXTENDED_DATA:
        wr_u32(w, 1), wr_cstr(w, "stderr");
        break;
    case MSG_CHANNEL_WINDOW_ADJUST:
        wr_u32(w, v[2]);
        break;
    case MSG_CHANNEL_REQUEST:
        wr_cstr(w, "keepalive@openssh.com"), wr_u8(w, 1);
        break;
    }
}
static void b_global(struct wr *w, const void *a)
{
    wr_u8(w, MSG_GLOBAL_REQUEST);
    wr_cstr(w, a);
    wr_u8(w, strcmp(a, "hostkeys-00@openssh.com") != 0);
}
static void b_open(struct wr *w, const void *a)
{
    (void)a;
    wr_u8(w, MSG_CHANNEL_OPEN);
    wr_cstr(w, "forwarded-tcpip");
    wr_u32(w, 7), wr_u32(w, 65536), wr_u32(w, 32768);
    wr_cstr(w, "127.0.0.1"), wr_u32(w, 80), wr_cstr(w, "10.1.1.1"), wr_u32(w, 5555);
}
static void b_disconnect(struct wr *w, const void *a)
{
    (void)a;
    wr_u8(w, MSG_DISCONNECT);
    wr_u32(w, 11);
    wr_cstr(w, "bye");
    wr_cstr(w, "");
}

static void session(const char *dir, const char *name, int chunk, int rekey, int refuse)
{
    struct fz_out o;
    int success = MSG_USERAUTH_SUCCESS, ign = MSG_IGNORE, unimp = 200;
    fz_out_init(&o, chunk);
    fz_out_line(&o, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n");
    put(&o, b_kexinit, NULL);
    put(&o, b_reply, NULL);
    fz_out_newkeys(&o);
    put(&o, b_str, "\x06ssh-userauth");
    put(&o, b_banner, NULL);
    if (refuse) {
        put(&o, b_failure, NULL);
        fz_out_done(&o, dir, name);
        return;
    }
    put(&o, b_type, &success);
    put(&o, b_global, "hostkeys-00@openssh.com");
    put(&o, b_global, "keepalive@openssh.com");
    uint32_t ok0[] = {MSG_CHANNEL_OPEN_CONFIRMATION, 0, 2097152},
             no1[] = {MSG_CHANNEL_OPEN_FAILURE, 1, 2},
             ok2[] = {MSG_CHANNEL_OPEN_CONFIRMATION, 2, 65536},
             data[] = {MSG_CHANNEL_DATA, 0, 0}, ext[] = {MSG_CHANNEL_EXTENDED_DATA, 0, 0},
             adj[] = {MSG_CHANNEL_WINDOW_ADJUST, 0, 1 << 20},
             req[] = {MSG_CHANNEL_REQUEST, 2, 0}, eof[] = {MSG_CHANNEL_EOF, 0, 0},
             cls[] = {MSG_CHANNEL_CLOSE, 0, 0}, cls2[] = {MSG_CHANNEL_CLOSE, 2, 0};
    put(&o, b_chan, ok0);
    put(&o, b_chan, no1);
    put(&o, b_chan, ok2);
    put(&o, b_chan, data);
    put(&o, b_chan, ext);
    put(&o, b_chan, adj);
    put(&o, b_chan, req);
    put(&o, b_open, NULL);
    put(&o, b_type, &ign);
    put(&o, b_type, &unimp);
    if (rekey) {
        put(&o, b_kexinit, NULL);
        put(&o, b_reply, NULL);
        fz_out_newkeys(&o);
        put(&o, b_chan, data);
    }
    put(&o, b_chan, eof);
    put(&o, b_chan, cls);
    put(&o, b_chan, cls2);
    put(&o, b_disconnect, NULL);
    fz_out_done(&o, dir, name);
}

static void fz_seeds(const char *dir)
{
    fz_init();
    session(dir, "session-256", 256, 0, 0);
    session(dir, "session-rekey-61", 61, 1, 0);
    session(dir, "session-5", 5, 0, 0);
    session(dir, "auth-refused", 256, 0, 1);
    static const char pre[] = "\xff" "Welcome\r\nSSH-2.0-dropbear_2022.83\r\n";
    fz_write(dir, "prebanner", pre, sizeof pre - 1);
}
#endif
