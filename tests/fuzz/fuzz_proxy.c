/*
 * The handshake with a proxy on the way out (SECTION 8e: px_start,
 * px_take, px_feed), driven on a proxy's bytes exactly as px_io drives it,
 * and px_parse on a URL.
 *
 * Input: byte 0 chooses the proxy (bit 0: SOCKS5 or HTTP), credentials
 * (bit 1: user "user", password "secret") and how the bytes arrive (bits
 * 2-7: 1..64 at a time); byte 1 the destination (bits 0-1: a name, IPv4,
 * IPv6, a 255-byte name; bits 2-3: port 443, 22, 1, 65535); bytes 2-3 a
 * length L (big-endian, at most 1023), and the next L bytes a proxy URL
 * for px_parse, which, when it parses, is the proxy used instead (so an
 * input can carry any credentials); the rest is what the proxy sends.
 *
 * After each arrival, px_take on what has arrived and was not taken (at
 * most PX_REPLY_MAX, px_io's buffer), then px_feed with that many. These
 * must hold, or the target aborts:
 *   px_take gives 1..available bytes while the handshake runs, 0 after it
 *   is done; p->outn never exceeds sizeof p->out, p->inn sizeof p->in;
 *   a failure leaves a non-empty why, printable after the proxy's URL,
 *   and rep only comes with a failure; px_feed after done is 1;
 *   done means a whole reply was taken and nothing past it: for SOCKS5 a
 *   VER 5, REP 0, RSV 0 reply of the length its ATYP gives (RFC 1928 6),
 *   for HTTP a 2xx status line (RFC 9110 9.3.6) and a last byte LF;
 *   px_parse: 0 gives a kind, a host of 1..255 bytes, a port 1..65535 and
 *   a shown URL without the password; -1 gives a why.
 */
#include "fuzz.h"

#define FZ_PX_USER "user"
#define FZ_PX_PASS "secret"

#ifndef FUZZ_SEEDS
static const char *fz_px_host(unsigned sel)
{
    static char longname[256];
    switch (sel & 3) {
    case 0:
        return "example.com";
    case 1:
        return "192.0.2.7";
    case 2:
        return "2001:db8::1";
    default:
        memset(longname, 'n', 255);
        longname[255] = 0;
        return longname;
    }
}

static unsigned fz_px_port(unsigned sel)
{
    static const unsigned port[] = {443, 22, 1, 65535};
    return port[sel >> 2 & 3];
}

static int fz_px_parse(const char *url, struct px_cfg *c)
{
    const char *why = NULL;
    if (px_parse(url, c, &why) != 0) {
        if (!why || !why[0]) abort();
        return -1;
    }
    size_t hl = strnlen(c->host, sizeof c->host);
    if (c->kind != PX_SOCKS5 && c->kind != PX_HTTP) abort();
    if (hl == 0 || hl >= sizeof c->host || c->port == 0 || c->port > 65535) abort();
    if (strnlen(c->user, sizeof c->user) >= sizeof c->user ||
        strnlen(c->pass, sizeof c->pass) >= sizeof c->pass ||
        strnlen(c->shown, sizeof c->shown) >= sizeof c->shown)
        abort();
    if (!c->user[0] && c->pass[0]) abort();
    /* the password never shows after the user name's ':' */
    size_t ul = strlen(c->user), pl = strlen(c->pass);
    const char *u = strstr(c->shown, "://");
    if (pl && u && strncmp(u + 3, c->user, ul) == 0 && u[3 + ul] == ':') abort();
    return 0;
}

/* A failure's why: "proxy SHOWN: ...", and what follows the URL (the
 * proxy's words among ours) printable. The URL itself is the operator's
 * and shows as given. */
