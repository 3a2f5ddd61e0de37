/*
 * Tests for the pure parts of the stub resolver (dns_ in alknet.c). Built by make (build/unit_dns);
 * run by tests/test_units.py.
 *
 * Last line: "dns: N passed, M failed"; exit status 0 only if none failed.
 *
 * Replies come from two sources: bytes captured from tests/dnsd.py and
 * from dnsmasq 2.90 (a real server's encoder: owners compressed, CNAME
 * targets not) on loopback, and messages written with a small assembler
 * (masm below) for the cases no sane server sends. The queries are checked
 * against the bytes dig 9.18 sends (+noedns +nocookie +noadflag).
 */
#include "unit.h"

#include <netdb.h> /* getaddrinfo, the reference for rs_numeric */

static const char *const rc_name[] = {"OK",        "NXDOMAIN", "NODATA", "SERVFAIL",
                                      "TRUNCATED", "IGNORE",   "BAD"};
static const char *rcs(int rc)
{
    return rc >= 0 && (size_t)rc < ARRAY_LEN(rc_name) ? rc_name[rc] : "?";
}

/* "1.2.3.4 ::1 ..." for the addresses of a result. */
static const char *fmt_addrs(const struct dns_addr *a, unsigned n)
{
    static char buf[1024];
    size_t o = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < n; i++) {
        char h[INET6_ADDRSTRLEN] = "?";
        if (a[i].family == AF_INET || a[i].family == AF_INET6)
            inet_ntop(a[i].family, a[i].a, h, sizeof h);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s%s", i ? " " : "",
                              a[i].family == AF_INET || a[i].family == AF_INET6 ? "" : "bad:", h);
        if (o >= sizeof buf) break;
    }
    return buf;
}

/*
 * A tiny assembler for DNS messages, so that odd cases read as what they
 * are. Tokens, separated by blanks:
 *   h:ID:FLAGS:QD:AN:NS:AR   header, fields in hex
 *   n:a.test                 name with root byte ("n:." is the root)
 *   l:a.test                 labels only (to be followed by a pointer)
 *   L:N                      one label of N 'x'
 *   p:DEC                    compression pointer to offset DEC
 *   @x  ^x                   remember this offset as x / pointer to x (forward too)
 *   q:T                      QTYPE T, QCLASS IN (decimal)
 *   rr:T:TTL:LEN             TYPE, CLASS IN, TTL, RDLENGTH (decimal)
 *   rrc:C:T:TTL:LEN          the same with CLASS C
 *   a:1.2.3.4  6:2001:db8::1 address bytes
 *   0a0b...                  raw hex
 */
static size_t masm_pass(uint8_t *out, size_t cap, const char *spec, size_t mark[26])
{
    struct wr w = wr_init(out, cap);
    char tok[300];
    const char *s = spec;
    for (;;) {
        while (*s == ' ' || *s == '\n' || *s == '\t')
            s++;
        if (!*s) break;
        size_t n = 0;
        while (s[n] && s[n] != ' ' && s[n] != '\n' && s[n] != '\t')
            n++;
        if (n >= sizeof tok) abort();
        memcpy(tok, s, n);
        tok[n] = 0;
        s += n;
        if (tok[0] == 'h' && tok[1] == ':') {
            char *p = tok + 2;
            for (int i = 0; i < 6; i++) {
                unsigned long v = strtoul(p, &p, 16);
                wr_u8(&w, (uint8_t)(v >> 8)), wr_u8(&w, (uint8_t)v);
                if (*p == ':') p++;
            }
        } else if ((tok[0] == 'n' || tok[0] == 'l') && tok[1] == ':') {
            const char *p = tok + 2;
            while (*p && *p != '.') {
                size_t ln = strcspn(p, ".");
                wr_u8(&w, (uint8_t)ln);
                wr_bytes(&w, p, ln);
                p += ln;
                if (*p == '.') p++;
            }
            if (tok[0] == 'n') wr_u8(&w, 0);
        } else if (tok[0] == 'L' && tok[1] == ':') {
            unsigned long ln = strtoul(tok + 2, NULL, 10);
            wr_u8(&w, (uint8_t)ln);
            for (unsigned long i = 0; i < ln; i++)
                wr_u8(&w, 'x');
        } else if (tok[0] == 'p' && tok[1] == ':') {
            unsigned long v = strtoul(tok + 2, NULL, 10);
            wr_u8(&w, (uint8_t)(0xc0 | v >> 8)), wr_u8(&w, (uint8_t)v);
        } else if (tok[0] == '@') {
            mark[tok[1] - 'a'] = w.len;
        } else if (tok[0] == '^') {
            size_t v = mark[tok[1] - 'a'];
            wr_u8(&w, (uint8_t)(0xc0 | v >> 8)), wr_u8(&w, (uint8_t)v);
        } else if (tok[0] == 'q' && tok[1] == ':') {
            unsigned long t = strtoul(tok + 2, NULL, 10);
            wr_u8(&w, (uint8_t)(t >> 8)), wr_u8(&w, (uint8_t)t), wr_u8(&w, 0), wr_u8(&w, 1);
        } else if (tok[0] == 'r' && tok[1] == 'r') {
            char *p = tok + (tok[2] == 'c' ? 4 : 3);
            unsigned long c = tok[2] == 'c' ? strtoul(p, &p, 10) : 1;
            if (tok[2] == 'c') p++;
            unsigned long t = strtoul(p, &p, 10);
            unsigned long ttl = strtoul(p + 1, &p, 10);
            unsigned long len = strtoul(p + 1, &p, 10);
            wr_u8(&w, (uint8_t)(t >> 8)), wr_u8(&w, (uint8_t)t);
            wr_u8(&w, (uint8_t)(c >> 8)), wr_u8(&w, (uint8_t)c);
            wr_u32(&w, (uint32_t)ttl);
            wr_u8(&w, (uint8_t)(len >> 8)), wr_u8(&w, (uint8_t)len);
        } else if ((tok[0] == 'a' || tok[0] == '6') && tok[1] == ':') {
            uint8_t a[16];
            int fam = tok[0] == 'a' ? AF_INET : AF_INET6;
            if (inet_pton(fam, tok + 2, a) != 1) abort();
            wr_bytes(&w, a, fam == AF_INET ? 4 : 16);
        } else {
            uint8_t b[150];
            size_t k = unhex(b, sizeof b, tok);
            if (k * 2 != n) abort();
            wr_bytes(&w, b, k);
        }
    }
    if (w.bad) abort();
    return w.len;
}
static size_t masm(uint8_t *out, size_t cap, const char *spec)
{
    size_t mark[26] = {0};
    masm_pass(out, cap, spec, mark); /* learns the marks */
    return masm_pass(out, cap, spec, mark);
}

/* ---- queries ---- */

