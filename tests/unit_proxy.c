/*
 * Tests for SECTION 8e of alknet.c, the handshake with a proxy on the way
 * out (px_parse, px_start, px_take, px_feed: SOCKS5 per RFC 1928 with RFC
 * 1929 user/password, HTTP CONNECT per RFC 9110 9.3.6 with Basic
 * credentials per RFC 7617), and for the stealth gate's plain-TCP judge
 * (gate_plain, SECTION 18; RFC 4253 4.2 and 7.1).
 *
 * Built by make (build/unit_proxy); run by tests/test_units.py.
 *
 * Last line: "proxy: N passed, M failed"; exit status 0 only if none failed.
 *
 * The expected bytes are written from the RFCs, not taken from alknet's
 * output. Each reply is driven the way px_io drives it (run_cuts below):
 * the bytes that have arrived go to px_take, exactly that many to px_feed,
 * and what px_start and px_feed queue is what was "sent". Every reply is
 * run whole, in pieces of k bytes for every k, and cut in two at every
 * offset; all runs must agree, and the bytes behind the reply (the
 * stream's) must never be taken.
 *
 * Groups: parse, start, socks, socks failures, http, captured (replies
 * of microsocks 1.0.3 and tinyproxy 1.11.1 on loopback), gate, fixed
 * bugs (what these tests found once, kept as regression checks).
 */
#include "unit.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* What the destination sends right behind the proxy's reply. */
static const char behind[] = "SSH-2.0-OpenSSH_9.2\r\n\x05\x00\x00\x01";

/* Bytes as hex, for messages (a small ring of buffers). */
static const char *hexs(const void *p, size_t n)
{
    static char ring[4][1100];
    static unsigned k;
    char *b = ring[k++ & 3];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < sizeof ring[0]; i++)
        o += (size_t)snprintf(b + o, sizeof ring[0] - o, "%02x", ((const uint8_t *)p)[i]);
    if (o + 4 >= sizeof ring[0]) memcpy(b + o, "...", 4);
    return b;
}

/* ---------- the driver: a handshake run as px_io runs it ---------- */

struct run {
    int r;        /* 1 done, -1 failed, 0 waiting when the bytes ran out */
    size_t taken; /* the bytes px_take let through */
    uint8_t sent[4096];
    size_t nsent;
    size_t at[8]; /* the stream offset at which each flight of output was queued */
    size_t nat;
    unsigned rep;
    char why[400];
    const char *broken; /* an invariant that did not hold */
};

static struct px px;

/* px_io writes what is queued before it reads again. */
static void flush(struct run *o, size_t off)
{
    if (px.outoff != 0 && !o->broken) o->broken = "px_start/px_feed moved outoff";
    if (px.outn > sizeof px.out) {
        if (!o->broken) o->broken = "outn past the end of out";
        px.outn = sizeof px.out;
    }
    if (px.outn == 0) return;
    if (o->nat < ARRAY_LEN(o->at)) o->at[o->nat++] = off;
    size_t k = MIN(px.outn, sizeof o->sent - o->nsent);
    memcpy(o->sent + o->nsent, px.out, k);
    o->nsent += k;
    px.outn = px.outoff = 0;
}

/* s[0..n) arrives in pieces that end at cuts[0] < cuts[1] < ... (the
 * last is n). After each arrival, px_take on what has arrived and was not
 * taken (at most PX_REPLY_MAX, px_io's buffer), px_feed with that many,
 * until nothing is left or the handshake ends. */
static void run_cuts(struct run *o, const struct px_cfg *pc, const char *host, unsigned port,
                     const uint8_t *s, size_t n, const size_t *cuts, size_t ncuts)
{
    memset(o, 0, sizeof *o);
    px_start(&px, pc, host, port);
    size_t arrived = 0, off = 0, next = 0;
    for (;;) {
        flush(o, off);
        if (off == arrived) {
            if (next == ncuts) break;
            arrived = cuts[next++];
            continue;
        }
        size_t avail = MIN(arrived - off, (size_t)PX_REPLY_MAX);
        size_t take = px_take(&px, s + off, avail);
        if (take == 0 || take > avail) {
            o->broken = "px_take took nothing, or more than had arrived";
            break;
        }
        int r = px_feed(&px, s + off, take);
        off += take;
        if (r < 0) {
            o->r = -1;
            break;
        }
        if (r == 1) {
            flush(o, off);
            o->r = 1;
            if (px.st != PX_4_DONE) o->broken = "done, but not in PX_4_DONE";
            if (px_take(&px, s + off, n - off) != 0) o->broken = "px_take after done is not 0";
            if (px_feed(&px, s + off, 0) != 1) o->broken = "px_feed after done is not 1";
            break;
        }
        if (px.inn > sizeof px.in) o->broken = "inn past the end of in";
    }
    o->taken = off;
    o->rep = px.rep ? px.rep : px.status; /* the SOCKS5 REP or the HTTP status */
    snprintf(o->why, sizeof o->why, "%s", px.why);
    if (o->r < 0 && !o->why[0]) o->broken = "failed without a why";
    if (o->r >= 0 && (o->why[0] || o->rep)) o->broken = "a why or rep without a failure";
    for (const char *q = o->why; *q; q++)
        if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) o->broken = "why not printable";
}

static int run_same(const struct run *a, const struct run *b)
{
    /* after a refusal, how much was read does not matter (and depends on
     * how the bytes came when the reply is too long) */
    return a->r == b->r && (a->r < 0 || a->taken == b->taken) && a->nsent == b->nsent &&
           memcmp(a->sent, b->sent, a->nsent) == 0 && a->nat == b->nat &&
           memcmp(a->at, b->at, a->nat * sizeof a->at[0]) == 0 && a->rep == b->rep &&
           strcmp(a->why, b->why) == 0 && !a->broken && !b->broken;
}

/* Runs s[0..n) whole into *o, then byte by byte and in pieces of every
 * size, then cut in two at every offset. Returns how many of these runs
 * differ from the whole one (the first is described in how). */
static size_t run_all(struct run *o, const struct px_cfg *pc, const char *host, unsigned port,
                      const uint8_t *s, size_t n, char *how, size_t howcap)
{
    static size_t cuts[8192];
    static struct run other;
    size_t bad = 0;
    how[0] = 0;
    if (n == 0 || n > ARRAY_LEN(cuts)) {
        snprintf(how, howcap, "test bug: %zu bytes", n);
        return 1;
    }
    cuts[0] = n;
    run_cuts(o, pc, host, port, s, n, cuts, 1);
    if (o->broken) snprintf(how, howcap, "whole: %s", o->broken), bad++;
    for (size_t k = 1; k < n; k++) {
        size_t m = 0;
        for (size_t e = k; e < n; e += k)
            cuts[m++] = e;
        cuts[m++] = n;
        run_cuts(&other, pc, host, port, s, n, cuts, m);
        if (!run_same(o, &other) && bad++ == 0)
            snprintf(how, howcap, "in pieces of %zu: r %d taken %zu rep %u why '%s' %s", k, other.r,
                     other.taken, other.rep, other.why, other.broken ? other.broken : "");
        cuts[0] = k, cuts[1] = n;
        run_cuts(&other, pc, host, port, s, n, cuts, 2);
        if (!run_same(o, &other) && bad++ == 0)
            snprintf(how, howcap, "cut at %zu: r %d taken %zu rep %u why '%s' %s", k, other.r,
                     other.taken, other.rep, other.why, other.broken ? other.broken : "");
    }
    return bad;
}

static int parse_ok(const char *url, struct px_cfg *c)
{
    const char *why = NULL;
    if (px_parse(url, c, &why) == 0) return 1;
    printf("test bug: px_parse(\"%s\"): %s\n", url, why ? why : "(no why)");
    failed++;
    return 0;
}

