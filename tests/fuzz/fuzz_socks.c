/*
 * The SOCKS5 framer (sx_) on a real socket pair, as a SOCKS client's bytes
 * arrive: byte 0 chooses whether RFC 1929 authentication is required
 * (bit 0) and the segment size (bits 1-7: 1..128 bytes per read), the rest
 * is what the client sends: greeting, auth, request, early data, pipelined
 * or split.
 */
#include "fuzz.h"

#ifndef FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_world();
    if (size < 1) return 0;
    sx_cfg.user = data[0] & 1 ? "user" : NULL;
    sx_cfg.pass = data[0] & 1 ? "secret" : NULL;
    size_t chunk = (size_t)(data[0] >> 1) + 1;
    data++, size--;
    int fd[2];
    fz_pair(fd);
    struct chan *ch = ch_new(fd[0], fd[0], CK_SOCKS);
    ch->sx = xcalloc(1, sizeof *ch->sx);
    ch->st = CH_1_SOCKS;
    for (size_t off = 0; off < size && !ch->dead && ch->st == CH_1_SOCKS; off += chunk) {
        size_t n = MIN(chunk, size - off);
        if (write(fd[1], data + off, n) != (ssize_t)n) break;
        sx_read(ch);
        fz_drain(fd[1]);
    }
    if (!ch->dead && ch->st == CH_2_WAIT) { /* the request was complete: answer it */
        struct str why = {(const uint8_t *)"Connection refused", 18};
        sx_reply(ch, sx_rep_for((uint32_t)size % 5, why));
    }
    fz_teardown();
    close(fd[1]);
    return 0;
}
#else
static void fz_seeds(const char *dir)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t n;
    } s[] = {
#define S(name, lit) {name, lit, sizeof lit - 1}
        S("noauth-name", "\xfe\x05\x01\x00\x05\x01\x00\x03\x0bexample.com\x00\x50GET / HTTP/1.0\r\n\r\n"),
        S("noauth-split", "\x00\x05\x02\x00\x02\x05\x01\x00\x01\x0a\x00\x00\x01\x01\xbb"),
        S("auth", "\x0b\x05\x01\x02\x01\x04user\x06secret\x05\x01\x00\x04\x20\x01\x0d\xb8"
                  "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1f\x90"),
        S("auth-wrong", "\xff\x05\x01\x02\x01\x04user\x05wrong"),
        S("bind", "\xfe\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50"),
        S("udp", "\xfe\x05\x01\x00\x05\x03\x00\x01\x7f\x00\x00\x01\x00\x50"),
        S("atyp9", "\xfe\x05\x01\x00\x05\x01\x00\x09\x7f\x00\x00\x01\x00\x50"),
        S("socks4", "\xfe\x04\x01\x00\x50\x7f\x00\x00\x01\x00"),
        S("empty-name", "\xfe\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50"),
#undef S
    };
    for (size_t i = 0; i < ARRAY_LEN(s); i++)
        fz_write(dir, s[i].name, s[i].bytes, s[i].n);
}
#endif
