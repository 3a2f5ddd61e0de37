/*
 * The SSH transport as `alknet serve` runs it, fed what a client sends:
 * identification line, key exchange, authentication, connection protocol.
 * The fuzz world: one authorized key, destination rules that deny every
 * address (so nothing connects out; alknet-echo still works), signatures
 * not required to verify (ALKNET_FUZZ).
 */
#define FZ_SERVER_BUILDERS
#include "fuzz.h"

#ifndef FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv2[2];
    fz_server_world();
    rnd_test_seed(1);
    fz_pair(sv2);
    struct ssh *c =
        fz_server_conn(sv2[0], "none@fuzz,chacha20-poly1305@openssh.com,aes128-gcm@openssh.com");
    fz_feed(c, data, size, sv2[1]);
    fz_teardown();
    close(sv2[1]);
    return 0;
}
#else
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
    fz_server_world();
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