/* ---------- px_parse ---------- */

static void test_parse(void)
{
    static const struct {
        const char *url;
        uint8_t kind;
        const char *host;
        unsigned port;
        const char *user, *pass, *shown;
    } ok[] = {
        {"socks5://proxy.example:1080", PX_SOCKS5, "proxy.example", 1080, "", "",
         "socks5://proxy.example:1080"},
        {"socks5://proxy.example", PX_SOCKS5, "proxy.example", 1080, "", "",
         "socks5://proxy.example:1080"},
        {"socks5h://127.0.0.1:9050", PX_SOCKS5, "127.0.0.1", 9050, "", "",
         "socks5://127.0.0.1:9050"},
        {"socks5h://tor.example/", PX_SOCKS5, "tor.example", 1080, "", "",
         "socks5://tor.example:1080"},
        /* RFC 3986 3.1: the scheme is case-insensitive */
        {"SOCKS5H://Proxy.Example:1", PX_SOCKS5, "Proxy.Example", 1, "", "",
         "socks5://Proxy.Example:1"},
        {"HTTP://proxy.example:8080", PX_HTTP, "proxy.example", 8080, "", "",
         "http://proxy.example:8080"},
        {"http://proxy.example", PX_HTTP, "proxy.example", 80, "", "", "http://proxy.example:80"},
        {"http://proxy.example/", PX_HTTP, "proxy.example", 80, "", "", "http://proxy.example:80"},
        {"http://proxy.example:3128/", PX_HTTP, "proxy.example", 3128, "", "",
         "http://proxy.example:3128"},
        {"socks5://proxy.example:65535", PX_SOCKS5, "proxy.example", 65535, "", "",
         "socks5://proxy.example:65535"},
        {"socks5://proxy.example:08080", PX_SOCKS5, "proxy.example", 8080, "", "",
         "socks5://proxy.example:8080"},
        /* RFC 7617 2's example credentials, the space escaped (RFC 3986 2.1) */
        {"http://Aladdin:open%20sesame@proxy.example:3128", PX_HTTP, "proxy.example", 3128,
         "Aladdin", "open sesame", "http://Aladdin@proxy.example:3128"},
        /* a ':' in the password is the password's; escapes in both parts */
        {"socks5://user:p:ss@proxy.example", PX_SOCKS5, "proxy.example", 1080, "user", "p:ss",
         "socks5://user@proxy.example:1080"},
        {"socks5://us%40er:p%3As%2Fs%25@proxy.example:1080", PX_SOCKS5, "proxy.example", 1080,
         "us@er", "p:s/s%", "socks5://us@er@proxy.example:1080"},
        {"socks5://%75%73%65%72:%73%65%63%72%65%74@proxy.example", PX_SOCKS5, "proxy.example", 1080,
         "user", "secret", "socks5://user@proxy.example:1080"},
        /* RFC 7617 3's example: "test", "123" and a pound sign in UTF-8 */
        {"http://test:123%C2%a3@proxy.example", PX_HTTP, "proxy.example", 80, "test", "123\xc2\xa3",
         "http://test@proxy.example:80"},
        {"socks5://[::1]:1080", PX_SOCKS5, "::1", 1080, "", "", "socks5://[::1]:1080"},
        {"socks5://[::1]", PX_SOCKS5, "::1", 1080, "", "", "socks5://[::1]:1080"},
        {"http://[2001:db8::1]:8080/", PX_HTTP, "2001:db8::1", 8080, "", "",
         "http://[2001:db8::1]:8080"},
        {"http://[2001:db8::1]", PX_HTTP, "2001:db8::1", 80, "", "", "http://[2001:db8::1]:80"},
        {"socks5://u:p@[::1]:1081", PX_SOCKS5, "::1", 1081, "u", "p", "socks5://u@[::1]:1081"},
        {"socks5://192.0.2.1:1080", PX_SOCKS5, "192.0.2.1", 1080, "", "",
         "socks5://192.0.2.1:1080"},
    };
    static const char *const bad[] = {
        /* schemes */
        "",
        "socks5",
        "socks5:",
        "socks5:/",
        "socks5:/proxy.example",
        "socks5//proxy.example",
        "proxy.example:1080",
        "socks4://proxy.example:1080",
        "socks4a://proxy.example:1080",
        "socks://proxy.example:1080",
        "https://proxy.example:443",
        "ftp://proxy.example",
        " socks5://proxy.example",
        "socks5h:/proxy.example",
        "http:proxy.example",
        /* a path, query or fragment */
        "http://proxy.example:3128/x",
        "http://proxy.example:3128//",
        "http://proxy.example/path",
        "http://proxy.example:3128/?",
        "socks5://proxy.example/ ",
        "socks5://proxy.example:1080?a",
        "socks5://proxy.example:1080#f",
        /* no host */
        "socks5://",
        "http://",
        "http:///",
        "socks5://:1080",
        "socks5://user:pass@",
        "socks5://user:pass@:1080",
        "socks5://user@/",
        "socks5://[]:1080",
        "socks5://[]",
        /* ports */
        "socks5://proxy.example:",
        "socks5://proxy.example:0",
        "socks5://proxy.example:65536",
        "socks5://proxy.example:70000",
        "socks5://proxy.example:-1",
        "socks5://proxy.example:+80",
        "socks5://proxy.example:12a",
        "socks5://proxy.example:0x50",
        "socks5://proxy.example:99999999999999999999",
        "socks5://proxy.example:1080:1080",
        "socks5://[::1]:",
        "socks5://[::1]:0",
        "socks5://[::1]:65536",
        "http://[::1]:x/",
        /* IPv6 without brackets (RFC 3986 3.2.2) */
        "socks5://::1",
        "socks5://::1:1080",
        "socks5://2001:db8::1:1080",
        "http://fe80::1/",
    };
    static const char *const bad_user[] = {
        "socks5://:pass@proxy.example",   "socks5://@proxy.example",
        "socks5://%@proxy.example",       "socks5://%4@proxy.example",
        "socks5://%G0@proxy.example",     "socks5://%4g@proxy.example",
        "socks5://a%00b:c@proxy.example", "socks5://ab%:c@proxy.example",
        "http://%zz:c@proxy.example",
    };
    static const char *const bad_pass[] = {
        "socks5://user:%@proxy.example",
        "socks5://user:%2@proxy.example",
        "socks5://user:%x1@proxy.example",
        "socks5://user:a%00@proxy.example",
        "http://user:secret%@proxy.example",
        /* RFC 1929 2: PLEN is 1 to 255, so a SOCKS5 user needs a password */
        "socks5://user@proxy.example:1080",
        "socks5://user:@proxy.example:1080",
    };
    static struct px_cfg c;
    const char *why;
    group = "parse";
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        why = NULL;
        int rc = px_parse(ok[i].url, &c, &why);
        CHECK(rc == 0, "%s: rc %d (%s)", ok[i].url, rc, why ? why : "no why");
        if (rc != 0) continue;
        CHECK(c.kind == ok[i].kind && strcmp(c.host, ok[i].host) == 0 && c.port == ok[i].port,
              "%s: kind %u host '%s' port %u, want %u '%s' %u", ok[i].url, c.kind, c.host, c.port,
              ok[i].kind, ok[i].host, ok[i].port);
        CHECK(strcmp(c.user, ok[i].user) == 0 && strcmp(c.pass, ok[i].pass) == 0,
              "%s: user '%s' pass '%s', want '%s' '%s'", ok[i].url, c.user, c.pass, ok[i].user,
              ok[i].pass);
        CHECK(strcmp(c.shown, ok[i].shown) == 0, "%s: shown '%s', want '%s'", ok[i].url, c.shown,
              ok[i].shown);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        why = NULL;
        int rc = px_parse(bad[i], &c, &why);
        CHECK(rc == -1 && why && why[0], "\"%s\": rc %d (host '%s' port %u), want -1 and a why",
              bad[i], rc, c.host, c.port);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad_user); i++) {
        why = NULL;
        int rc = px_parse(bad_user[i], &c, &why);
        CHECK(rc == -1 && why && strstr(why, "user name"), "\"%s\": rc %d why '%s'", bad_user[i],
              rc, why ? why : "");
    }
    for (size_t i = 0; i < ARRAY_LEN(bad_pass); i++) {
        why = NULL;
        int rc = px_parse(bad_pass[i], &c, &why);
        CHECK(rc == -1 && why && strstr(why, "password"), "\"%s\": rc %d why '%s'", bad_pass[i], rc,
              why ? why : "");
    }

    /* The password never shows, in any of its spellings. */
    static const char *const secret[] = {
        "socks5://alice:Zq8PwSecret@proxy.example:1080",
        "http://alice:Zq8PwSecret@proxy.example:3128/",
        "socks5h://alice:Zq8PwSecret@[2001:db8::2]:9050",
        "http://alice:Zq8%50wSecret@proxy.example",
        "socks5://Zq8PwSecretUserIsShown:Zq8PwSecret@proxy.example",
    };
    for (size_t i = 0; i < ARRAY_LEN(secret); i++) {
        int rc = px_parse(secret[i], &c, &why);
        const char *colon = strchr(c.shown, ':');
        const char *at = strrchr(c.shown, '@');
        CHECK(rc == 0 && strlen(c.pass) > 0 && !strstr(c.shown, ":Zq8") && colon && at &&
                  !memchr(colon + 1, ':', (size_t)(at - colon - 1)) &&
                  !strstr(c.shown, "Zq8%50wSecret") &&
                  (i != 4 || strstr(c.shown, "Zq8PwSecretUserIsShown@")),
              "%s: shown '%s'", secret[i], c.shown);
    }
    for (size_t i = 0; i < ARRAY_LEN(secret); i++) {
        px_parse(secret[i], &c, &why);
        size_t pl = strlen(c.pass);
        int leak = 0;
        for (const char *q = c.shown; *q; q++)
            if (strncmp(q, c.pass, pl) == 0 && (q == c.shown || q[-1] == ':')) leak = 1;
        CHECK(!leak, "%s: the password in '%s'", secret[i], c.shown);
    }

    /* RFC 1929 2: ULEN and PLEN are one byte, so 255 at most; the host
     * must fit a SOCKS5 ATYP 3 name (255 bytes). */
    static char u[700], user[300];
    memset(user, 'u', 255);
    user[255] = 0;
    snprintf(u, sizeof u, "socks5://%s:%s@proxy.example", user, user);
    CHECK(px_parse(u, &c, &why) == 0 && strlen(c.user) == 255 && strlen(c.pass) == 255,
          "255-byte user and password");
    snprintf(u, sizeof u, "socks5://%su:p@proxy.example", user);
    CHECK(px_parse(u, &c, &why) == -1 && strstr(why, "user name"), "256-byte user: %s", why);
    snprintf(u, sizeof u, "socks5://u:%sp@proxy.example", user);
    CHECK(px_parse(u, &c, &why) == -1 && strstr(why, "password"), "256-byte password: %s", why);
    snprintf(u, sizeof u, "socks5://%%75%s:p@proxy.example", user + 1); /* 255 after unescaping */
    CHECK(px_parse(u, &c, &why) == 0 && strlen(c.user) == 255, "255-byte user, escaped");
    snprintf(u, sizeof u, "socks5://%s:1080", user);
    CHECK(px_parse(u, &c, &why) == 0 && strlen(c.host) == 255 && c.port == 1080, "255-byte host");
    snprintf(u, sizeof u, "socks5://%sh:1080", user);
    CHECK(px_parse(u, &c, &why) == -1, "256-byte host with a port: accepted as '%.20s...'", c.host);
}