static void t_query(void)
{
    group = "query";
    uint8_t b[600];
    char name[600];
    static const struct {
        const char *name;
        uint16_t qtype;
        const char *hex; /* expected bytes after the id; NULL: only "valid" */
        int ok;
    } tab[] = {
        /* the first two are dig's own bytes (ids stripped) */
        {"Example.COM", DNS_T_A, "01000001000000000000074578616d706c6503434f4d0000010001", 1},
        {"a-b_c.d.", DNS_T_AAAA, "0100000100000000000005612d625f63016400001c0001", 1},
        {"a.test", DNS_T_A, "0100000100000000000001610474657374000001 0001", 1},
        {"1.2.3.4", DNS_T_A, NULL, 1}, /* valid syntax; the engine catches literals first */
        {"x", DNS_T_AAAA, "01000001000000000000017800001c0001", 1},
        {"", DNS_T_A, NULL, 0},
        {".", DNS_T_A, NULL, 0},
        {"..", DNS_T_A, NULL, 0},
        {".a", DNS_T_A, NULL, 0},
        {"a..b", DNS_T_A, NULL, 0},
        {"a.b..", DNS_T_A, NULL, 0},
        {"a b", DNS_T_A, NULL, 0},
        {"a/b", DNS_T_A, NULL, 0},
        {"a\\.b", DNS_T_A, NULL, 0},
        {"caf\xc3\xa9.test", DNS_T_A, NULL, 0},
        {"a\tb", DNS_T_A, NULL, 0},
        {"a.test", DNS_T_CNAME, NULL, 0}, /* only A and AAAA */
        {"a.test", 0, NULL, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(tab); i++) {
        size_t n = dns_query(b, sizeof b, 0xabcd, tab[i].name, tab[i].qtype);
        CHECK((n != 0) == tab[i].ok, "%s/%u: length %zu", log_esc(tab[i].name, strlen(tab[i].name)),
              tab[i].qtype, n);
        if (!n) continue;
        CHECK(b[0] == 0xab && b[1] == 0xcd, "%s: id", tab[i].name);
        if (tab[i].hex) {
            uint8_t want[300];
            size_t wn = unhex(want, sizeof want, tab[i].hex);
            CHECK(n == wn + 2 && memcmp(b + 2, want, wn) == 0, "%s: bytes differ", tab[i].name);
        }
        /* our own query is not an answer to itself (QR = 0) */
        struct dns_res res;
        CHECK(dns_answer(b, n, 0xabcd, tab[i].name, tab[i].qtype, &res) == DNS_IGNORE, "%s: QR",
              tab[i].name);
    }

    /* lengths at the limits: label 63/64, name 253/254, trailing dot */
    static const struct {
        unsigned labels, len; /* `labels` labels of `len` characters (last one shorter) */
        unsigned total;
        int dot, ok;
    } lim[] = {
        {1, 63, 63, 0, 1},   {1, 64, 64, 0, 0},  {1, 63, 63, 1, 1},  {4, 63, 253, 0, 1},
        {4, 63, 253, 1, 1},  {4, 63, 254, 0, 0}, {4, 63, 254, 1, 0}, {127, 1, 253, 0, 1},
        {128, 1, 255, 0, 0}, {2, 64, 129, 0, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(lim); i++) {
        size_t o = 0;
        for (unsigned l = 0; l < lim[i].labels && o < lim[i].total; l++) {
            if (l) name[o++] = '.';
            for (unsigned k = 0; k < lim[i].len && o < lim[i].total; k++)
                name[o++] = (char)('a' + l % 26);
        }
        if (lim[i].dot) name[o++] = '.';
        name[o] = 0;
        size_t n = dns_query(b, sizeof b, 1, name, DNS_T_A);
        CHECK((n != 0) == lim[i].ok, "limit case %zu (%zu chars): %zu", i, o, n);
        if (n)
            CHECK(n == 12 + (o - (size_t)lim[i].dot) + 2 + 4, "limit case %zu: length %zu", i, n);
    }
    name[0] = 0;
    /* 1000 characters: the length scan stops early and says no */
    char big[1001];
    memset(big, 'a', 1000);
    big[1000] = 0;
    CHECK(dns_query(b, sizeof b, 1, big, DNS_T_A) == 0, "very long name");

    /* buffer capacity: exact fits, one less does not */
    size_t n = dns_query(b, sizeof b, 7, "a.test", DNS_T_A);
    CHECK(n == 24, "a.test is 24 bytes: %zu", n);
    CHECK(dns_query(b, 24, 7, "a.test", DNS_T_A) == 24, "exact capacity");
    CHECK(dns_query(b, 23, 7, "a.test", DNS_T_A) == 0, "capacity too small");
    CHECK(dns_query(b, 0, 7, "a.test", DNS_T_A) == 0, "capacity 0");
}

/* ---- answers captured from real servers ---- */

struct cap {
    const char *tag, *name;
    uint16_t qtype, id;
    const char *hex;
};
static const struct cap caps[] = {
    {"dnsd_a", "a.test", 1, 0x1234,
     "123485800001000200000000016104746573740000010001c00c000100010000003c000401020304"
     "c00c000100010000012c000401020305"},
    {"dnsd_aaaa", "a.test", 28, 0x1235,
     "1235858000010001000000000161047465737400001c0001c00c001c00010000003c001020010db8"
     "000000000000000000000001"},
    {"dnsd_cname", "www.TEST", 1, 0x1236,
     "1236858000010004000000000357575704746573740000010001c00c000500010000007800060377"
     "6562c010c026000500010000005a00040161c010c038000100010000003c000401020304c0380001"
     "00010000012c000401020305"},
    {"dnsd_cname_ttl", "t.test", 1, 0x1237,
     "123785800001000300000000017404746573740000010001c00c000500010000000a00040175c00e"
     "c02400010001000000640004c6336401c02400010001000000c80004c6336402"},
    {"dnsd_nx", "nx.test", 1, 0x1238,
     "123885830001000000010000026e7804746573740000010001c00f000600010000003c0026026e73"
     "c00f0a686f73746d6173746572c00f0000000100000e1000000258000151800000001e"},
    {"dnsd_nodata", "v4only.test", 28, 0x1239,
     "1239858000010000000100000676346f6e6c79047465737400001c0001c013000600010000003c00"
     "26026e73c0130a686f73746d6173746572c0130000000100000e1000000258000151800000001e"},
    {"dnsd_servfail", "sf.test", 1, 0x123a, "123a8582000100000000000002736604746573740000010001"},
    {"dnsd_refused", "rf.test", 28, 0x123b, "123b85850001000000000000027266047465737400001c0001"},
    {"dnsd_tc", "big.test", 1, 0x123c, "123c878000010000000000000362696704746573740000010001"},
    {"dnsd_tcp_big", "big.test", 1, 0x123c,
     "123c858000010001000000000362696704746573740000010001c00c000100010000003c00040a00"
     "0002"},
    {"dnsd_many_tc", "many.test", 1, 0x123d,
     "123d87800001000000000000046d616e7904746573740000010001"},
    {"dnsd_many", "many.test", 1, 0x123d,
     "123d85800001002800000000046d616e7904746573740000010001c00c000100010000003c00040a"
     "010001c00c000100010000003c00040a010002c00c000100010000003c00040a010003c00c000100"
     "010000003c00040a010004c00c000100010000003c00040a010005c00c000100010000003c00040a"
     "010006c00c000100010000003c00040a010007c00c000100010000003c00040a010008c00c000100"
     "010000003c00040a010009c00c000100010000003c00040a01000ac00c000100010000003c00040a"
     "01000bc00c000100010000003c00040a01000cc00c000100010000003c00040a01000dc00c000100"
     "010000003c00040a01000ec00c000100010000003c00040a01000fc00c000100010000003c00040a"
     "010010c00c000100010000003c00040a010011c00c000100010000003c00040a010012c00c000100"
     "010000003c00040a010013c00c000100010000003c00040a010014c00c000100010000003c00040a"
     "010015c00c000100010000003c00040a010016c00c000100010000003c00040a010017c00c000100"
     "010000003c00040a010018c00c000100010000003c00040a010019c00c000100010000003c00040a"
     "01001ac00c000100010000003c00040a01001bc00c000100010000003c00040a01001cc00c000100"
     "010000003c00040a01001dc00c000100010000003c00040a01001ec00c000100010000003c00040a"
     "01001fc00c000100010000003c00040a010020c00c000100010000003c00040a010021c00c000100"
     "010000003c00040a010022c00c000100010000003c00040a010023c00c000100010000003c00040a"
     "010024c00c000100010000003c00040a010025c00c000100010000003c00040a010026c00c000100"
     "010000003c00040a010027c00c000100010000003c00040a010028"},
    {"dnsd_loop", "loop1.test", 1, 0x123e,
     "123e85800001000900000000056c6f6f703104746573740000010001c00c000500010000003c0008"
     "056c6f6f7032c012c028000500010000003c0002c00cc00c000500010000003c0002c028c0280005"
     "00010000003c0002c00cc00c000500010000003c0002c028c028000500010000003c0002c00cc00c"
     "000500010000003c0002c028c028000500010000003c0002c00cc00c000500010000003c0002c028"},
    {"dnsd_dangle", "dangle.test", 1, 0x123f,
     "123f858300010001000100000664616e676c6504746573740000010001c00c000500010000003c00"
     "0a076e6f7768657265c013c013000600010000003c0026026e73c0130a686f73746d6173746572c0"
     "130000000100000e1000000258000151800000001e"},
    {"dnsd_unknown", "nosuch.test", 28, 0x1240,
     "124085830001000000010000066e6f73756368047465737400001c0001c013000600010000003c00"
     "26026e73c0130a686f73746d6173746572c0130000000100000e1000000258000151800000001e"},
    {"dnsmasq_a", "h.dm.test", 1, 0xbeef,
     "beef85800001000200000000016802646d04746573740000010001c00c000100010000002100040a"
     "020001c00c000100010000002100040a020003"},
    {"dnsmasq_aaaa", "h.dm.test", 28, 0xbef0,
     "bef085800001000100000000014802444d047465737400001c0001c00c001c000100000021001020"
     "010db8000000000000000000000002"},
    {"dnsmasq_cname2", "a2.dm.test", 1, 0xbef1,
     "bef18580000100040000000002613202646d04746573740000010001c00c0005000100000021000f"
     "05616c69617302646d047465737400c0280005000100000021000b016802646d047465737400c043"
     "000100010000002100040a020003c043000100010000002100040a020001"},
    {"dnsmasq_nx", "nosuch.dm.test", 1, 0xbef2,
     "bef281830001000000000000066e6f7375636802646d04746573740000010001"},
    {"dnsmasq_refused", "example.org", 1, 0xbef3,
     "bef381850001000000000000076578616d706c65036f72670000010001"},
    {"dnsmasq_tcp_aaaa", "alias.dm.test", 28, 0xbef4,
     "bef48580000100020000000005616c69617302646d047465737400001c0001c00c00050001000000"
     "21000b016802646d047465737400c02b001c000100000021001020010db800000000000000000000"
     "0002"},
};

static const struct cap *cap_get(const char *tag)
{
    for (size_t i = 0; i < ARRAY_LEN(caps); i++)
        if (strcmp(caps[i].tag, tag) == 0) return &caps[i];
    abort();
}

/* What dns_answer() must say about a capture, possibly asked differently. */
static const struct {
    const char *tag;
    const char *name;   /* NULL: the capture's own */
    uint16_t qtype, id; /* 0: the capture's own */
    int rc;
    uint32_t ttl;
    const char *addrs;
} cap_expect[] = {
    {"dnsd_a", NULL, 0, 0, DNS_OK, 60, "1.2.3.4 1.2.3.5"},
    {"dnsd_a", "A.Test.", 0, 0, DNS_OK, 60, "1.2.3.4 1.2.3.5"},
    {"dnsd_aaaa", NULL, 0, 0, DNS_OK, 60, "2001:db8::1"},
    {"dnsd_cname", NULL, 0, 0, DNS_OK, 60, "1.2.3.4 1.2.3.5"},
    {"dnsd_cname_ttl", NULL, 0, 0, DNS_OK, 10, "198.51.100.1 198.51.100.2"},
    {"dnsd_nx", NULL, 0, 0, DNS_NXDOMAIN, 30, ""},
    {"dnsd_nodata", NULL, 0, 0, DNS_NODATA, 30, ""},
    {"dnsd_servfail", NULL, 0, 0, DNS_SERVFAIL, 0, ""},
    {"dnsd_refused", NULL, 0, 0, DNS_SERVFAIL, 0, ""},
    {"dnsd_tc", NULL, 0, 0, DNS_TRUNCATED, 0, ""},
    {"dnsd_tcp_big", NULL, 0, 0, DNS_OK, 60, "10.0.0.2"},
    {"dnsd_many_tc", NULL, 0, 0, DNS_TRUNCATED, 0, ""},
    {"dnsd_many", NULL, 0, 0, DNS_OK, 60,
     "10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6 10.1.0.7 10.1.0.8 10.1.0.9 "
     "10.1.0.10 10.1.0.11 10.1.0.12 10.1.0.13 10.1.0.14 10.1.0.15 10.1.0.16"},
    {"dnsd_loop", NULL, 0, 0, DNS_SERVFAIL, 0, ""},
    {"dnsd_dangle", NULL, 0, 0, DNS_NXDOMAIN, 30, ""},
    {"dnsd_unknown", NULL, 0, 0, DNS_NXDOMAIN, 30, ""},
    {"dnsmasq_a", NULL, 0, 0, DNS_OK, 33, "10.2.0.1 10.2.0.3"},
    {"dnsmasq_aaaa", NULL, 0, 0, DNS_OK, 33, "2001:db8::2"},
    {"dnsmasq_cname2", NULL, 0, 0, DNS_OK, 33, "10.2.0.3 10.2.0.1"},
    {"dnsmasq_nx", NULL, 0, 0, DNS_NXDOMAIN, 0, ""},
    {"dnsmasq_refused", NULL, 0, 0, DNS_SERVFAIL, 0, ""},
    {"dnsmasq_tcp_aaaa", NULL, 0, 0, DNS_OK, 33, "2001:db8::2"},
    /* not our reply */
    {"dnsd_a", NULL, 0, 0x1235, DNS_IGNORE, 0, ""},        /* id */
    {"dnsd_a", "b.test", 0, 0, DNS_IGNORE, 0, ""},         /* name */
    {"dnsd_a", "a.test.x", 0, 0, DNS_IGNORE, 0, ""},       /* name */
    {"dnsd_a", "test", 0, 0, DNS_IGNORE, 0, ""},           /* name */
    {"dnsd_a", NULL, DNS_T_AAAA, 0, DNS_IGNORE, 0, ""},    /* type */
    {"dnsd_a", "bad..name", 0, 0, DNS_IGNORE, 0, ""},      /* never asked */
    {"dnsd_tc", NULL, DNS_T_AAAA, 0, DNS_IGNORE, 0, ""},   /* TC, other question */
    {"dnsd_servfail", NULL, 0, 0x1111, DNS_IGNORE, 0, ""}, /* id */
    {"dnsmasq_nx", "nosuch.dm.test.", 0, 0, DNS_NXDOMAIN, 0, ""},
};

static int run(const uint8_t *m, size_t n, uint16_t id, const char *name, uint16_t qtype,
               struct dns_res *res)
{
    /* a copy of exactly n bytes on the heap, so that ASan sees any overread */
    uint8_t *c = xmalloc(n);
    if (n) memcpy(c, m, n);
    int rc = dns_answer(c, n, id, name, qtype, res);
    free(c);
    if (res->n > DNS_MAX_ADDRS) abort();
    return rc;
}

static void t_captures(void)
{
    group = "captures";
    uint8_t m[2048];
    struct dns_res res;
    for (size_t i = 0; i < ARRAY_LEN(cap_expect); i++) {
        const struct cap *c = cap_get(cap_expect[i].tag);
        size_t n = unhex(m, sizeof m, c->hex);
        const char *name = cap_expect[i].name ? cap_expect[i].name : c->name;
        uint16_t qt = cap_expect[i].qtype ? cap_expect[i].qtype : c->qtype;
        uint16_t id = cap_expect[i].id ? cap_expect[i].id : c->id;
        int rc = run(m, n, id, name, qt, &res);
        const char *got = fmt_addrs(res.addr, res.n);
        CHECK(rc == cap_expect[i].rc && strcmp(got, cap_expect[i].addrs) == 0 &&
                  res.ttl == cap_expect[i].ttl,
              "%s as %s/%u id %04x: %s ttl %u [%s]; want %s ttl %u [%s]", c->tag, name, qt, id,
              rcs(rc), res.ttl, got, rcs(cap_expect[i].rc), cap_expect[i].ttl, cap_expect[i].addrs);
    }

    /* every capture cut short at every byte: BAD (or TRUNCATED if TC) */
    group = "cut";
    for (size_t i = 0; i < ARRAY_LEN(caps); i++) {
        size_t n = unhex(m, sizeof m, caps[i].hex), bad = 0;
        for (size_t k = 0; k < n; k++) {
            int rc = run(m, k, caps[i].id, caps[i].name, caps[i].qtype, &res);
            if (rc != DNS_BAD && rc != DNS_TRUNCATED) {
                if (!bad++) CHECK(0, "%s cut at %zu: %s", caps[i].tag, k, rcs(rc));
            } else {
                passed++;
            }
        }
        /* and with one byte of garbage appended */
        m[n] = 0;
        int rc = run(m, n + 1, caps[i].id, caps[i].name, caps[i].qtype, &res);
        int tc = (m[2] & 0x02) != 0;
        CHECK(rc == (tc ? DNS_TRUNCATED : DNS_BAD), "%s + 1 byte: %s", caps[i].tag, rcs(rc));
    }
}

/* ---- hand-made answers ---- */

#define H_OK "h:1234:8180:1" /* id 1234, QR RD RA, NOERROR, QDCOUNT 1 */
#define Q_A "n:a.test q:1"   /* question a.test A at offset 12..23 */
#define Q_AAAA "n:a.test q:28"
#define Q_WWW "n:www.test q:1" /* www.test: offset 12..25 */

static const struct {
    const char *what, *spec;
    const char *name; /* NULL: a.test */
    uint16_t qtype;   /* 0: A */
    int rc;
    uint32_t ttl;
    const char *addrs;
} made[] = {
    {"one A", H_OK ":1:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_OK, 60, "1.2.3.4"},
    {"owner spelled out, other case", H_OK ":1:0:0 " Q_A " n:A.TEST rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_OK, 60, "1.2.3.4"},
    {"AAAA", H_OK ":1:0:0 " Q_AAAA " p:12 rr:28:9:16 6:2001:db8::7", NULL, 28, DNS_OK, 9,
     "2001:db8::7"},
    {"A and AAAA mixed, only qtype kept",
     H_OK ":3:0:0 " Q_AAAA " p:12 rr:1:5:4 a:1.1.1.1 p:12 rr:28:7:16 6:::1 p:12 rr:1:3:4 a:2.2.2.2",
     NULL, 28, DNS_OK, 7, "::1"},
    {"duplicates kept once",
     H_OK ":3:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4 p:12 rr:1:50:4 "
          "a:1.2.3.5 p:12 rr:1:40:4 a:1.2.3.4",
     NULL, 0, DNS_OK, 40, "1.2.3.4 1.2.3.5"},
    {"TTL minimum",
     H_OK ":3:0:0 " Q_A " p:12 rr:1:300:4 a:1.0.0.1 p:12 rr:1:7:4 a:1.0.0.2 "
          "p:12 rr:1:3600:4 a:1.0.0.3",
     NULL, 0, DNS_OK, 7, "1.0.0.1 1.0.0.2 1.0.0.3"},
    {"TTL with the top bit is 0 (RFC 2181 8)",
     H_OK ":2:0:0 " Q_A " p:12 rr:1:300:4 a:1.0.0.1 p:12 rr:1:2147483648:4 a:1.0.0.2", NULL, 0,
     DNS_OK, 0, "1.0.0.1 1.0.0.2"},
    {"TTL 2^31-1 kept", H_OK ":1:0:0 " Q_A " p:12 rr:1:2147483647:4 a:1.0.0.1", NULL, 0, DNS_OK,
     2147483647u, "1.0.0.1"},
    {"records for other names ignored",
     H_OK ":3:0:0 " Q_A " n:b.test rr:1:60:4 a:5.5.5.5 p:12 rr:1:60:4 a:1.2.3.4 l:x p:12 "
          "rr:1:60:4 a:6.6.6.6",
     NULL, 0, DNS_OK, 60, "1.2.3.4"},
    {"only other names: NODATA", H_OK ":1:0:0 " Q_A " n:b.test rr:1:60:4 a:5.5.5.5", NULL, 0,
     DNS_NODATA, 0, ""},
    {"class CH ignored",
     H_OK ":2:0:0 " Q_A " p:12 rrc:3:1:60:5 0102030405 p:12 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_OK,
     60, "1.2.3.4"},
    {"only class ANY: NODATA", H_OK ":1:0:0 " Q_A " p:12 rrc:255:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_NODATA, 0, ""},
    {"NOERROR, no answer: NODATA", H_OK ":0:0:0 " Q_A, NULL, 0, DNS_NODATA, 0, ""},
    {"NODATA with SOA: negative TTL = min(SOA TTL, MINIMUM)",
     H_OK ":0:1:0 " Q_A " p:14 rr:6:900:37 n:ns.test n:h.test 00000001 00000002 00000003 "
          "00000004 0000012c",
     NULL, 0, DNS_NODATA, 300, ""},
    {"NODATA, SOA TTL smaller",
     H_OK ":0:1:0 " Q_A " p:14 rr:6:20:24 p:14 p:14 00000001 00000002 "
          "00000003 00000004 0000012c",
     NULL, 0, DNS_NODATA, 20, ""},
    {"NXDOMAIN, malformed SOA only loses the TTL",
     "h:1234:8183:1:0:1:0 " Q_A " p:14 rr:6:900:6 p:14 p:14 0000", NULL, 0, DNS_NXDOMAIN, 0, ""},
    {"SOA in the answer section does not count",
     H_OK ":1:0:0 " Q_A " p:14 rr:6:900:24 p:14 p:14 "
          "00000001 00000002 00000003 00000004 0000012c",
     NULL, 0, DNS_NODATA, 0, ""},
    {"NXDOMAIN", "h:1234:8183:1:0:0:0 " Q_A, NULL, 0, DNS_NXDOMAIN, 0, ""},
    {"NXDOMAIN with a stray A: still NXDOMAIN",
     "h:1234:8183:1:1:0:0 " Q_A " p:12 rr:1:60:4 "
     "a:1.2.3.4",
     NULL, 0, DNS_NXDOMAIN, 0, ""},
    {"FORMERR", "h:1234:8181:1:0:0:0 " Q_A, NULL, 0, DNS_SERVFAIL, 0, ""},
    {"SERVFAIL", "h:1234:8182:1:0:0:0 " Q_A, NULL, 0, DNS_SERVFAIL, 0, ""},
    {"NOTIMP", "h:1234:8184:1:0:0:0 " Q_A, NULL, 0, DNS_SERVFAIL, 0, ""},
    {"REFUSED", "h:1234:8185:1:0:0:0 " Q_A, NULL, 0, DNS_SERVFAIL, 0, ""},
    {"rcode 9 (NOTAUTH)", "h:1234:8189:1:0:0:0 " Q_A, NULL, 0, DNS_SERVFAIL, 0, ""},
    {"SERVFAIL without question", "h:1234:8182:0:0:0:0", NULL, 0, DNS_SERVFAIL, 0, ""},
    {"REFUSED without question", "h:1234:8185:0:0:0:0", NULL, 0, DNS_SERVFAIL, 0, ""},
    {"FORMERR without question", "h:1234:8181:0:0:0:0", NULL, 0, DNS_SERVFAIL, 0, ""},
    {"NXDOMAIN without question: not trusted", "h:1234:8183:0:0:0:0", NULL, 0, DNS_IGNORE, 0, ""},
    {"NOERROR without question", "h:1234:8180:0:1:0:0 p:12 rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_IGNORE, 0, ""},
    {"two questions", "h:1234:8180:2:0:0:0 " Q_A " " Q_A, NULL, 0, DNS_IGNORE, 0, ""},
    {"TC with answers", "h:1234:8380:1:1:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_TRUNCATED, 0, ""},
    {"TC, cut inside the records", "h:1234:8380:1:3:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4 p:12 0001",
     NULL, 0, DNS_TRUNCATED, 0, ""},
    {"TC, header only", "h:1234:8380:0:0:0:0", NULL, 0, DNS_TRUNCATED, 0, ""},
    {"TC, question cut", "h:1234:8380:1:0:0:0 l:a", NULL, 0, DNS_TRUNCATED, 0, ""},
    {"not a response (QR=0)", "h:1234:0180:1:1:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_IGNORE, 0, ""},
    {"opcode IQUERY", "h:1234:8980:1:1:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_IGNORE,
     0, ""},
    {"opcode STATUS", "h:1234:9180:1:0:0:0 " Q_A, NULL, 0, DNS_IGNORE, 0, ""},
    {"question class CH", H_OK ":0:0:0 n:a.test 00010003", NULL, 0, DNS_IGNORE, 0, ""},
    {"question of another type", H_OK ":0:0:0 n:a.test q:15", NULL, 0, DNS_IGNORE, 0, ""},
    {"AA, Z bits and RA do not matter", "h:1234:85f0:1:1:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4",
     NULL, 0, DNS_OK, 60, "1.2.3.4"},

    /* CNAME chains */
    {"CNAME in order", H_OK ":2:0:0 " Q_WWW " p:12 rr:5:70:8 @a n:a.test ^a rr:1:50:4 a:9.9.9.9",
     "www.test", 0, DNS_OK, 50, "9.9.9.9"},
    {"CNAME out of order",
     H_OK ":2:0:0 " Q_WWW " @a n:a.test rr:1:50:4 a:9.9.9.9 p:12 rr:5:40:2 ^a", "www.test", 0,
     DNS_OK, 40, "9.9.9.9"},
    {"CNAME target spelled out, other case",
     H_OK ":2:0:0 " Q_WWW " n:A.test rr:1:50:4 a:9.9.9.9 p:12 rr:5:40:8 n:a.TEST", "www.test", 0,
     DNS_OK, 40, "9.9.9.9"},
    {"chain of three, shuffled",
     H_OK ":4:0:0 " Q_WWW " @c n:c.test rr:1:80:4 a:3.3.3.3 "
          "@b n:b.test rr:5:30:2 ^c p:12 rr:5:90:8 n:a.test "
          "l:a p:16 rr:5:60:2 ^b",
     "www.test", 0, DNS_OK, 30, "3.3.3.3"},
    {"CNAME to nowhere: NODATA", H_OK ":1:0:0 " Q_WWW " p:12 rr:5:70:8 n:a.test", "www.test", 0,
     DNS_NODATA, 0, ""},
    {"CNAME and A at the query name: A wins",
     H_OK ":3:0:0 " Q_A " p:12 rr:5:70:8 n:b.test n:b.test rr:1:60:4 a:2.2.2.2 p:12 rr:1:60:4 "
          "a:1.1.1.1",
     NULL, 0, DNS_OK, 60, "1.1.1.1"},
    {"second CNAME for a name ignored",
     H_OK ":4:0:0 " Q_A " p:12 rr:5:70:8 n:b.test p:12 rr:5:70:8 n:c.test n:b.test rr:1:60:4 "
          "a:2.2.2.2 n:c.test rr:1:60:4 a:3.3.3.3",
     NULL, 0, DNS_OK, 60, "2.2.2.2"},
    {"CNAME loop a -> b -> a", H_OK ":2:0:0 " Q_A " p:12 rr:5:70:8 @b n:b.test ^b rr:5:70:2 p:12",
     NULL, 0, DNS_SERVFAIL, 0, ""},
    {"CNAME to itself", H_OK ":1:0:0 " Q_A " p:12 rr:5:70:2 p:12", NULL, 0, DNS_SERVFAIL, 0, ""},
    {"CNAME class CH not followed",
     H_OK ":2:0:0 " Q_A " p:12 rrc:3:5:70:8 n:b.test n:b.test rr:1:60:4 a:2.2.2.2", NULL, 0,
     DNS_NODATA, 0, ""},
    {"CNAME rdata name shorter than RDLENGTH", H_OK ":1:0:0 " Q_A " p:12 rr:5:70:9 n:b.test 00 ",
     NULL, 0, DNS_BAD, 0, ""},
    {"CNAME rdata name longer than RDLENGTH", H_OK ":1:0:0 " Q_A " p:12 rr:5:70:7 n:b.test", NULL,
     0, DNS_BAD, 0, ""},
    {"CNAME of another name, malformed: still BAD", H_OK ":1:0:0 " Q_A " n:z rr:5:70:2 0000", NULL,
     0, DNS_BAD, 0, ""},

    /* compression (RFC 1035 4.1.4) */
    {"pointer to a suffix", H_OK ":1:0:0 " Q_A " l:a p:14 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_OK, 60,
     "1.2.3.4"},
    {"pointer to a pointer",
     H_OK ":2:0:0 " Q_A " @a p:12 rr:1:60:4 a:1.2.3.4 ^a rr:1:60:4 "
          "a:1.2.3.5",
     NULL, 0, DNS_OK, 60, "1.2.3.4 1.2.3.5"},
    {"pointer to labels then pointer",
     H_OK ":2:0:0 " Q_A " @a l:x p:14 rr:1:60:4 a:9.9.9.9 l:a ^a rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_NODATA, 0, ""},
    {"forward pointer", H_OK ":1:0:0 " Q_A " ^f rr:1:60:4 a:1.2.3.4 @f n:a.test", NULL, 0, DNS_BAD,
     0, ""},
    {"forward pointer in CNAME data",
     H_OK ":2:0:0 " Q_WWW " p:12 rr:5:70:2 ^a @a n:a.test "
          "rr:1:50:4 a:9.9.9.9",
     "www.test", 0, DNS_BAD, 0, ""},
    {"pointer to itself", H_OK ":1:0:0 " Q_A " @s ^s rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_BAD, 0, ""},
    {"labels then pointer to their start", H_OK ":1:0:0 " Q_A " @s l:a ^s rr:1:60:4 a:1.2.3.4",
     NULL, 0, DNS_BAD, 0, ""},
    {"mutual loop", H_OK ":2:0:0 " Q_A " @x ^y rr:1:60:4 a:1.2.3.4 @y ^x rr:1:60:4 a:1.2.3.5", NULL,
     0, DNS_BAD, 0, ""},
    {"pointer beyond the end", H_OK ":1:0:0 " Q_A " p:16383 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_BAD,
     0, ""},
    {"pointer into the header", H_OK ":1:0:0 " Q_A " p:4 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_BAD, 0,
     ""},
    {"pointer in the question", H_OK ":0:0:0 p:12 q:1", NULL, 0, DNS_BAD, 0, ""},
    {"pointer cut after its first byte", H_OK ":0:0:0 " Q_A " c0", NULL, 0, DNS_BAD, 0, ""},
    {"label type 01 (0x40)", H_OK ":1:0:0 " Q_A " 4161 00 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_BAD, 0,
     ""},
    {"label type 10 (0x80)", H_OK ":1:0:0 " Q_A " 8161 00 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_BAD, 0,
     ""},
    {"label of 63 bytes", H_OK ":0:0:1 " Q_A " L:63 00 rr:16:0:0", NULL, 0, DNS_NODATA, 0, ""},
    {"label of 64 bytes (type 01)", H_OK ":0:0:1 " Q_A " L:64 00 rr:16:0:0", NULL, 0, DNS_BAD, 0,
     ""},
    {"label of 128 bytes (type 10)", H_OK ":0:0:1 " Q_A " L:128 00 rr:16:0:0", NULL, 0, DNS_BAD, 0,
     ""},
    {"name of 255 bytes", H_OK ":0:0:1 " Q_A " L:63 L:63 L:63 L:61 00 rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_NODATA, 0, ""},
    {"name of 256 bytes", H_OK ":0:0:1 " Q_A " L:63 L:63 L:63 L:62 00 rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_BAD, 0, ""},
    {"name over 255 bytes through a pointer",
     H_OK ":0:0:2 " Q_A " @l L:63 L:63 00 rr:16:0:0 L:63 L:63 ^l rr:16:0:0", NULL, 0, DNS_BAD, 0,
     ""},

    /* record framing */
    {"A with RDLENGTH 5", H_OK ":1:0:0 " Q_A " p:12 rr:1:60:5 0102030405", NULL, 0, DNS_BAD, 0, ""},
    {"A with RDLENGTH 3", H_OK ":1:0:0 " Q_A " p:12 rr:1:60:3 010203", NULL, 0, DNS_BAD, 0, ""},
    {"AAAA with RDLENGTH 4", H_OK ":1:0:0 " Q_AAAA " p:12 rr:28:60:4 01020304", NULL, 28, DNS_BAD,
     0, ""},
    {"A with RDLENGTH 5 for another name",
     H_OK ":2:0:0 " Q_A " n:b rr:1:60:5 0102030405 p:12 "
          "rr:1:60:4 a:1.2.3.4",
     NULL, 0, DNS_BAD, 0, ""},
    {"AAAA with RDLENGTH 5 in an A answer",
     H_OK ":2:0:0 " Q_A " p:12 rr:28:60:5 0102030405 p:12 "
          "rr:1:60:4 a:1.2.3.4",
     NULL, 0, DNS_BAD, 0, ""},
    {"A with RDLENGTH 5 in the additional section: not checked",
     H_OK ":1:0:1 " Q_A " p:12 rr:1:60:4 a:1.2.3.4 p:12 rr:1:60:5 0102030405", NULL, 0, DNS_OK, 60,
     "1.2.3.4"},
    {"RDLENGTH past the end", H_OK ":1:0:0 " Q_A " p:12 rr:1:60:65535 01020304", NULL, 0, DNS_BAD,
     0, ""},
    {"ANCOUNT larger than the records", H_OK ":2:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_BAD, 0, ""},
    {"ANCOUNT 65535", H_OK ":ffff:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", NULL, 0, DNS_BAD, 0, ""},
    {"ARCOUNT larger than the records", H_OK ":1:0:1 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", NULL, 0,
     DNS_BAD, 0, ""},
    {"trailing bytes", H_OK ":1:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4 00", NULL, 0, DNS_BAD, 0, ""},
    {"empty message", "", NULL, 0, DNS_BAD, 0, ""},
    {"11 bytes", "1234818000010000000000", NULL, 0, DNS_BAD, 0, ""},
    {"header only, QDCOUNT 1", H_OK ":0:0:0", NULL, 0, DNS_BAD, 0, ""},
    {"question without type", H_OK ":0:0:0 n:a.test 0001", NULL, 0, DNS_BAD, 0, ""},
    {"OPT and other types in additional ignored",
     H_OK ":1:0:2 " Q_A " p:12 rr:1:60:4 a:1.2.3.4 n:. rr:41:0:0 p:12 rr:16:60:3 026869", NULL, 0,
     DNS_OK, 60, "1.2.3.4"},
    {"unknown types in the answer skipped",
     H_OK ":3:0:0 " Q_A " p:12 rr:99:60:3 010203 p:12 rr:1:60:4 a:1.2.3.4 p:12 rr:16:60:0", NULL, 0,
     DNS_OK, 60, "1.2.3.4"},
    {"query name with trailing dot", H_OK ":1:0:0 " Q_A " p:12 rr:1:60:4 a:1.2.3.4", "a.test.", 0,
     DNS_OK, 60, "1.2.3.4"},
};

/* "c0 -> c1 -> ... -> cN -> A": N+1 names, N CNAMEs, in order. */
static void chain_spec(char *s, size_t cap, unsigned cnames)
{
    size_t o = (size_t)snprintf(s, cap, H_OK ":%x:0:0 n:c0.test q:1", cnames + 1);
    for (unsigned i = 0; i < cnames; i++)
        o += (size_t)snprintf(s + o, cap - o, " n:c%u.test rr:5:%u:%u n:c%u.test", i, 100 - i,
                              i + 1 >= 10 ? 10 : 9, i + 1);
    snprintf(s + o, cap - o, " n:c%u.test rr:1:200:4 a:10.0.0.%u", cnames, cnames);
}

static void t_made(void)
{
    group = "made";
    uint8_t m[4096];
    char spec[8192];
    struct dns_res res;
    for (size_t i = 0; i < ARRAY_LEN(made); i++) {
        size_t n = masm(m, sizeof m, made[i].spec);
        const char *name = made[i].name ? made[i].name : "a.test";
        uint16_t qt = made[i].qtype ? made[i].qtype : DNS_T_A;
        int rc = run(m, n, 0x1234, name, qt, &res);
        const char *got = fmt_addrs(res.addr, res.n);
        CHECK(rc == made[i].rc && strcmp(got, made[i].addrs) == 0 && res.ttl == made[i].ttl,
              "%s: %s ttl %u [%s]; want %s ttl %u [%s]", made[i].what, rcs(rc), res.ttl, got,
              rcs(made[i].rc), made[i].ttl, made[i].addrs);
        /* a well-formed message cut short anywhere: never an answer */
        for (size_t k = 0; made[i].rc != DNS_BAD && k < n; k++) {
            rc = run(m, k, 0x1234, name, qt, &res);
            if (made[i].rc != DNS_IGNORE && rc != DNS_BAD && rc != DNS_TRUNCATED &&
                rc != DNS_IGNORE && rc != DNS_SERVFAIL) {
                CHECK(0, "%s cut at %zu: %s", made[i].what, k, rcs(rc));
                break;
            }
        }
    }

    /* CNAME chain length: DNS_MAX_CNAME hops are followed, one more is a loop */
    for (unsigned c = 0; c <= DNS_MAX_CNAME + 2; c++) {
        chain_spec(spec, sizeof spec, c);
        size_t n = masm(m, sizeof m, spec);
        int rc = run(m, n, 0x1234, "c0.test", DNS_T_A, &res);
        char want[32];
        snprintf(want, sizeof want, "10.0.0.%u", c);
        if (c <= DNS_MAX_CNAME)
            CHECK(rc == DNS_OK && strcmp(fmt_addrs(res.addr, res.n), want) == 0 &&
                      res.ttl == (c ? 100 - (c - 1) : 200),
                  "chain of %u CNAMEs: %s ttl %u", c, rcs(rc), res.ttl);
        else
            CHECK(rc == DNS_SERVFAIL, "chain of %u CNAMEs: %s", c, rcs(rc));
    }

    /* pointer chains: record k's owner points at record k-1's owner, so
     * reading it takes k jumps; DNS_MAX_JUMPS is the most allowed */
    for (unsigned k = DNS_MAX_JUMPS - 1; k <= DNS_MAX_JUMPS + 1; k++) {
        size_t o = (size_t)snprintf(spec, sizeof spec, H_OK ":0:0:%x " Q_A, k);
        for (unsigned i = 0; i < k; i++) {
            /* owners at 24 + 12*i: 2-byte pointer + 10 bytes of record */
            o += (size_t)snprintf(spec + o, sizeof spec - o, " p:%u rr:16:0:0",
                                  i == 0 ? 12 : 24 + 12 * (i - 1));
        }
        size_t n = masm(m, sizeof m, spec);
        int rc = run(m, n, 0x1234, "a.test", DNS_T_A, &res);
        CHECK(rc == (k <= DNS_MAX_JUMPS ? DNS_NODATA : DNS_BAD), "pointer chain of %u: %s", k,
              rcs(rc));
    }

    /* more addresses than DNS_MAX_ADDRS: the first 16, TTL of those only */
    size_t o = (size_t)snprintf(spec, sizeof spec, H_OK ":%x:0:0 " Q_A, DNS_MAX_ADDRS + 4);
    for (unsigned i = 0; i < DNS_MAX_ADDRS + 4; i++)
        o += (size_t)snprintf(spec + o, sizeof spec - o, " p:12 rr:1:%u:4 a:10.9.0.%u",
                              i < DNS_MAX_ADDRS ? 500 - i : 5, i);
    size_t n = masm(m, sizeof m, spec);
    int rc = run(m, n, 0x1234, "a.test", DNS_T_A, &res);
    CHECK(rc == DNS_OK && res.n == DNS_MAX_ADDRS && res.addr[0].a[3] == 0 &&
              res.addr[DNS_MAX_ADDRS - 1].a[3] == DNS_MAX_ADDRS - 1 &&
              res.ttl == 500 - (DNS_MAX_ADDRS - 1),
          "20 A records: %s n %u ttl %u", rcs(rc), res.n, res.ttl);
    /* an IPv4 result has zeroes after the 4 address bytes */
    static const uint8_t zero[12];
    CHECK(res.addr[0].family == AF_INET && memcmp(res.addr[0].a + 4, zero, 12) == 0,
          "A result zero-padded");

    /* a maximal TCP message of many small records: bounded work, BAD (count 65535) */
    size_t big = 65535;
    uint8_t *msg = xcalloc(1, big);
    n = masm(msg, big, H_OK ":ffff:0:0 " Q_A);
    while (big - n >= 11)
        msg[n] = 0, msg[n + 2] = 16, msg[n + 4] = 1, n += 11; /* root, TXT, IN, empty */
    rc = run(msg, n, 0x1234, "a.test", DNS_T_A, &res);
    CHECK(rc == DNS_BAD, "65535 bytes, ANCOUNT 65535: %s", rcs(rc));
    msg[7] = (uint8_t)((n - 24) / 11), msg[6] = (uint8_t)((n - 24) / 11 >> 8);
    rc = run(msg, n, 0x1234, "a.test", DNS_T_A, &res);
    CHECK(rc == DNS_NODATA, "%zu records of root TXT: %s", (n - 24) / 11, rcs(rc));
    free(msg);
}

/* Random damage to the captures and to random messages: the result must be
 * one of the codes, with n <= DNS_MAX_ADDRS (run() checks), under ASan. */
static void t_fuzz(void)
{
    group = "fuzz";
    uint8_t m[2048], orig[2048];
    struct dns_res res;
    unsigned runs = 0, ok = 0;
    for (unsigned iter = 0; iter < 20000; iter++) {
        const struct cap *c = &caps[iter % ARRAY_LEN(caps)];
        size_t n = unhex(orig, sizeof orig, c->hex);
        memcpy(m, orig, n);
        uint8_t r[8];
        rnd_bytes(r, sizeof r);
        unsigned flips = 1 + r[0] % 4;
        for (unsigned f = 0; f < flips; f++) {
            rnd_bytes(r, sizeof r);
            size_t at = ld32_le(r) % n;
            if (r[4] & 1)
                m[at] = r[5];
            else
                m[at] ^= (uint8_t)(1u << (r[6] & 7));
        }
        if (r[7] & 1) n -= r[7] % n;
        int rc = run(m, n, c->id, c->name, c->qtype, &res);
        runs++;
        if (rc < DNS_OK || rc > DNS_BAD || (rc != DNS_OK && res.n != 0) || (rc == DNS_OK && !res.n))
            CHECK(0, "%s damaged: %s n %u", c->tag, rcs(rc), res.n);
        else
            ok++;
    }
    for (unsigned iter = 0; iter < 20000; iter++) {
        uint8_t r[4];
        rnd_bytes(r, sizeof r);
        size_t n = 12 + ld32_le(r) % 300;
        rnd_bytes(m, n);
        /* a valid header and question a.test A half of the time */
        if (iter & 1) n = MAX(n, masm(m, sizeof m, H_OK ":2:1:1 " Q_A));
        m[0] = 0x12, m[1] = 0x34, m[2] |= 0x80, m[2] &= 0x87;
        int rc = run(m, n, 0x1234, "a.test", DNS_T_A, &res);
        runs++;
        if (rc < DNS_OK || rc > DNS_BAD || (rc != DNS_OK && res.n != 0))
            CHECK(0, "random message: %s", rcs(rc));
        else
            ok++;
    }
    CHECK(ok == runs, "%u of %u damaged messages handled", ok, runs);
}

/* ---- /etc/hosts ---- */

static void t_hosts(void)
{
    group = "hosts";
    static const char hosts[] = "# /etc/hosts\n"
                                "127.0.0.1\tlocalhost\n"
                                "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
                                "\n"
                                "   \t \n"
                                "192.168.1.10  Server.Example.com server   # the file server\n"
                                "192.168.1.11  other.example.com\n"
                                "10.0.0.300    bad.example\n"
                                "10.0.0\t      bad2.example\n"
                                "fe80::1%eth0  scoped.example\n"
                                "not-an-ip     junk\n"
                                "2001:db8::5   server\n"
                                "192.168.1.10  server\n"
                                "  10.9.9.9 spaced.example\r\n"
                                "#192.168.9.9 server\n"
                                "1.2.3.4\n"
                                "1.2.3.5 x.example.\n"
                                "1.2.3.6#comment x.example\n"
                                "1.2.3.7 a#b\n"
                                "1.2.3.8 notlast.example";
    static const struct {
        const char *name;
        int family;
        unsigned max;
        const char *addrs;
    } tab[] = {
        {"localhost", AF_UNSPEC, 16, "127.0.0.1 ::1"},
        {"localhost", AF_INET, 16, "127.0.0.1"},
        {"localhost", AF_INET6, 16, "::1"},
        {"LOCALHOST.", AF_UNSPEC, 16, "127.0.0.1 ::1"},
        {"ip6-loopback", AF_UNSPEC, 16, "::1"},
        {"ip6-loopback", AF_INET, 16, ""},
        {"server", AF_UNSPEC, 16, "192.168.1.10 2001:db8::5"},
        {"server", AF_UNSPEC, 1, "192.168.1.10"},
        {"server", AF_UNSPEC, 0, ""},
        {"server.example.com", AF_INET, 16, "192.168.1.10"},
        {"SERVER.EXAMPLE.COM.", AF_INET6, 16, ""},
        {"other.example.com", AF_UNSPEC, 16, "192.168.1.11"},
        {"example.com", AF_UNSPEC, 16, ""},
        {"bad.example", AF_UNSPEC, 16, ""},
        {"bad2.example", AF_UNSPEC, 16, ""},
        {"scoped.example", AF_UNSPEC, 16, ""},
        {"junk", AF_UNSPEC, 16, ""},
        {"not-an-ip", AF_UNSPEC, 16, ""},
        {"spaced.example", AF_UNSPEC, 16, "10.9.9.9"},
        {"x.example", AF_UNSPEC, 16, "1.2.3.5"},
        {"a", AF_UNSPEC, 16, "1.2.3.7"},
        {"a#b", AF_UNSPEC, 16, ""},
        {"notlast.example", AF_UNSPEC, 16, "1.2.3.8"},
        {"the", AF_UNSPEC, 16, ""},
        {"", AF_UNSPEC, 16, ""},
        {".", AF_UNSPEC, 16, ""},
    };
    struct dns_addr out[16];
    for (size_t i = 0; i < ARRAY_LEN(tab); i++) {
        memset(out, 0xee, sizeof out);
        unsigned n = dns_hosts(hosts, tab[i].name, tab[i].family, out, tab[i].max);
        const char *got = fmt_addrs(out, n);
        CHECK(strcmp(got, tab[i].addrs) == 0, "%s/%d/%u: [%s] want [%s]", tab[i].name,
              tab[i].family, tab[i].max, got, tab[i].addrs);
    }
    CHECK(dns_hosts("", "localhost", AF_UNSPEC, out, 16) == 0, "empty file");
    CHECK(dns_hosts(NULL, "localhost", AF_UNSPEC, out, 16) == 0, "no file");
    CHECK(dns_hosts("127.0.0.1 localhost", "localhost", AF_UNSPEC, out, 16) == 1, "no newline");
    /* a line longer than any buffer: the address word is too long to parse */
    static char longline[5000];
    memset(longline, '1', sizeof longline - 20);
    memcpy(longline + sizeof longline - 20, " longname\n1.1.1.1 x", 19);
    CHECK(dns_hosts(longline, "longname", AF_UNSPEC, out, 16) == 0 &&
              dns_hosts(longline, "x", AF_UNSPEC, out, 16) == 1,
          "long line");
}

/* ---- /etc/resolv.conf and --dns ---- */

static const char *sa_str(const struct sockaddr_storage *ss)
{
    static char buf[4][64];
    static unsigned k;
    char *o = buf[k++ & 3];
    net_addr_str((const struct sockaddr *)ss, o, 64);
    return o;
}

static void t_conf(void)
{
    group = "resolv.conf";
    static const struct {
        const char *text;
        const char *servers;
        unsigned timeout, attempts;
    } tab[] = {
        {"# comment\n"
         "; another\n"
         "domain example.com\n"
         "search a.example b.example\n"
         "nameserver 10.0.0.1\n"
         "nameserver   2001:db8::53   # v6\n"
         "nameserver fe80::1%eth0\n"
         "nameserver bogus\n"
         "nameserver\n"
         "nameserver 10.0.0.2\n"
         "nameserver 10.0.0.3\n"
         "nameserver 10.0.0.4\n"
         "options ndots:2 timeout:3 attempts:4 rotate\n",
         "10.0.0.1:53 [2001:db8::53]:53 10.0.0.2:53", 3, 4},
        {"", "127.0.0.1:53", 5, 2},
        {NULL, "127.0.0.1:53", 5, 2},
        {"nameserver bogus\nnameserver fe80::1%lo\n", "127.0.0.1:53", 5, 2},
        {"options timeout:0 attempts:0\n", "127.0.0.1:53", 1, 1},
        {"options timeout:999999999999999 attempts:99\n", "127.0.0.1:53", 30, 5},
        {"options timeout:abc attempts:-1 timeout: attempts:\n", "127.0.0.1:53", 5, 2},
        {"options timeout:2\noptions attempts:3 timeout:7\n", "127.0.0.1:53", 7, 3},
        {"options\ttimeout:4\r\nnameserver\t::1\r\n", "[::1]:53", 4, 2},
        {"nameserver1.2.3.4\nnameservers 1.2.3.5\nNAMESERVER 1.2.3.6\n", "127.0.0.1:53", 5, 2},
        {"  nameserver 1.2.3.4\n#nameserver 1.2.3.5\n;nameserver 1.2.3.6", "1.2.3.4:53", 5, 2},
        {"nameserver 1.2.3.4 5.6.7.8\noptions timeout:9#comment attempts:5\n", "1.2.3.4:53", 9, 2},
        {"nameserver 1.2.3.4;x\n", "1.2.3.4:53", 5, 2},
        {"nameserver 1.2.3.4:53\nnameserver [::1]\n", "127.0.0.1:53", 5, 2},
    };
    struct dns_conf c;
    for (size_t i = 0; i < ARRAY_LEN(tab); i++) {
        memset(&c, 0xee, sizeof c);
        dns_conf_parse(tab[i].text, &c);
        char got[256] = "";
        size_t o = 0;
        for (unsigned k = 0; k < c.nns && k < DNS_MAXNS; k++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", k ? " " : "", sa_str(&c.ns[k]));
        CHECK(strcmp(got, tab[i].servers) == 0 && c.timeout_s == tab[i].timeout &&
                  c.attempts == tab[i].attempts,
              "case %zu: [%s] timeout %u attempts %u; want [%s] %u %u", i, got, c.timeout_s,
              c.attempts, tab[i].servers, tab[i].timeout, tab[i].attempts);
    }

    group = "--dns";
    static const struct {
        const char *s, *want; /* want NULL: rejected */
    } srvtab[] = {
        {"1.2.3.4", "1.2.3.4:53"},
        {"1.2.3.4:5353", "1.2.3.4:5353"},
        {"127.0.0.1:65535", "127.0.0.1:65535"},
        {"::1", "[::1]:53"},
        {"2001:db8::1", "[2001:db8::1]:53"},
        {"[::1]", "[::1]:53"},
        {"[::1]:5353", "[::1]:5353"},
        {"[2001:db8::1]:1", "[2001:db8::1]:1"},
        {"", NULL},
        {":53", NULL},
        {"1.2.3.4:", NULL},
        {"1.2.3.4:0", NULL},
        {"1.2.3.4:65536", NULL},
        {"1.2.3.4:-1", NULL},
        {"1.2.3.4:53x", NULL},
        {"1.2.3.4: 53", NULL},
        {"1.2.3", NULL},
        {"[::1", NULL},
        {"[::1]x", NULL},
        {"[::1]:", NULL},
        {"[]:53", NULL},
        {"[1.2.3.4]:53", NULL},
        {"dns.example", NULL},
        {"dns.example:53", NULL},
        {"fe80::1%eth0", NULL},
        {"[fe80::1%eth0]:53", NULL},
        {"1.2.3.4:53:1", NULL},
        {" 1.2.3.4", NULL},
    };
    for (size_t i = 0; i < ARRAY_LEN(srvtab); i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        int rc = dns_server_parse(srvtab[i].s, &ss);
        if (srvtab[i].want)
            CHECK(rc == 0 && strcmp(sa_str(&ss), srvtab[i].want) == 0, "%s: %d %s", srvtab[i].s, rc,
                  rc == 0 ? sa_str(&ss) : "");
        else
            CHECK(rc == -1, "%s accepted as %s", srvtab[i].s, sa_str(&ss));
    }

    group = "misc";
    struct dns_addr a = {AF_INET6, {0}};
    struct sockaddr_storage ss;
    a.a[15] = 1;
    CHECK(dns_addr_sockaddr(&a, 443, &ss) == sizeof(struct sockaddr_in6) &&
              strcmp(sa_str(&ss), "[::1]:443") == 0,
          "dns_addr_sockaddr v6");
    a.family = AF_INET, a.a[0] = 10, a.a[3] = 7;
    CHECK(dns_addr_sockaddr(&a, 80, &ss) == sizeof(struct sockaddr_in) &&
              strcmp(sa_str(&ss), "10.0.0.7:80") == 0,
          "dns_addr_sockaddr v4");
    CHECK(strcmp(dns_result_str(DNS_NXDOMAIN), "no such name") == 0 &&
              strcmp(dns_result_str(DNS_BAD), "malformed reply") == 0 &&
              strcmp(dns_result_str(99), "error") == 0 && strcmp(dns_result_str(-1), "error") == 0,
          "dns_result_str");
}

/* Start-up lookups (rs_addrs, which replaced getaddrinfo): literals read
 * as getaddrinfo(AI_NUMERICHOST) reads them, names from a hosts file in its
 * order, and a name nobody answers for failing with a reason. */
static void t_addrs(void)
{
    group = "addrs";
    static const char *const lits[] = {
        "127.0.0.1", "0.0.0.0", "10.1", "127.1", "1.2.3", "0x7f.1", "017.0.0.1", "4294967295",
        "4294967296", "256.1.1.1", "1.2.3.256", "1.2.65536", "1.2.65535", "1.2.3.4.5", "1..2",
        "1.2.3.", ".1.2.3", "-1.2.3.4", "+1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "0x", "08.1.1.1",
        "::", "::1", "2001:db8::5", "::ffff:1.2.3.4", "fe80::1%1", "fe80::1%0", "fe80::1%lo",
        "fe80::1%nosuchif", "fe80::1%", "fe80::1%1x", "1.2.3.4%1", "[::1]", "localhost", "", "x",
        "1:2:3:4:5:6:7:8:9"};
    for (size_t i = 0; i < ARRAY_LEN(lits); i++) {
        struct addrinfo hints, *res = NULL;
        struct sockaddr_storage ours;
        memset(&hints, 0, sizeof hints);
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        hints.ai_socktype = SOCK_STREAM;
        int theirs = getaddrinfo(lits[i], "443", &hints, &res) == 0;
        int mine = rs_numeric(lits[i], 443, &ours) == 0;
        int same = theirs == mine &&
                   (!mine || (res->ai_addrlen <= sizeof ours &&
                              memcmp(&ours, res->ai_addr, res->ai_addrlen) == 0));
        CHECK(same, "'%s': getaddrinfo %s, rs_numeric %s", lits[i], theirs ? "takes it" : "not",
              mine ? "takes it" : "not");
        if (res) freeaddrinfo(res);
    }

    char hosts[] = "/tmp/unit_dns_hosts.XXXXXX";
    int fd = mkstemp(hosts);
    static const char text[] = "192.0.2.1 two.example\n2001:db8::2 two.example\n"
                               "192.0.2.3 two.example\n";
    CHECK(fd >= 0 && write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "hosts file");
    if (fd >= 0) close(fd);
    const char *saved_hosts = rs_hosts_path;
    rs_hosts_path = hosts;
    rsc.hosts_checked = 0;
    rs_apply_dns("127.0.0.1:9"); /* discard: nobody answers */
    rsc.conf.timeout_s = 1, rsc.conf.attempts = 1;
    struct net_addrs a;
    char err[300] = "", ip[64];
    int rc = rs_addrs("two.example", 8443, &a, err, sizeof err);
    CHECK(rc == 0 && a.n == 3, "hosts: %d, %u addresses: %s", rc, a.n, err);
    static const char *const want[] = {"192.0.2.1:8443", "[2001:db8::2]:8443", "192.0.2.3:8443"};
    for (unsigned i = 0; rc == 0 && i < a.n && i < 3; i++) {
        net_addr_str((struct sockaddr *)&a.a[i], ip, sizeof ip);
        CHECK(strcmp(ip, want[i]) == 0, "hosts order %u: %s", i, ip);
    }
    rc = rs_addrs("10.0.0.7", 1, &a, err, sizeof err);
    net_addr_str((struct sockaddr *)&a.a[0], ip, sizeof ip);
    CHECK(rc == 0 && a.n == 1 && strcmp(ip, "10.0.0.7:1") == 0, "literal: %s", ip);
    err[0] = 0;
    rc = rs_addrs("nobody.example", 1, &a, err, sizeof err);
    CHECK(rc != 0 && a.n == 0 && strstr(err, "cannot resolve nobody.example"), "no answer: %s",
          err);
    rs_hosts_path = saved_hosts;
    unlink(hosts);
}

int main(void)
{
    rnd_test_seed(7); /* the fuzz loop is reproducible */
    t_query();
    t_captures();
    t_made();
    t_fuzz();
    t_hosts();
    t_conf();
    t_addrs();
    printf("dns: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