static void fz_px_fail(const struct px *p)
{
    if (!p->why[0]) abort();
    const char *q = p->why;
    size_t sl = strlen(p->cfg->shown);
    if (strncmp(q, "proxy ", 6) != 0) abort();
    q += 6;
    q += strncmp(q, p->cfg->shown, sl) == 0 ? sl : strlen(q);
    for (; *q; q++)
        if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct px_cfg fixed, parsed;
    static struct px p;
    static char url[1024];
    fz_world();
    if (size < 4) return 0;
    unsigned sel = data[0], dst = data[1];
    size_t ulen = MIN((size_t)(data[2] << 8 | data[3]) & 1023, size - 4);
    size_t chunk = (size_t)(sel >> 2) + 1;
    memcpy(url, data + 4, ulen);
    url[ulen] = 0;
    data += 4 + ulen, size -= 4 + ulen;

    const struct px_cfg *c = &fixed;
    if (fz_px_parse(url, &parsed) == 0) {
        c = &parsed;
    } else {
        memset(&fixed, 0, sizeof fixed);
        fixed.kind = sel & 1 ? PX_HTTP : PX_SOCKS5;
        snprintf(fixed.host, sizeof fixed.host, "proxy.example");
        fixed.port = 1080;
        if (sel & 2) {
            snprintf(fixed.user, sizeof fixed.user, FZ_PX_USER);
            snprintf(fixed.pass, sizeof fixed.pass, FZ_PX_PASS);
        }
        snprintf(fixed.shown, sizeof fixed.shown, "%s://proxy.example:1080",
                 fixed.kind == PX_HTTP ? "http" : "socks5");
    }

    px_start(&p, c, fz_px_host(dst), fz_px_port(dst));
    size_t arrived = 0, off = 0, reply_at = 0;
    for (;;) {
        /* px_io: what is queued goes out first */
        if (p.outn > sizeof p.out || p.outoff > p.outn) abort();
        p.outn = p.outoff = 0;
        if (off == arrived) {
            if (arrived == size) break; /* px_io: the proxy closed */
            arrived = MIN(size, arrived + chunk);
            continue;
        }
        size_t avail = MIN(arrived - off, (size_t)PX_REPLY_MAX);
        size_t take = px_take(&p, data + off, avail);
        if (take == 0 || take > avail) abort();
        uint8_t st = p.st;
        int r = px_feed(&p, data + off, take);
        off += take;
        if (p.inn > sizeof p.in || p.outn > sizeof p.out) abort();
        if (c->kind == PX_SOCKS5 && st != PX_3_REPLY && p.st == PX_3_REPLY) reply_at = off;
        if (r < 0) {
            fz_px_fail(&p);
            break;
        }
        if (p.rep || p.why[0]) abort();
        if (r == 0) {
            if (p.st == PX_4_DONE) abort();
            continue;
        }
        if (r != 1 || p.st != PX_4_DONE) abort();
        if (px_take(&p, data + off, size - off) != 0 || px_feed(&p, data + off, 0) != 1) abort();
        const uint8_t *m = data + reply_at;
        size_t n = off - reply_at;
        if (c->kind == PX_SOCKS5) {
            size_t want = n < 5 ? 0 : m[3] == 1 ? 10 : m[3] == 4 ? 22 : m[3] == 3 ? 7u + m[4] : 0;
            if (n != want || m[0] != 5 || m[1] != 0 || m[2] != 0) abort();
        } else {
            if (n < 12 || n > PX_REPLY_MAX || memcmp(m, "HTTP/1.", 7) != 0 || m[9] != '2' ||
                m[n - 1] != '\n')
                abort();
        }
        break;
    }
    return 0;
}
#else
/* selector bytes: kind (bit 0 HTTP), credentials (bit 1), arrival size */
#define SEL(http, cred, chunk) (uint8_t)((http) | (cred) << 1 | ((chunk)-1) << 2)

static void fz_px_seed(const char *dir, const char *name, uint8_t sel, uint8_t dst, const char *url,
                       const void *reply, size_t n)
{
    static uint8_t b[8192];
    size_t ul = strlen(url), o = 0;
    b[o++] = sel, b[o++] = dst, b[o++] = (uint8_t)(ul >> 8), b[o++] = (uint8_t)ul;
    memcpy(b + o, url, ul), o += ul;
    memcpy(b + o, reply, n), o += n;
    fz_write(dir, name, b, o);
}