/* ---------- px_start ---------- */

static void expect_out(const char *name, const uint8_t *want, size_t n)
{
    CHECK(px.outn == n && px.outoff == 0 && memcmp(px.out, want, n) == 0,
          "%s: sent %zu bytes %s, want %zu: %s", name, px.outn,
          hexs(px.out, MIN(px.outn, sizeof px.out)), n, hexs(want, n));
}

static void expect_text(const char *name, const char *want)
{
    size_t n = strlen(want);
    CHECK(px.outn == n && memcmp(px.out, want, n) == 0, "%s: sent \"%.*s\", want \"%s\"", name,
          (int)MIN(px.outn, sizeof px.out), (const char *)px.out, want);
}

static void test_start(void)
{
    static struct px_cfg c;
    group = "start";
    /* RFC 1928 3: VER 5, NMETHODS, METHODS; 0 no authentication, 2 user/password */
    if (parse_ok("socks5://proxy.example:1080", &c)) {
        px_start(&px, &c, "example.com", 443);
        expect_out("socks5 greeting", LIT("\x05\x01\x00"));
        CHECK(px.st == PX_1_HELLO && px.inn == 0 && px.rep == 0 && !px.why[0], "socks5 state");
    }
    if (parse_ok("socks5h://user:secret@proxy.example:1080", &c)) {
        px_start(&px, &c, "example.com", 443);
        expect_out("socks5 greeting with credentials", LIT("\x05\x02\x00\x02"));
    }
    /* RFC 9110 9.3.6: CONNECT with the authority form host:port, the same
     * in Host (RFC 9112 3.2.3); an IPv6 literal in brackets (RFC 3986 3.2.2);
     * with credentials, Basic with the base64 of user-id ":" password (RFC
     * 7617 2, its two examples) */
    static const struct {
        const char *name, *url, *host;
        unsigned port;
        const char *want;
    } connect[] = {
        {"CONNECT", "http://proxy.example:3128", "example.com", 443,
         "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
        {"CONNECT v4", "http://proxy.example:3128", "192.0.2.7", 22,
         "CONNECT 192.0.2.7:22 HTTP/1.1\r\nHost: 192.0.2.7:22\r\n\r\n"},
        {"CONNECT v6", "http://proxy.example:3128", "2001:db8::1", 8443,
         "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n"},
        {"CONNECT ::1", "http://proxy.example:3128", "::1", 65535,
         "CONNECT [::1]:65535 HTTP/1.1\r\nHost: [::1]:65535\r\n\r\n"},
        {"CONNECT Aladdin", "http://Aladdin:open%20sesame@proxy.example:3128/", "example.com", 443,
         "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
         "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"},
        {"CONNECT test/123 pound", "http://test:123%C2%A3@proxy.example", "2001:db8::1", 443,
         "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n"
         "Proxy-Authorization: Basic dGVzdDoxMjPCow==\r\n\r\n"},
        {"CONNECT user, no password", "http://user@proxy.example", "example.com", 80, /* "user:" */
         "CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n"
         "Proxy-Authorization: Basic dXNlcjo=\r\n\r\n"},
    };
    for (size_t i = 0; i < ARRAY_LEN(connect); i++) {
        if (!parse_ok(connect[i].url, &c)) continue;
        px_start(&px, &c, connect[i].host, connect[i].port);
        expect_text(connect[i].name, connect[i].want);
        CHECK(px.st == PX_3_REPLY && px.nl == 0, "%s: state", connect[i].name);
    }
    /* a second start forgets the first */
    if (parse_ok("http://proxy.example:3128", &c)) {
        px_start(&px, &c, "a.example", 1);
        expect_text("a short request after a long one",
                    "CONNECT a.example:1 HTTP/1.1\r\nHost: a.example:1\r\n\r\n");
        CHECK(px.st == PX_3_REPLY && px.inn == 0 && px.nl == 0 && px.rep == 0, "restart state");
    }
}

/* ---------- SOCKS5 exchanges ---------- */

struct sxcase {
    const char *name, *url, *host;
    unsigned port;
    const char *reply; /* the proxy's messages, all of them */
    size_t nreply;
    const char *sent; /* ours, all of them */
    size_t nsent;
    size_t at[3]; /* where each of our flights is queued */
    size_t nat;
};
#define BYTES(s) s, sizeof(s) - 1

static void check_exchange(const char *name, const struct px_cfg *c, const char *host,
                           unsigned port, const uint8_t *reply, size_t nreply, const uint8_t *sent,
                           size_t nsent, const size_t *at, size_t nat)
{
    static uint8_t s[8192];
    static struct run o;
    char how[600];
    memcpy(s, reply, nreply);
    memcpy(s + nreply, behind, sizeof behind - 1);
    size_t n = nreply + sizeof behind - 1;
    size_t bad = run_all(&o, c, host, port, s, n, how, sizeof how);
    CHECK(bad == 0, "%s: %zu ways of arriving differ from the whole; %s", name, bad, how);
    CHECK(o.r == 1 && o.taken == nreply && o.rep == 0,
          "%s: r %d taken %zu of %zu (reply %zu) rep %u why '%s'", name, o.r, o.taken, n, nreply,
          o.rep, o.why);
    CHECK(o.nsent == nsent && memcmp(o.sent, sent, nsent) == 0, "%s: sent %s, want %s", name,
          hexs(o.sent, o.nsent), hexs(sent, nsent));
    CHECK(o.nat == nat && memcmp(o.at, at, nat * sizeof at[0]) == 0,
          "%s: %zu flights (second at %zu, third at %zu), want %zu", name, o.nat, o.at[1], o.at[2],
          nat);
}

static void test_socks(void)
{
    static const struct sxcase x[] = {
        {"no auth, name (ATYP 3), reply ATYP 1",
         "socks5://proxy.example:1080",
         "example.com",
         443,
         BYTES("\x05\x00"
               "\x05\x00\x00\x01\xc0\x00\x02\x01\x01\xbb"),
         BYTES("\x05\x01\x00"
               "\x05\x01\x00\x03\x0b"
               "example.com"
               "\x01\xbb"),
         {0, 2, 0},
         2},
        {"user/password (RFC 1929), reply ATYP 3",
         "socks5://user:secret@proxy.example",
         "example.com",
         22,
         BYTES("\x05\x02"
               "\x01\x00"
               "\x05\x00\x00\x03\x11"
               "proxy.example.net"
               "\x04\x38"),
         BYTES("\x05\x02\x00\x02"
               "\x01\x04"
               "user"
               "\x06"
               "secret"
               "\x05\x01\x00\x03\x0b"
               "example.com"
               "\x00\x16"),
         {0, 2, 4},
         3},
        {"credentials offered, none chosen, IPv4 (ATYP 1), reply ATYP 4",
         "socks5://user:secret@proxy.example",
         "192.0.2.7",
         22,
         BYTES("\x05\x00"
               "\x05\x00\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
               "\x1f\x90"),
         BYTES("\x05\x02\x00\x02"
               "\x05\x01\x00\x01\xc0\x00\x02\x07\x00\x16"),
         {0, 2, 0},
         2},
        {"IPv6 (ATYP 4)",
         "socks5h://127.0.0.1:9050",
         "2001:db8::1",
         8080,
         BYTES("\x05\x00"
               "\x05\x00\x00\x01\x7f\x00\x00\x01\xd4\x31"),
         BYTES("\x05\x01\x00"
               "\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
               "\x1f\x90"),
         {0, 2, 0},
         2},
        {"IPv4-mapped IPv6",
         "socks5://proxy.example",
         "::ffff:192.0.2.1",
         1,
         BYTES("\x05\x00"
               "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
         BYTES("\x05\x01\x00"
               "\x05\x01\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xc0\x00\x02\x01"
               "\x00\x01"),
         {0, 2, 0},
         2},
        {"reply ATYP 3 with an empty name",
         "socks5://proxy.example",
         "example.com",
         443,
         BYTES("\x05\x00"
               "\x05\x00\x00\x03\x00\x00\x00"),
         BYTES("\x05\x01\x00"
               "\x05\x01\x00\x03\x0b"
               "example.com"
               "\x01\xbb"),
         {0, 2, 0},
         2},
        {"a name that looks like IPv4 goes as a name",
         "socks5://proxy.example",
         "192.0.2",
         65535,
         BYTES("\x05\x00"
               "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
         BYTES("\x05\x01\x00"
               "\x05\x01\x00\x03\x07"
               "192.0.2"
               "\xff\xff"),
         {0, 2, 0},
         2},
    };
    static struct px_cfg c;
    group = "socks";
    for (size_t i = 0; i < ARRAY_LEN(x); i++) {
        if (!parse_ok(x[i].url, &c)) continue;
        check_exchange(x[i].name, &c, x[i].host, x[i].port, (const uint8_t *)x[i].reply,
                       x[i].nreply, (const uint8_t *)x[i].sent, x[i].nsent, x[i].at, x[i].nat);
    }

    /* The longest of everything: a 255-byte name, user and password, and a
     * reply naming 255 bytes. */
    static char name[256], url[700];
    static uint8_t reply[300], sent[1100];
    memset(name, 'n', 255);
    name[255] = 0;
    snprintf(url, sizeof url, "socks5://%.255s:%.255s@proxy.example", name, name);
    if (parse_ok(url, &c)) {
        size_t r = 0, s = 0;
        memcpy(reply + r, "\x05\x02\x01\x00\x05\x00\x00\x03\xff", 9), r += 9;
        memset(reply + r, 'b', 255), r += 255;
        reply[r++] = 0x12, reply[r++] = 0x34;
        memcpy(sent + s, "\x05\x02\x00\x02\x01\xff", 6), s += 6;
        memcpy(sent + s, name, 255), s += 255;
        sent[s++] = 0xff;
        memcpy(sent + s, name, 255), s += 255;
        memcpy(sent + s, "\x05\x01\x00\x03\xff", 5), s += 5;
        memcpy(sent + s, name, 255), s += 255;
        sent[s++] = 0x01, sent[s++] = 0x02;
        static const size_t at[] = {0, 2, 4};
        check_exchange("255 bytes everywhere", &c, name, 258, reply, r, sent, s, at, 3);
    }

    /* A reply cut short waits for the rest and takes all that came. */
    static struct run o;
    char how[600];
    if (parse_ok("socks5://proxy.example", &c)) {
        static const struct {
            const char *b;
            size_t n;
        } part[] = {
            {BYTES("\x05")},
            {BYTES("\x05\x00")},
            {BYTES("\x05\x00\x05\x00\x00\x01\xc0")},
            {BYTES("\x05\x00\x05\x00\x00\x03")},
            {BYTES("\x05\x00\x05\x00\x00\x03\x05"
                   "ab")},
            {BYTES("\x05\x00\x05\x00\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                   "\x00\x00\x01\x1f")},
        };
        for (size_t i = 0; i < ARRAY_LEN(part); i++) {
            size_t bad = run_all(&o, &c, "example.com", 443, (const uint8_t *)part[i].b, part[i].n,
                                 how, sizeof how);
            CHECK(bad == 0 && o.r == 0 && o.taken == part[i].n && !o.why[0],
                  "part %zu: r %d taken %zu of %zu; %s", i, o.r, o.taken, part[i].n, how);
        }
    }
}

static void test_socks_fail(void)
{
    /* RFC 1928 6 */
    static const char *const word[] = {
        "succeeded",
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "Network unreachable",
        "Host unreachable",
        "Connection refused",
        "TTL expired",
        "Command not supported",
        "Address type not supported",
    };
    static struct px_cfg none, cred;
    static struct run o;
    static uint8_t s[512];
    char how[600];
    group = "socks failures";
    if (!parse_ok("socks5://proxy.example:1080", &none) ||
        !parse_ok("socks5://user:secret@proxy.example:1080", &cred))
        return;
    for (unsigned rep = 1; rep <= 8; rep++) {
        for (int atyp = 0; atyp < 3; atyp++) {
            static const uint8_t head[] = {5, 0, 5, 0, 0, 1}, tail[] = {0x1f, 0x90};
            size_t n = 0;
            memcpy(s, head, sizeof head), n += sizeof head;
            s[3] = (uint8_t)rep;
            if (atyp == 0) {
                memset(s + n, 0, 4), n += 4;
            } else if (atyp == 1) {
                s[5] = 3, s[n++] = 4, memcpy(s + n, "host", 4), n += 4;
            } else {
                s[5] = 4, memset(s + n, 0, 16), n += 16;
            }
            memcpy(s + n, tail, 2), n += 2;
            size_t reply = n;
            memcpy(s + n, behind, sizeof behind - 1), n += sizeof behind - 1;
            size_t bad = run_all(&o, &none, "example.com", 443, s, n, how, sizeof how);
            CHECK(bad == 0, "REP %u ATYP %u: %s", rep, (unsigned)s[5], how);
            CHECK(o.r == -1 && o.rep == rep && o.taken == reply && strstr(o.why, word[rep]) &&
                      strstr(o.why, "example.com:443") &&
                      strstr(o.why, "socks5://proxy.example:1080"),
                  "REP %u ATYP %u: r %d rep %u taken %zu of %zu why '%s'", rep, (unsigned)s[5], o.r,
                  o.rep, o.taken, reply, o.why);
        }
    }
    static const struct {
        const char *name;
        int cred;
        const char *b;
        size_t n;
        size_t taken;
        unsigned rep;
        const char *words; /* "" for any */
    } f[] = {
        {"REP 9", 0, BYTES("\x05\x00\x05\x09\x00\x01\x00\x00\x00\x00\x00\x00"), 12, 9, ""},
        {"REP 255", 0, BYTES("\x05\x00\x05\xff\x00\x01\x00\x00\x00\x00\x00\x00"), 12, 255, ""},
        {"no acceptable method", 0, BYTES("\x05\xff"), 2, 0, "authentication"},
        {"no acceptable method, credentials offered", 1, BYTES("\x05\xff"), 2, 0, "authentication"},
        {"user/password chosen, not offered", 0, BYTES("\x05\x02\x01\x00"), 2, 0, ""},
        {"GSSAPI chosen", 1, BYTES("\x05\x01"), 2, 0, ""},
        {"method 3 chosen", 1, BYTES("\x05\x03"), 2, 0, ""},
        {"SOCKS4 answer", 0, BYTES("\x04\x00"), 2, 0, "SOCKS5"},
        {"version 0", 1, BYTES("\x00\x02"), 2, 0, "SOCKS5"},
        {"HTTP answer", 0, BYTES("HTTP/1.1 400 Bad Request\r\n\r\n"), 2, 0, ""},
        {"password refused", 1, BYTES("\x05\x02\x01\x01"), 4, 0, "password"},
        {"password refused, status 255", 1, BYTES("\x05\x02\x01\xff"), 4, 0, "password"},
        {"reply version 4", 0, BYTES("\x05\x00\x04\x00\x00\x01\x00\x00\x00\x00\x00\x00"), 12, 0,
         "malformed"},
        {"reply version 0", 1, BYTES("\x05\x02\x01\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
         14, 0, "malformed"},
        {"reply RSV 1", 0, BYTES("\x05\x00\x05\x00\x01\x01\x00\x00\x00\x00\x00\x00"), 12, 0,
         "malformed"},
        {"reply ATYP 0", 0, BYTES("\x05\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00"), 7, 0,
         "malformed"},
        {"reply ATYP 2", 0, BYTES("\x05\x00\x05\x00\x00\x02\x00\x00\x00\x00\x00\x00"), 7, 0,
         "malformed"},
        {"reply ATYP 5", 0, BYTES("\x05\x00\x05\x00\x00\x05\x00\x00\x00\x00\x00\x00"), 7, 0,
         "malformed"},
        {"reply ATYP 255", 0, BYTES("\x05\x00\x05\x00\x00\xff\x00\x00\x00\x00\x00\x00"), 7, 0,
         "malformed"},
    };
    for (size_t i = 0; i < ARRAY_LEN(f); i++) {
        size_t n = f[i].n;
        memcpy(s, f[i].b, n);
        memcpy(s + n, behind, sizeof behind - 1), n += sizeof behind - 1;
        size_t bad =
            run_all(&o, f[i].cred ? &cred : &none, "example.com", 443, s, n, how, sizeof how);
        CHECK(bad == 0, "%s: %s", f[i].name, how);
        CHECK(o.r == -1 && o.taken == f[i].taken && o.rep == f[i].rep &&
                  strstr(o.why, f[i].words) && strncmp(o.why, "proxy socks5://", 15) == 0,
              "%s: r %d taken %zu (want %zu) rep %u why '%s'", f[i].name, o.r, o.taken, f[i].taken,
              o.rep, o.why);
        CHECK(!strstr(o.why, "secret"), "%s: the password in why: %s", f[i].name, o.why);
    }
}

/* ---------- HTTP CONNECT ---------- */

static void test_http(void)
{
    static const struct {
        const char *name;
        const char *b;
        size_t n;
        int r;
        unsigned rep;
        const char *words;
        int tail; /* stream bytes follow */
    } h[] = {
        {"200", BYTES("HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n\r\n"), 1, 0, "",
         1},
        {"200, bare LF", BYTES("HTTP/1.1 200 Connection established\nProxy-agent: x\n\n"), 1, 0, "",
         1},
        {"200, LF then CR LF", BYTES("HTTP/1.1 200 OK\nProxy-agent: x\n\r\n"), 1, 0, "", 1},
        {"200, no headers", BYTES("HTTP/1.1 200 OK\r\n\r\n"), 1, 0, "", 1},
        {"200, empty reason", BYTES("HTTP/1.1 200 \r\n\r\n"), 1, 0, "", 1},
        {"200, HTTP/1.0", BYTES("HTTP/1.0 200 Connection established\r\n\r\n"), 1, 0, "", 1},
        {"201 (any 2xx)", BYTES("HTTP/1.1 201 Created\r\n\r\n"), 1, 0, "", 1},
        {"200, a CR inside a header", BYTES("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), 1, 0, "", 1},
        {"403", BYTES("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"), -1, 403,
         "HTTP/1.1 403 Forbidden", 1},
        {"407",
         BYTES("HTTP/1.1 407 Proxy Authentication Required\r\n"
               "Proxy-Authenticate: Basic realm=\"proxy\"\r\n\r\n"),
         -1, 407, "HTTP/1.1 407 Proxy Authentication Required", 1},
        {"502", BYTES("HTTP/1.1 502 Bad Gateway\r\n\r\n"), -1, 502, "HTTP/1.1 502 Bad Gateway", 1},
        {"502, bare LF", BYTES("HTTP/1.0 502 Bad Gateway\n\n"), -1, 502, "HTTP/1.0 502 Bad Gateway",
         1},
        {"100", BYTES("HTTP/1.1 100 Continue\r\n\r\n"), -1, 100, "HTTP/1.1 100 Continue", 1},
        {"300", BYTES("HTTP/1.1 300 Multiple Choices\r\n\r\n"), -1, 300, "300", 1},
        {"control characters in the status line",
         BYTES("HTTP/1.1 403 No\x01W\x7f"
               "ay\r\n\r\n"),
         -1, 403, "HTTP/1.1 403 No", 1},
        {"SSH server", BYTES("SSH-2.0-OpenSSH_9.2\r\n\r\n"), -1, 0, "not an HTTP proxy", 1},
        {"status 2x0", BYTES("HTTP/1.1 2x0 OK\r\n\r\n"), -1, 0, "not an HTTP proxy", 1},
        {"HTTP/2", BYTES("HTTP/2 200\r\n\r\n"), -1, 0, "not an HTTP proxy", 1},
        {"lower case", BYTES("http/1.1 200 OK\r\n\r\n"), -1, 0, "not an HTTP proxy", 1},
        {"no space", BYTES("HTTP/1.1\t200 OK\r\n\r\n"), -1, 0, "not an HTTP proxy", 1},
        {"short", BYTES("HTTP/1.1 20\r\n\r\n"), -1, 0, "not an HTTP proxy", 1},
        {"empty", BYTES("\r\n\r\n"), -1, 0, "not an HTTP proxy", 1},
        {"two LF", BYTES("\n\n"), -1, 0, "not an HTTP proxy", 1},
        {"SOCKS5 answer waits", BYTES("\x05\xff"), 0, 0, "", 0},
        {"status line only waits", BYTES("HTTP/1.1 200 OK\r\n"), 0, 0, "", 0},
        {"headers without the end wait", BYTES("HTTP/1.1 200 OK\r\nA: b\r\n\r"), 0, 0, "", 0},
        {"CR CR is not the end", BYTES("HTTP/1.1 200 OK\r\r\r\r"), 0, 0, "", 0},
    };
    static struct px_cfg c;
    static struct run o;
    static uint8_t s[8192];
    char how[600];
    group = "http";
    if (!parse_ok("http://proxy.example:3128", &c)) return;
    static const char req[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    for (size_t i = 0; i < ARRAY_LEN(h); i++) {
        size_t n = h[i].n;
        memcpy(s, h[i].b, n);
        if (h[i].tail) memcpy(s + n, behind, sizeof behind - 1), n += sizeof behind - 1;
        size_t bad = run_all(&o, &c, "example.com", 443, s, n, how, sizeof how);
        CHECK(bad == 0, "%s: %s", h[i].name, how);
        CHECK(o.r == h[i].r && o.taken == h[i].n && o.rep == h[i].rep &&
                  strstr(o.why, h[i].words) &&
                  (h[i].r >= 0 || strncmp(o.why, "proxy http://proxy.example:3128", 31) == 0),
              "%s: r %d (want %d) taken %zu (want %zu) rep %u why '%s'", h[i].name, o.r, h[i].r,
              o.taken, h[i].n, o.rep, o.why);
        CHECK(o.nsent == sizeof req - 1 && memcmp(o.sent, req, sizeof req - 1) == 0 && o.nat == 1 &&
                  o.at[0] == 0,
              "%s: sent \"%.*s\"", h[i].name, (int)o.nsent, (const char *)o.sent);
    }

    /* PX_REPLY_MAX: a reply of exactly that many bytes is taken, one more is refused */
    static const char head[] = "HTTP/1.1 200 Connection established\r\nX-Pad: ";
    for (size_t len = PX_REPLY_MAX - 1; len <= PX_REPLY_MAX + 2; len++) {
        size_t n = 0;
        memcpy(s, head, sizeof head - 1), n += sizeof head - 1;
        memset(s + n, 'a', len - n - 4), n = len - 4;
        memcpy(s + n, "\r\n\r\n", 4), n += 4;
        memcpy(s + n, behind, sizeof behind - 1), n += sizeof behind - 1;
        size_t bad = run_all(&o, &c, "example.com", 443, s, n, how, sizeof how);
        CHECK(bad == 0, "%zu-byte reply: %s", len, how);
        if (len <= PX_REPLY_MAX)
            CHECK(o.r == 1 && o.taken == len, "%zu-byte reply: r %d taken %zu why '%s'", len, o.r,
                  o.taken, o.why);
        else
            CHECK(o.r == -1 && o.taken <= len && strstr(o.why, "2048"),
                  "%zu-byte reply: r %d taken %zu why '%s'", len, o.r, o.taken, o.why);
    }
    /* a long refusal: the status line in why is cut, still printable */
    size_t n = 0;
    memcpy(s, "HTTP/1.1 403 ", 13), n = 13;
    memset(s + n, 'r', 600), n += 600;
    memcpy(s + n, "\r\n\r\n", 4), n += 4;
    run_cuts(&o, &c, "example.com", 443, s, n, &n, 1);
    CHECK(o.r == -1 && o.rep == 403 && strstr(o.why, "HTTP/1.1 403 rrr") && !o.broken,
          "long 403: r %d why '%s'", o.r, o.why);

    /* credentials go in the request, never in why */
    if (parse_ok("http://Aladdin:open%20sesame@proxy.example:3128", &c)) {
        static const char r407[] = "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n";
        memcpy(s, r407, sizeof r407 - 1);
        n = sizeof r407 - 1;
        run_all(&o, &c, "example.com", 443, s, n, how, sizeof how);
        CHECK(o.r == -1 && o.rep == 407 && !strstr(o.why, "sesame") &&
                  !strstr(o.why, "QWxhZGRpbjpvcGVuIHNlc2FtZQ"),
              "407 with credentials: why '%s'", o.why);
    }
}

/* ---------- captured on loopback ---------- */

static void test_captured(void)
{
    /* microsocks -u user -P secret: method choice, RFC 1929 status, the
     * reply to CONNECT 127.0.0.1 (BND zero), then the destination's first
     * bytes; and its refusals */
    static const char ms_ok[] = "\x05\x02"
                                "\x01\x00"
                                "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                "SSH-2.0-OpenSSH_9.2\r\n";
    static const char ms_refused[] = "\x05\x02\x01\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00";
    static const char ms_badpass[] = "\x05\x02\x01\x02";
    static const char ms_noauth[] = "\x05\xff";
    /* tinyproxy 1.11.1: a CONNECT that worked (then the destination's
     * line), one to a closed port, one without the BasicAuth it wants (the
     * last one's HTML body shortened here) */
    static const char tp_ok[] = "HTTP/1.0 200 Connection established\r\n"
                                "Proxy-agent: tinyproxy/1.11.1\r\n\r\n"
                                "SSH-2.0-OpenSSH_9.2\r\n";
    static const char tp_500[] =
        "HTTP/1.1 500 Unable to connect\r\nServer: tinyproxy/1.11.1\r\n"
        "Content-Type: text/html\r\nConnection: close\r\n\r\n"
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML "
        "1.1//EN\" \"http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd\">\n<html>\n<head><title>500 "
        "Unable to connect</title></head>\n<body>\n<h1>Unable to connect</h1>\n<p>Tinyproxy was "
        "unable to connect to the remote web server.</p>\n<hr />\n<p><em>Generated by tinyproxy "
        "version 1.11.1.</em></p>\n</body>\n</html>\n";
    static const char tp_407[] =
        "HTTP/1.0 407 Proxy Authentication Required\r\nServer: tinyproxy/1.11.1\r\n"
        "Content-Type: text/html\r\nProxy-Authenticate: Basic realm=\"Tinyproxy\"\r\n"
        "Connection: close\r\n\r\n"
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<html>\n<head><title>407 Proxy "
        "Authentication Required</title></head>\n</html>\n";
    static struct px_cfg sc, sn, hc;
    static struct run o;
    char how[600];
    group = "captured";
    if (!parse_ok("socks5://user:secret@127.0.0.1:1080", &sc) ||
        !parse_ok("socks5://127.0.0.1:1080", &sn) || !parse_ok("http://127.0.0.1:8888", &hc))
        return;
    size_t bad = run_all(&o, &sc, "127.0.0.1", 54705, LIT(ms_ok), how, sizeof how);
    CHECK(bad == 0 && o.r == 1 && o.taken == 14, "microsocks ok: r %d taken %zu; %s", o.r, o.taken,
          how);
    CHECK(o.nsent == 4 + 13 + 10 &&
              memcmp(o.sent,
                     "\x05\x02\x00\x02\x01\x04user\x06secret\x05\x01\x00\x01\x7f\x00\x00"
                     "\x01\xd5\xb1",
                     o.nsent) == 0,
          "microsocks ok: sent %s", hexs(o.sent, o.nsent));
    bad = run_all(&o, &sc, "127.0.0.1", 1, LIT(ms_refused), how, sizeof how);
    CHECK(bad == 0 && o.r == -1 && o.rep == 5 && strstr(o.why, "Connection refused"),
          "microsocks refused: r %d rep %u why '%s'; %s", o.r, o.rep, o.why, how);
    bad = run_all(&o, &sc, "127.0.0.1", 1, LIT(ms_badpass), how, sizeof how);
    CHECK(bad == 0 && o.r == -1 && o.taken == 4 && strstr(o.why, "password"),
          "microsocks bad password: r %d why '%s'", o.r, o.why);
    bad = run_all(&o, &sn, "127.0.0.1", 1, LIT(ms_noauth), how, sizeof how);
    CHECK(bad == 0 && o.r == -1 && o.taken == 2 && strstr(o.why, "USER:PASS@"),
          "microsocks without credentials: r %d why '%s'", o.r, o.why);
    bad = run_all(&o, &hc, "127.0.0.1", 40000, LIT(tp_ok), how, sizeof how);
    CHECK(bad == 0 && o.r == 1 && o.taken == sizeof tp_ok - 1 - 21,
          "tinyproxy ok: r %d taken %zu why '%s'; %s", o.r, o.taken, o.why, how);
    bad = run_all(&o, &hc, "127.0.0.1", 1, LIT(tp_500), how, sizeof how);
    CHECK(bad == 0 && o.r == -1 && o.rep == 500 &&
              o.taken == (size_t)(strstr(tp_500, "\r\n\r\n") - tp_500) + 4 &&
              strstr(o.why, "HTTP/1.1 500 Unable to connect"),
          "tinyproxy 500: r %d rep %u taken %zu why '%s'; %s", o.r, o.rep, o.taken, o.why, how);
    bad = run_all(&o, &hc, "127.0.0.1", 1, LIT(tp_407), how, sizeof how);
    CHECK(bad == 0 && o.r == -1 && o.rep == 407 && strstr(o.why, "HTTP/1.0 407") &&
              strstr(o.why, "USER:PASS@"),
          "tinyproxy 407: r %d rep %u why '%s'; %s", o.r, o.rep, o.why, how);
}

/* ---------- the gate (gate_plain) ---------- */

/* gate_plain on the first k bytes; 99 for a refusal without a why. */
static int gate_at(const uint8_t *p, size_t k, const uint8_t **cookie)
{
    const char *why = NULL;
    int r = gate_plain(p, k, cookie, &why);
    if (r < 0 && (!why || !why[0])) return 99;
    return r;
}

static void test_gate(void)
{
    /* OpenSSH 9.2's first flight, captured: its line, then a KEXINIT
     * packet (packet_length 1556, padding 8, SSH_MSG_KEXINIT, cookie) */
    static const char line[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n";
    static const uint8_t kex[] = {0x00, 0x00, 0x06, 0x14, 0x08, 0x14, 0x97, 0x2b, 0x28,
                                  0x5e, 0x5e, 0x23, 0x9f, 0x4f, 0x4a, 0xf3, 0x56, 0xfb,
                                  0xd0, 0x72, 0x8f, 0xdc, 0x00, 0x00, 0x01, 0x48, 0x73};
    static uint8_t b[1024];
    const uint8_t *cookie;
    const char *why;
    group = "gate";

    size_t ln = sizeof line - 1;
    memcpy(b, line, ln);
    /* every prefix: 0 until the line is complete, 1 with nothing behind it */
    size_t bad = 0;
    for (size_t k = 0; k < ln; k++)
        if (gate_at(b, k, &cookie) != 0) bad++;
    CHECK(bad == 0, "line prefixes: %zu not 0", bad);
    CHECK(gate_at(b, ln, &cookie) == 1 && cookie == NULL, "the line alone");
    static const char short_line[] = "SSH-2.0-OpenSSH_9.2\r\n";
    CHECK(gate_at(LIT(short_line), &cookie) == 1 && cookie == NULL, "SSH-2.0-OpenSSH_9.2");
    CHECK(gate_at(LIT("SSH-2.0-x\n"), &cookie) == 1, "bare LF");
    CHECK(gate_at(LIT("SSH-2.0-OpenSSH_9.2 a comment\r\n"), &cookie) == 1, "with a comment");
    CHECK(gate_at(LIT("SSH-2.0-~!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}\r\n"), &cookie) == 1,
          "every kind of printable");

    /* the line and the KEXINIT's start: 0 until the cookie is complete */
    memcpy(b + ln, kex, sizeof kex);
    bad = 0;
    for (size_t k = ln + 1; k < ln + 22; k++)
        if (gate_at(b, k, &cookie) != 0) bad++;
    CHECK(bad == 0, "KEXINIT prefixes: %zu not 0", bad);
    for (size_t k = ln + 22; k <= ln + sizeof kex; k++) {
        int r = gate_at(b, k, &cookie);
        CHECK(r == 1 && cookie == b + ln + 6 && memcmp(cookie, kex + 6, 16) == 0,
              "line and %zu KEXINIT bytes: %d, cookie at %td", k - ln, r, cookie ? cookie - b : -1);
    }

    /* not SSH: refused on the first byte that shows it */
    static const struct {
        const char *name, *b;
        size_t n, at;
    } no[] = {
        {"HTTP", BYTES("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 1},
        {"TLS", BYTES("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 1},
        {"SOCKS5", BYTES("\x05\x01\x00"), 1},
        {"NUL", BYTES("\x00"), 1},
        {"lower case", BYTES("ssh-2.0-x\r\n"), 1},
        {"SSH-1.5", BYTES("SSH-1.5-x\r\n"), 5},
        {"SSH-1.99", BYTES("SSH-1.99-OpenSSH\r\n"), 5},
        {"SSH-2.1", BYTES("SSH-2.1-x\r\n"), 7},
        {"SSH-2.0x", BYTES("SSH-2.0x\r\n"), 8},
        {"SSH-2.0 without a dash", BYTES("SSH-2.0\r\n"), 8},
        {"empty software version", BYTES("SSH-2.0-\r\n"), 10},
        {"empty software version, LF", BYTES("SSH-2.0-\n"), 9},
        {"SOH", BYTES("SSH-2.0-Open\x01SSH\r\n"), 13},
        {"TAB", BYTES("SSH-2.0-Open\tSSH\r\n"), 13},
        {"DEL", BYTES("SSH-2.0-Open\x7fSSH\r\n"), 13},
        {"UTF-8", BYTES("SSH-2.0-Op\xc3\xa9nSSH\r\n"), 11},
        {"NUL inside", BYTES("SSH-2.0-Open\x00SSH\r\n"), 13},
        {"CR inside", BYTES("SSH-2.0-a\rb\r\n"), 11},
        {"two CRs", BYTES("SSH-2.0-a\r\r\n"), 11},
    };
    for (size_t i = 0; i < ARRAY_LEN(no); i++) {
        const uint8_t *p = (const uint8_t *)no[i].b;
        size_t first = 0;
        for (size_t k = 0; k <= no[i].n && !first; k++)
            if (gate_at(p, k, &cookie) != 0) first = k;
        CHECK(first == no[i].at && gate_at(p, first, &cookie) == -1 && cookie == NULL,
              "%s: decided at %zu with %d, want -1 at %zu", no[i].name, first,
              gate_at(p, first, &cookie), no[i].at);
        CHECK(gate_at(p, no[i].n, &cookie) == -1, "%s: whole", no[i].name);
    }

    /* RFC 4253 4.2: at most 255 bytes, CR and LF included */
    memcpy(b, "SSH-2.0-", 8);
    memset(b + 8, 'a', 300);
    memcpy(b + 253, "\r\n", 2);
    CHECK(gate_at(b, 255, &cookie) == 1, "255-byte line");
    memcpy(b + 253, "a\n", 2);
    CHECK(gate_at(b, 255, &cookie) == 1, "255-byte line, bare LF");
    memset(b + 8, 'a', 300);
    memcpy(b + 254, "\r\n", 2);
    CHECK(gate_at(b, 256, &cookie) == -1, "256-byte line");
    memset(b + 8, 'a', 300);
    CHECK(gate_at(b, 254, &cookie) == 0, "254 bytes, no LF yet");
    CHECK(gate_at(b, 255, &cookie) == -1, "255 bytes without LF");
    CHECK(gate_at(b, 300, &cookie) == -1, "300 bytes without LF");

    /* what follows the line must open a KEXINIT (RFC 4253 6, 7.1): 22 bytes decide */
    static const struct {
        const char *name;
        uint8_t k[22];
        int want;
    } after[] = {
        {"KEXINIT, smallest (62-byte payload, 4 padding)", {0, 0, 0, 67, 4, 20}, 1},
        {"KEXINIT, padding 255", {0, 0, 1, 0, 255, 20}, 1},
        {"KEXINIT, 35000", {0, 0, 0x88, 0xb8, 4, 20}, 1},
        {"NEWKEYS", {0, 0, 0, 12, 10, 21}, -1},
        {"DISCONNECT", {0, 0, 0, 67, 4, 1}, -1},
        {"type 0", {0, 0, 0, 67, 4, 0}, -1},
        {"packet_length 62", {0, 0, 0, 62, 4, 20}, -1},
        {"packet_length 0", {0, 0, 0, 0, 4, 20}, -1},
        {"packet_length 2^20", {0, 0x10, 0, 0, 4, 20}, -1},
        {"packet_length 2^32-1", {0xff, 0xff, 0xff, 0xff, 4, 20}, -1},
        {"padding 3", {0, 0, 0, 67, 3, 20}, -1},
        {"padding 0", {0, 0, 0, 67, 0, 20}, -1},
        {"HTTP", {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1'}, -1},
        {"a second line", {'S', 'S', 'H', '-', '2', '.', '0', '-', 'x', '\r', '\n'}, -1},
    };
    memcpy(b, short_line, sizeof short_line - 1);
    ln = sizeof short_line - 1;
    for (size_t i = 0; i < ARRAY_LEN(after); i++) {
        memcpy(b + ln, after[i].k, 22);
        for (size_t j = 6; j < 22; j++)
            if (after[i].want == 1) b[ln + j] = (uint8_t)(0xa0 + j);
        bad = 0;
        for (size_t k = ln + 1; k < ln + 22; k++)
            if (gate_at(b, k, &cookie) != 0) bad++;
        int r = gate_plain(b, ln + 22, &cookie, &why);
        CHECK(bad == 0 && r == after[i].want && (r == 1) == (cookie == b + ln + 6),
              "%s: %d (%zu prefixes not 0)", after[i].name, r, bad);
        CHECK(r != -1 || (why && strstr(why, "KEXINIT")), "%s: why '%s'", after[i].name,
              why ? why : "");
    }
}

/* ---------- bugs found by these tests, fixed: kept as regression checks ---------- */

static void test_fixed(void)
{
    static struct px_cfg c;
    static char url[1200], name[256], host[400];
    const char *why;
    const uint8_t *cookie;
    group = "fixed bugs";

    /* px_start: a CONNECT request with 255-byte credentials and a 255-byte
     * host is 1264 bytes: it must fit in out, whole */
    memset(name, 'a', 255);
    name[255] = 0;
    snprintf(url, sizeof url, "http://%s:%s@proxy.example:3128", name, name);
    if (parse_ok(url, &c)) {
        px_start(&px, &c, name, 65535);
        size_t n = px.outn;
        CHECK(n <= sizeof px.out && n >= 4 && memcmp(px.out + n - 4, "\r\n\r\n", 4) == 0,
              "px_start: HTTP CONNECT with a 255-byte host and 255-byte user and password: outn "
              "%zu, out holds %zu",
              n, sizeof px.out);
    }
    /* px_parse: a host longer than 255 bytes is refused, port or not */
    memset(host, 'h', 280);
    host[280] = 0;
    snprintf(url, sizeof url, "socks5://%s", host);
    int rc = px_parse(url, &c, &why);
    CHECK(rc == -1, "px_parse: a 280-byte host without a port: rc %d, host cut to %zu bytes", rc,
          strlen(c.host));
    /* px_parse: after "]" only ":PORT" may follow (RFC 3986 3.2.2) */
    rc = px_parse("socks5://[::1]x", &c, &why);
    CHECK(rc == -1, "px_parse(\"socks5://[::1]x\"): rc %d, host '%s'", rc, c.host);
    rc = px_parse("socks5://[proxy", &c, &why);
    CHECK(rc == -1, "px_parse(\"socks5://[proxy\"): rc %d, host '%s'", rc, c.host);
    /* px_parse: "@" cannot be in a host (RFC 3986 3.2.2 reg-name) */
    rc = px_parse("socks5://u:p@ss@proxy.example", &c, &why);
    CHECK(rc == -1 || strcmp(c.host, "proxy.example") == 0,
          "px_parse(\"socks5://u:p@ss@proxy.example\"): rc %d, user '%s' host '%s'", rc, c.user,
          c.host);
    /* net_port (via px_parse): a port is digits only (RFC 3986 3.2.3) */
    rc = px_parse("socks5://proxy.example: 80", &c, &why);
    CHECK(rc == -1, "px_parse(\"socks5://proxy.example: 80\"): rc %d, port %u", rc, c.port);
    /* gate_plain: "every byte is judged as soon as it is there", a
     * control character in the line too, before its LF */
    rc = gate_plain(LIT("SSH-2.0-a\x01"), &cookie, &why);
    CHECK(rc == -1, "gate_plain(\"SSH-2.0-a\\x01\"): %d before the LF", rc);
    rc = gate_plain(LIT("SSH-2.0-\x16\x03\x01"), &cookie, &why);
    CHECK(rc == -1, "gate_plain(\"SSH-2.0-\\x16\\x03\\x01\"): %d before the LF", rc);
}

int main(void)
{
    rnd_test_seed(7);
    test_parse();
    test_start();
    test_socks();
    test_socks_fail();
    test_http();
    test_captured();
    test_gate();
    test_fixed();
    printf("proxy: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