static void fz_seeds(const char *dir)
{
    static const struct {
        const char *name;
        uint8_t sel, dst;
        const char *url, *b;
        size_t n;
    } s[] = {
#define S(name, sel, dst, url, lit)                                                                \
    {                                                                                              \
        name, sel, dst, url, lit, sizeof lit - 1                                                   \
    }
        S("socks-atyp1", SEL(0, 0, 64), 0, "",
          "\x05\x00\x05\x00\x00\x01\xc0\x00\x02\x01\x01\xbbSSH-2.0-OpenSSH_9.2\r\n"),
        S("socks-atyp1-bytewise", SEL(0, 0, 1), 1, "",
          "\x05\x00\x05\x00\x00\x01\xc0\x00\x02\x01\x01\xbbSSH-2.0-OpenSSH_9.2\r\n"),
        S("socks-atyp3", SEL(0, 0, 5), 2, "",
          "\x05\x00\x05\x00\x00\x03\x11proxy.example.net\x04\x38SSH-2.0-x\r\n"),
        S("socks-atyp4", SEL(0, 0, 3), 3, "",
          "\x05\x00\x05\x00\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
          "\x01\x1f\x90SSH-2.0-x\r\n"),
        S("socks-auth", SEL(0, 1, 64), 0, "",
          "\x05\x02\x01\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00SSH-2.0-x\r\n"),
        S("socks-auth-split", SEL(0, 1, 3), 4, "",
          "\x05\x02\x01\x00\x05\x00\x00\x03\x00\x00\x00SSH-2.0-x\r\n"),
        S("socks-auth-offered-none-chosen", SEL(0, 1, 64), 1, "",
          "\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\xd4\x31"),
        S("socks-auth-refused", SEL(0, 1, 64), 0, "", "\x05\x02\x01\x01"),
        S("socks-no-method", SEL(0, 0, 64), 0, "", "\x05\xff"),
        S("socks-rep5", SEL(0, 0, 64), 0, "", "\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"),
        S("socks-rep2-atyp3", SEL(0, 0, 2), 0, "", "\x05\x00\x05\x02\x00\x03\x04host\x00\x00"),
        S("socks-bad-atyp", SEL(0, 0, 64), 0, "", "\x05\x00\x05\x00\x00\x02\x00\x00\x00"),
        S("socks-url-creds", SEL(1, 0, 7), 2, "socks5h://us%40er:p%3Ass@[::1]:9050",
          "\x05\x02\x01\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00SSH-2.0-x\r\n"),
        S("http-200", SEL(1, 0, 64), 0, "",
          "HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n"),
        S("http-200-bytewise", SEL(1, 1, 1), 2, "",
          "HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-x\r\n"),
        S("http-200-lf", SEL(1, 0, 4), 1, "", "HTTP/1.0 200 OK\nVia: 1.1 p\n\nSSH-2.0-x\r\n"),
        S("http-407", SEL(1, 0, 64), 0, "",
          "HTTP/1.1 407 Proxy Authentication Required\r\n"
          "Proxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n"),
        S("http-403", SEL(1, 1, 9), 3, "", "HTTP/1.1 403 Forbidden\r\n\r\n"),
        S("http-502-body", SEL(1, 0, 64), 0, "",
          "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nerror"),
        S("http-url-aladdin", SEL(0, 0, 64), 0, "http://Aladdin:open%20sesame@proxy.example:3128/",
          "HTTP/1.1 200 OK\r\n\r\nSSH-2.0-x\r\n"),
        S("http-not-http", SEL(1, 0, 64), 0, "", "SSH-2.0-OpenSSH_9.2\r\n\r\n"),
#undef S
    };
    for (size_t i = 0; i < ARRAY_LEN(s); i++)
        fz_px_seed(dir, s[i].name, s[i].sel, s[i].dst, s[i].url, s[i].b, s[i].n);
    /* an HTTP reply of PX_REPLY_MAX bytes, and one byte more */
    static char big[PX_REPLY_MAX + 64];
    for (size_t extra = 0; extra < 2; extra++) {
        size_t len = PX_REPLY_MAX + extra;
        size_t n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Pad: ");
        memset(big + n, 'a', len - 4 - n);
        memcpy(big + len - 4, "\r\n\r\nSSH-2.0-x\r\n", 15);
        fz_px_seed(dir, extra ? "http-too-long" : "http-longest", SEL(1, 0, 64), 0, "", big,
                   len + 11);
    }
}
#endif
