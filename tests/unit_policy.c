/*
 * Tests for the destination policy (pol_) and authorized_keys
 * (ak_). alknet.c is included whole (ALKNET_NO_MAIN), so the code under test
 * is the code alknet runs.
 *
 * Built by make (build/unit_policy); run by tests/test_units.py.
 *
 * Last line: "policy: N passed, M failed"; exit status 0 only if none failed.
 * The keys below were made with `ssh-keygen -t ed25519` (and -t rsa,
 * -t ecdsa for the lines that must be skipped).
 */
#include "unit.h"

/* ---------- helpers ---------- */

/* A socket address for an IP literal (port 0), from a small ring. */
static const struct sockaddr *SA(const char *ip)
{
    static struct sockaddr_storage ring[8];
    static unsigned k;
    struct sockaddr_storage *ss = &ring[k++ & 7];
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (void *)ss;
    struct sockaddr_in6 *s6 = (void *)ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
    } else {
        printf("test bug: bad address %s\n", ip);
        exit(2);
    }
    return (const struct sockaddr *)ss;
}

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* Builds a policy from "allow X" / "deny X" lines; all must parse. */
static void mkpol(struct pol *p, const char *const *rules)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; rules[i]; i++) {
        int allow = strncmp(rules[i], "allow ", 6) == 0;
        const char *e = pol_add(p, allow, rules[i] + (allow ? 6 : 5));
        CHECK(e == NULL, "rule '%s' refused: %s", rules[i], e ? e : "");
    }
}

/* ---------- Part A: parsing rules ---------- */

static void t_pol_parse(void)
{
    group = "pol-parse";
    static const struct {
        const char *in, *out;
    } good[] = {
        {"10.0.0.0/8", "10.0.0.0/8"},
        {"192.0.2.7", "192.0.2.7"},
        {"192.0.2.7/32", "192.0.2.7"},
        {"0.0.0.0/0", "0.0.0.0/0"},
        {"2001:db8::1", "2001:db8::1"},
        {"2001:DB8::/32", "2001:db8::/32"},
        {"::/0", "::/0"},
        {"::1", "::1"},
        {"[::1]", "::1"},
        {"[2001:db8::/32]:443", "[2001:db8::/32]:443"},
        {"[2001:db8::1]:80-90", "[2001:db8::1]:80-90"},
        {"[2001:db8::1]:*", "2001:db8::1"},
        {"[::ffff:10.0.0.0/104]", "::ffff:10.0.0.0/104"},
        {"intranet.example", "intranet.example"},
        {"*.Corp.Example", "*.corp.example"},
        {"*.corp.example:443", "*.corp.example:443"},
        {"intranet.example.:22", "intranet.example:22"},
        {"host_1.example:0-65535", "host_1.example"},
        {"web?.example:8000-8999", "web?.example:8000-8999"},
        {"alknet-*", "alknet-*"},
        {"*.*", "*.*"},
        {"*.*.*.example", "*.*.*.example"},
        {"*", "*"},
        {"*:25", "*:25"},
        {":25", "*:25"},
        {":1-1024", "*:1-1024"},
        {":*", "*"},
        {"*:*", "*"},
        {"10.0.0.0/8:1-1024", "10.0.0.0/8:1-1024"},
        {"192.0.2.7:0", "192.0.2.7:0"},
        {"  10.0.0.0/8\t ", "10.0.0.0/8"},
        {"1password.example", "1password.example"},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        struct pol p = {NULL, 0};
        const char *e = pol_add(&p, 1, good[i].in);
        CHECK(e == NULL && p.n == 1, "'%s' refused: %s", good[i].in, e ? e : "");
        if (e || p.n != 1) continue;
        char t[400];
        pol_rule_text(&p.r[0], t, sizeof t);
        CHECK(strcmp(t, good[i].out) == 0, "'%s' reads back as '%s', want '%s'", good[i].in, t,
              good[i].out);
        /* the canonical text parses to the same rule */
        e = pol_add(&p, 0, t);
        CHECK(e == NULL && p.n == 2, "canonical '%s' refused: %s", t, e ? e : "");
        if (p.n == 2) {
            char t2[400];
            pol_rule_text(&p.r[1], t2, sizeof t2);
            CHECK(strcmp(t, t2) == 0 && p.r[0].kind == p.r[1].kind && p.r[0].bits == p.r[1].bits &&
                      memcmp(p.r[0].a, p.r[1].a, 16) == 0 && p.r[0].lo == p.r[1].lo &&
                      p.r[0].hi == p.r[1].hi && p.r[1].allow == 0,
                  "round trip of '%s' differs ('%s')", t, t2);
        }
        pol_free(&p);
        CHECK(p.r == NULL && p.n == 0, "pol_free leaves an empty policy");
    }

    char longrule[POL_TEXT_MAX + 2], longname[260];
    memset(longrule, 'a', sizeof longrule - 1);
    longrule[sizeof longrule - 1] = 0;
    memset(longname, 'a', 254);
    longname[254] = 0;
    const struct {
        const char *in, *err;
    } bad[] = {
        {"", "empty rule"},
        {"   ", "empty rule"},
        {"10.0.0.0/33", "bad prefix length /33 (0-32 for IPv4)"},
        {"2001:db8::/129", "bad prefix length /129 (0-128 for IPv6)"},
        {"[2001:db8::/200]:80", "bad prefix length /200"},
        {"10.0.0.0/", "bad prefix length"},
        {"10.0.0.0/8/9", "bad prefix length"},
        {"10.0.0.0/-1", "bad prefix length"},
        {"10.0.0.0/0008", "bad prefix length"},
        {"10.1.2.3/8", "10.1.2.3/8 has bits set after the prefix (the network is 10.0.0.0/8)"},
        {"2001:db8::1/32", "(the network is 2001:db8::/32)"},
        {"10.0.0.256", "10.0.0.256 is not a valid IPv4 address"},
        {"1.2.3", "is not a valid IPv4 address"},
        {"10.0.0.*", "looks like an address pattern"},
        {"192.168.0.?:22", "write a CIDR such as"},
        {"10.0.0.1:99999", "bad port 99999"},
        {"10.0.0.1:", "bad port"},
        {"10.0.0.1:80-", "bad port 80-"},
        {"10.0.0.1:-80", "bad port"},
        {"10.0.0.1:x", "bad port x"},
        {"10.0.0.1:+5", "bad port"},
        {"10.0.0.1:90-80", "port range 90-80 is backwards"},
        {"*:1-2-3", "bad port"},
        {"2001:db8::zz:443", "(an IPv6 rule with a port is written [ADDRESS]:PORT)"},
        {"[10.0.0.1]:80", "brackets are only for IPv6"},
        {"[2001:db8::1", "missing ]"},
        {"[2001:db8::1]443", "expected :PORT after ]"},
        {"[2001:db8::1]:", "bad port"},
        {"[]:80", "is not an IP address"},
        {"[intranet.example]:80", "is not an IP address"},
        {"a b", "white space"},
        {"a\x01"
         "b",
         "control character"},
        {"bad/host", "bad is not an IP address"},
        {"ex@mple.com", "bad character '@'"},
        {"*.exa!mple", "bad character '!'"},
        {"*.*.*.*.example", "more than 3 * in host pattern *.*.*.*.example"},
        {"**.**", "more than 3 *"},
        {longrule, "rule longer than 300 bytes"},
        {longname, "host pattern longer than 253 characters"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct pol p = {NULL, 0};
        const char *e = pol_add(&p, 0, bad[i].in);
        CHECK(e && contains(e, bad[i].err) && p.n == 0, "'%s': got '%s', want '%s'",
              log_esc(bad[i].in, strlen(bad[i].in)), e ? e : "(accepted)", bad[i].err);
        pol_free(&p);
    }

    /* the rule count is bounded */
    struct pol p = {NULL, 0};
    const char *e = NULL;
    for (int i = 0; i < POL_RULES_MAX && !e; i++)
        e = pol_add(&p, 1, i % 2 ? "*.example" : "10.0.0.0/8");
    CHECK(e == NULL && p.n == POL_RULES_MAX, "could not add %d rules", POL_RULES_MAX);
    e = pol_add(&p, 1, "*.one-too-many");
    CHECK(e && contains(e, "too many rules") && p.n == POL_RULES_MAX, "rule %d accepted",
          POL_RULES_MAX + 1);
    pol_free(&p);
}

/* ---------- Part A: verdicts ---------- */

struct vcase {
    const char *name;
    unsigned port;
    const char *addr;
    int want;
    const char *why; /* substring of the sentence, or NULL */
};

static void run_cases(const char *g, const char *const *rules, const struct vcase *c, size_t n)
{
    struct pol p;
    group = g;
    mkpol(&p, rules);
    for (size_t i = 0; i < n; i++) {
        char why[300] = "";
        int v = pol_check(&p, c[i].name, c[i].port, SA(c[i].addr), why, sizeof why);
        CHECK(v == c[i].want && (!c[i].why || contains(why, c[i].why)),
              "%s:%u at %s: got %d (%s), want %d (%s)", c[i].name ? c[i].name : "(none)", c[i].port,
              c[i].addr, v, why, c[i].want, c[i].why ? c[i].why : "");
        /* a NULL why is allowed */
        CHECK(pol_check(&p, c[i].name, c[i].port, SA(c[i].addr), NULL, 0) == v, "why NULL");
    }
    pol_free(&p);
}

static void t_pol_defaults(void)
{
    static const char *const none[] = {NULL};
    static const struct vcase c[] = {
        {"x", 443, "8.8.8.8", 1, "allowed by default"},
        {"x", 443, "1.1.1.1", 1, "allowed by default"},
        {"x", 443, "2001:4860::8888", 1, "allowed by default"},
        {"x", 443, "2001:db8::1", 1, NULL},
        {"x", 80, "0.0.0.0", 0, "0.0.0.0 is a \"this network\" address"},
        {"x", 80, "0.1.2.3", 0, "allow it with --allow 0.0.0.0/8"},
        {"x", 80, "1.0.0.0", 1, NULL},
        {"x", 80, "10.1.2.3", 0,
         "10.1.2.3 is a private address, denied by default (allow it with --allow 10.0.0.0/8)"},
        {"x", 80, "10.255.255.255", 0, "private"},
        {"x", 80, "9.255.255.255", 1, NULL},
        {"x", 80, "11.0.0.0", 1, NULL},
        {"x", 80, "100.64.0.1", 0, "100.64.0.1 is a shared (carrier-grade NAT) address"},
        {"x", 80, "100.127.255.255", 0, "--allow 100.64.0.0/10"},
        {"x", 80, "100.63.255.255", 1, NULL},
        {"x", 80, "100.128.0.0", 1, NULL},
        {"x", 80, "127.0.0.1", 0, "127.0.0.1 is a loopback address"},
        {"x", 80, "127.255.255.254", 0, "--allow 127.0.0.0/8"},
        {"x", 80, "128.0.0.1", 1, NULL},
        {"x", 80, "169.254.169.254", 0, "169.254.169.254 is a link-local address"},
        {"x", 80, "169.253.0.1", 1, NULL},
        {"x", 80, "169.255.0.1", 1, NULL},
        {"x", 80, "172.16.0.1", 0, "--allow 172.16.0.0/12"},
        {"x", 80, "172.31.255.255", 0, "private"},
        {"x", 80, "172.15.255.255", 1, NULL},
        {"x", 80, "172.32.0.0", 1, NULL},
        {"x", 80, "192.0.0.1", 0, "IETF protocol"},
        {"x", 80, "192.0.0.255", 0, "--allow 192.0.0.0/24"},
        {"x", 80, "192.0.1.1", 1, NULL},
        {"x", 80, "192.0.2.1", 1, NULL},
        {"x", 80, "192.168.1.1", 0, "--allow 192.168.0.0/16"},
        {"x", 80, "192.167.255.255", 1, NULL},
        {"x", 80, "192.169.0.1", 1, NULL},
        {"x", 80, "198.18.0.1", 0, "benchmarking"},
        {"x", 80, "198.19.255.255", 0, "--allow 198.18.0.0/15"},
        {"x", 80, "198.17.255.255", 1, NULL},
        {"x", 80, "198.20.0.0", 1, NULL},
        {"x", 80, "223.255.255.255", 1, NULL},
        {"x", 80, "224.0.0.1", 0, "multicast"},
        {"x", 80, "239.255.255.255", 0, "--allow 224.0.0.0/4"},
        {"x", 80, "240.0.0.1", 0, "reserved or broadcast"},
        {"x", 80, "255.255.255.255", 0, "255.255.255.255 is a reserved or broadcast address"},
        {"x", 80, "::", 0, ":: is the unspecified address"},
        {"x", 80, "::1", 0,
         "::1 is the loopback address, denied by default (allow it with --allow ::1)"},
        {"x", 80, "fe80::1", 0, "fe80::1 is a link-local address"},
        {"x", 80, "febf:ffff::1", 0, "--allow fe80::/10"},
        {"x", 80, "fec0::1", 1, NULL},
        {"x", 80, "fc00::1", 0, "unique-local"},
        {"x", 80, "fd00::1", 0,
         "fd00::1 is a unique-local address, denied by default (allow it with --allow fc00::/7)"},
        {"x", 80, "fe00::1", 1, NULL},
        {"x", 80, "ff02::1", 0, "--allow ff00::/8"},
        {"x", 80, "::ffff:127.0.0.1", 0, "::ffff:127.0.0.1 is a loopback address"},
        {"x", 80, "::ffff:10.0.0.1", 0, "--allow 10.0.0.0/8"},
        {"x", 80, "::ffff:8.8.8.8", 1, "allowed by default"},
        {"x", 80, "64:ff9b::a00:1", 0,
         "64:ff9b::a00:1 (IPv4 10.0.0.1) is a private address, denied by default (allow it with "
         "--allow 10.0.0.0/8)"},
        {"x", 80, "64:ff9b::7f00:1", 0, "(IPv4 127.0.0.1) is a loopback address"},
        {"x", 80, "64:ff9b::a9fe:a9fe", 0, "link-local"},
        {"x", 80, "64:ff9b::808:808", 1, NULL},
        {"x", 80, "64:ff9b:1::a00:1", 1, NULL}, /* not the well-known /96 */
        {"x", 80, "::10.0.0.1", 0, "(IPv4 10.0.0.1) is a private address"},
        {"x", 80, "::2", 0, "\"this network\""},
        {"x", 80, "::8.8.8.8", 1, NULL},
        {NULL, 80, "10.0.0.1", 0, "private"},
        {"", 80, "8.8.8.8", 1, NULL},
        {"x", 65536, "8.8.8.8", 0, "port 65536 is out of range"},
    };
    run_cases("pol-defaults", none, c, ARRAY_LEN(c));

    /* every default's suggestion is a valid rule that lifts exactly that ban */
    group = "pol-default-advice";
    for (size_t i = 0; i < ARRAY_LEN(pol_defaults); i++) {
        const struct pol_def *d = &pol_defaults[i];
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        if (d->v4) {
            struct sockaddr_in *s4 = (void *)&ss;
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, d->a, 4);
        } else {
            struct sockaddr_in6 *s6 = (void *)&ss;
            s6->sin6_family = AF_INET6;
            memcpy(s6->sin6_addr.s6_addr, d->a, 16);
        }
        struct pol p = {NULL, 0};
        char why[300], want[64];
        CHECK(pol_check(&p, "x", 1, (const struct sockaddr *)&ss, why, sizeof why) == 0,
              "default %s does not deny its own network", d->allow);
        fmt_s(want, sizeof want, "--allow %s)", d->allow);
        CHECK(contains(why, want), "advice for %s: %s", d->allow, why);
        const char *e = pol_add(&p, 1, d->allow);
        CHECK(e == NULL, "advice '%s' is not a valid rule: %s", d->allow, e ? e : "");
        CHECK(pol_check(&p, "x", 1, (const struct sockaddr *)&ss, why, sizeof why) == 1 &&
                  contains(why, "allowed by --allow"),
              "advice '%s' does not allow: %s", d->allow, why);
        pol_free(&p);
    }

    /* a socket address that is not IP */
    group = "pol-family";
    struct sockaddr un;
    memset(&un, 0, sizeof un);
    un.sa_family = AF_UNIX;
    struct pol p = {NULL, 0};
    char why[200];
    CHECK(pol_check(&p, "x", 80, &un, why, sizeof why) == 0 && contains(why, "not an IPv4"),
          "AF_UNIX: %s", why);
    CHECK(pol_check(&p, "x", 80, NULL, why, sizeof why) == 0, "NULL address denied");
}

static void t_pol_rules(void)
{
    /* first match decides */
    static const char *const r1[] = {"allow 10.0.0.0/8", "deny 10.1.0.0/16", NULL};
    static const struct vcase c1[] = {
        {"x", 80, "10.1.2.3", 1, "allowed by --allow 10.0.0.0/8"},
        {"x", 80, "10.2.0.1", 1, "allowed by --allow 10.0.0.0/8"},
        {"x", 80, "192.168.0.1", 0, "denied by default"},
        {"x", 80, "8.8.8.8", 1, "allowed by default"},
    };
    run_cases("pol-order-1", r1, c1, ARRAY_LEN(c1));
    static const char *const r2[] = {"deny 10.1.0.0/16", "allow 10.0.0.0/8", NULL};
    static const struct vcase c2[] = {
        {"x", 80, "10.1.2.3", 0, "denied by --deny 10.1.0.0/16"},
        {"x", 80, "10.1.255.255", 0, "denied by --deny 10.1.0.0/16"},
        {"x", 80, "10.2.0.1", 1, "allowed by --allow 10.0.0.0/8"},
        {"x", 80, "10.0.255.255", 1, NULL},
    };
    run_cases("pol-order-2", r2, c2, ARRAY_LEN(c2));

    /* ports */
    static const char *const r3[] = {"deny *:25",
                                     "allow 192.168.1.10:22",
                                     "allow [fd00::/8]:443",
                                     "deny 8.8.8.8:53",
                                     "allow 172.16.0.0/12:8000-8999",
                                     "deny :6660-6669",
                                     NULL};
    static const struct vcase c3[] = {
        {"x", 25, "8.8.8.8", 0, "denied by --deny *:25"},
        {"x", 25, "2001:4860::8888", 0, "denied by --deny *:25"},
        {"x", 24, "8.8.8.8", 1, "allowed by default"},
        {"x", 22, "192.168.1.10", 1, "allowed by --allow 192.168.1.10:22"},
        {"x", 23, "192.168.1.10", 0, "denied by default"},
        {"x", 22, "192.168.1.11", 0, "denied by default"},
        {"x", 22, "::ffff:192.168.1.10", 1, "allowed by --allow 192.168.1.10:22"},
        {"x", 443, "fd00::5", 1, "allowed by --allow [fd00::/8]:443"},
        {"x", 443, "fdff:ffff::1", 1, NULL},
        {"x", 443, "fc00::1", 0, "denied by default"},
        {"x", 80, "fd00::5", 0, "denied by default"},
        {"x", 53, "8.8.8.8", 0, "denied by --deny 8.8.8.8:53"},
        {"x", 53, "::ffff:8.8.8.8", 0, "denied by --deny 8.8.8.8:53"},
        {"x", 53, "64:ff9b::808:808", 0, "denied by --deny 8.8.8.8:53"},
        {"x", 54, "8.8.8.8", 1, NULL},
        {"x", 8000, "172.20.0.1", 1, "allowed by --allow 172.16.0.0/12:8000-8999"},
        {"x", 8999, "172.31.0.1", 1, NULL},
        {"x", 9000, "172.20.0.1", 0, NULL},
        {"x", 7999, "172.20.0.1", 0, NULL},
        {"x", 6660, "1.2.3.4", 0, "denied by --deny *:6660-6669"},
        {"x", 6669, "1.2.3.4", 0, NULL},
        {"x", 6670, "1.2.3.4", 1, NULL},
        {"x", 0, "1.2.3.4", 1, NULL},
        {"x", 65535, "1.2.3.4", 1, NULL},
    };
    run_cases("pol-ports", r3, c3, ARRAY_LEN(c3));

    /* host-name patterns vs. resolved addresses */
    static const char *const r4[] = {"allow intranet.example",   "deny *.bad",
                                     "allow *.corp.example:443", "deny ?.example",
                                     "allow alknet-*",           NULL};
    static char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    const struct vcase c4[] = {
        {"intranet.example", 80, "10.1.2.3", 1, "allowed by --allow intranet.example"},
        {"INTRANET.Example.", 80, "10.1.2.3", 1, "allowed by --allow intranet.example"},
        {"intranet.example", 80, "::1", 1, NULL},
        {"intranet.example.evil", 80, "10.1.2.3", 0, "10.1.2.3 is a private address"},
        {"xintranet.example", 80, "10.1.2.3", 0, NULL},
        {"other.example", 80, "10.1.2.3", 0, "denied by default"},
        {"www.bad", 443, "8.8.8.8", 0, "denied by --deny *.bad"},
        {"WWW.BAD.", 443, "8.8.8.8", 0, "denied by --deny *.bad"},
        {"a.b.c.bad", 443, "2001:4860::8888", 0, "denied by --deny *.bad"},
        {"bad", 443, "8.8.8.8", 1, "allowed by default"},
        {"x.corp.example", 443, "10.0.0.5", 1, "allowed by --allow *.corp.example:443"},
        {"x.corp.example", 80, "10.0.0.5", 0, "denied by default"},
        {"x.corp.example", 80, "8.8.8.8", 1, "allowed by default"},
        {"a.example", 80, "8.8.8.8", 0, "denied by --deny ?.example"},
        {"ab.example", 80, "8.8.8.8", 1, "allowed by default"},
        {".example", 80, "8.8.8.8", 1, NULL},
        {NULL, 80, "8.8.8.8", 1, "allowed by default"},
        {NULL, 80, "10.1.2.3", 0, "denied by default"},
        {"8.8.8.8", 80, "8.8.8.8", 1, NULL},
        {longname, 80, "8.8.8.8", 0, "requested name longer than 255 bytes"},
    };
    run_cases("pol-names", r4, c4, ARRAY_LEN(c4));

    /* IPv4 rules see IPv4 inside IPv6 */
    static const char *const r5[] = {"allow 10.0.0.0/8", "deny 8.8.8.0/24", NULL};
    static const struct vcase c5[] = {
        {"x", 80, "::ffff:10.0.0.1", 1, "allowed by --allow 10.0.0.0/8"},
        {"x", 80, "64:ff9b::a00:1", 1, "allowed by --allow 10.0.0.0/8"},
        {"x", 80, "::10.0.0.1", 1, "allowed by --allow 10.0.0.0/8"},
        {"x", 80, "::ffff:8.8.8.8", 0, "denied by --deny 8.8.8.0/24"},
        {"x", 80, "64:ff9b::808:808", 0, "denied by --deny 8.8.8.0/24"},
        {"x", 80, "::808:808", 0, "denied by --deny 8.8.8.0/24"},
        {"x", 80, "2001:db8::a00:1", 1, "allowed by default"}, /* not an IPv4 carrier */
    };
    run_cases("pol-embedded", r5, c5, ARRAY_LEN(c5));

    /* IPv6 rules see IPv4 as ::ffff:a.b.c.d, and NAT64 as written */
    static const char *const r6[] = {"deny ::ffff:0:0/96", "allow 64:ff9b::/96", NULL};
    static const struct vcase c6[] = {
        {"x", 80, "8.8.8.8", 0, "denied by --deny ::ffff:0.0.0.0/96"},
        {"x", 80, "::ffff:8.8.8.8", 0, "denied by --deny ::ffff:0.0.0.0/96"},
        {"x", 80, "64:ff9b::a00:1", 1, "allowed by --allow 64:ff9b::/96"},
        {"x", 80, "2001:4860::8888", 1, "allowed by default"},
    };
    run_cases("pol-v6-rules", r6, c6, ARRAY_LEN(c6));
    static const char *const r6b[] = {"deny [::ffff:10.0.0.0/104]:22", NULL};
    static const struct vcase c6b[] = {
        {"x", 22, "10.1.1.1", 0, "denied by --deny [::ffff:10.0.0.0/104]:22"},
        {"x", 22, "11.1.1.1", 1, NULL},
    };
    run_cases("pol-v6-mapped-rule", r6b, c6b, ARRAY_LEN(c6b));

    /* deny by default, allow by default */
    static const char *const r7[] = {"allow 8.8.8.8", "allow [2001:4860::/32]:443", "deny *", NULL};
    static const struct vcase c7[] = {
        {"x", 53, "8.8.8.8", 1, "allowed by --allow 8.8.8.8"},
        {"x", 53, "1.1.1.1", 0, "denied by --deny *"},
        {"x", 443, "2001:4860::8888", 1, NULL},
        {"x", 80, "2001:4860::8888", 0, "denied by --deny *"},
    };
    run_cases("pol-deny-all", r7, c7, ARRAY_LEN(c7));
    static const char *const r8[] = {"allow *", NULL};
    static const struct vcase c8[] = {
        {"x", 80, "127.0.0.1", 1, "allowed by --allow *"},
        {"x", 80, "::1", 1, "allowed by --allow *"},
    };
    run_cases("pol-allow-all", r8, c8, ARRAY_LEN(c8));
    static const char *const r9[] = {"allow 0.0.0.0/0", NULL};
    static const struct vcase c9[] = {
        {"x", 80, "127.0.0.1", 1, "allowed by --allow 0.0.0.0/0"},
        {"x", 80, "::ffff:127.0.0.1", 1, NULL},
        {"x", 80, "::1", 0, "denied by default"},
    };
    run_cases("pol-zero-prefix", r9, c9, ARRAY_LEN(c9));
    /* odd prefix lengths */
    static const char *const r10[] = {"deny 203.0.113.128/25", "deny [2001:db8:8000::/33]", NULL};
    static const struct vcase c10[] = {
        {"x", 80, "203.0.113.128", 0, "denied by --deny 203.0.113.128/25"},
        {"x", 80, "203.0.113.255", 0, NULL},
        {"x", 80, "203.0.113.127", 1, NULL},
        {"x", 80, "2001:db8:8000::1", 0, "denied by --deny 2001:db8:8000::/33"},
        {"x", 80, "2001:db8:ffff::1", 0, NULL},
        {"x", 80, "2001:db8:7fff::1", 1, NULL},
    };
    run_cases("pol-prefix", r10, c10, ARRAY_LEN(c10));
}

/* pol_check_name: early decisions, reserved names, and that a 0/1 there
 * is what pol_check says for every address */
static void t_pol_name(void)
{
    group = "pol-name";
    static const char *const r[] = {"deny *.bad", "allow intranet.example:22", "deny 10.0.0.0/8",
                                    "deny *:25",  "allow *.corp.example",      NULL};
    static const struct {
        const char *name;
        unsigned port;
        int reserved, want;
        const char *why;
    } c[] = {
        {"www.bad", 80, 0, 0, "denied by --deny *.bad"},
        {"WWW.Bad.", 80, 0, 0, "denied by --deny *.bad"},
        {"intranet.example", 22, 0, 1, "allowed by --allow intranet.example:22"},
        {"intranet.example", 23, 0, -1, "the address decides"},
        {"x.corp.example", 80, 0, -1, NULL},
        {"example.com", 25, 0, -1, NULL},
        {"10.1.2.3", 80, 0, 0, "denied by --deny 10.0.0.0/8"},
        {"127.0.0.1", 80, 0, 0, "127.0.0.1 is a loopback address"},
        {"8.8.8.8", 80, 0, 1, "allowed by default"},
        {"8.8.8.8", 25, 0, 0, "denied by --deny *:25"},
        {"::1", 80, 0, 0, "::1 is the loopback address"},
        {"::ffff:10.0.0.1", 80, 0, 0, "denied by --deny 10.0.0.0/8"},
        {"64:ff9b::a00:1", 80, 0, 0, "denied by --deny 10.0.0.0/8"},
        {"alknet-echo", 80, 1, 1, "allowed by default (served by alknet itself)"},
        {"alknet-echo", 25, 1, 0, "denied by --deny *:25"},
        {"alknet-echo.bad", 7, 1, 0, "denied by --deny *.bad"},
        {"alknet-echo", 70000, 1, 0, "out of range"},
        {"www.bad", 70000, 0, 0, "out of range"},
        {"", 80, 0, -1, NULL},
    };
    struct pol p;
    mkpol(&p, r);
    for (size_t i = 0; i < ARRAY_LEN(c); i++) {
        char why[300] = "";
        int v = pol_check_name(&p, c[i].name, c[i].port, c[i].reserved, why, sizeof why);
        CHECK(v == c[i].want && (!c[i].why || contains(why, c[i].why)),
              "%s:%u reserved=%d: got %d (%s), want %d (%s)", c[i].name, c[i].port, c[i].reserved,
              v, why, c[i].want, c[i].why ? c[i].why : "");
    }
    pol_free(&p);

    static const char *const rr[] = {"deny alknet-*", NULL};
    mkpol(&p, rr);
    char why[300];
    CHECK(pol_check_name(&p, "alknet-echo", 7, 1, why, sizeof why) == 0 &&
              contains(why, "denied by --deny alknet-*"),
          "deny alknet-*: %s", why);
    pol_free(&p);
    memset(&p, 0, sizeof p);
    CHECK(pol_check_name(&p, "example.com", 443, 0, why, sizeof why) == -1,
          "empty policy: resolve");
    CHECK(pol_check_name(&p, "alknet-echo", 443, 1, NULL, 0) == 1, "empty policy: alknet-echo");
    CHECK(pol_check_name(&p, NULL, 443, 1, NULL, 0) == 1, "NULL name, reserved");

    /* consistency: whenever pol_check_name decides, pol_check agrees for
     * every address (address rules precede name rules, and follow them) */
    group = "pol-name-consistent";
    const char *const *const pols[] = {
        r,
        (const char *const[]){"allow intranet.example", "deny *.bad", "allow *.corp.example:443",
                              "deny ?.example", NULL},
        (const char *const[]){"deny *:25", "allow 192.168.1.10:22", "allow [fd00::/8]:443",
                              "deny *.example", "allow *", NULL},
        (const char *const[]){"allow 8.8.8.8", "deny *", NULL},
        (const char *const[]){NULL},
    };
    static const char *const names[] = {"www.bad",        "intranet.example",
                                        "x.corp.example", "a.example",
                                        "example.com",    "8.8.8.8",
                                        "10.1.2.3",       "::1",
                                        "fd00::5",        "",
                                        "alknet-echo"};
    static const unsigned ports[] = {22, 25, 80, 443, 8080};
    static const char *const addrs[] = {
        "8.8.8.8", "10.1.2.3",        "127.0.0.1",       "192.168.1.10",    "::1",
        "fd00::5", "2001:4860::8888", "::ffff:10.0.0.1", "64:ff9b::808:808"};
    int decided = 0;
    for (size_t pi = 0; pi < ARRAY_LEN(pols); pi++) {
        mkpol(&p, pols[pi]);
        for (size_t ni = 0; ni < ARRAY_LEN(names); ni++)
            for (size_t k = 0; k < ARRAY_LEN(ports); k++) {
                int v = pol_check_name(&p, names[ni], ports[k], 0, NULL, 0);
                if (v < 0) continue;
                decided++;
                uint8_t a[16];
                int lit = pol_literal(names[ni], a);
                for (size_t ai = 0; ai < ARRAY_LEN(addrs); ai++) {
                    /* an IP-literal name only resolves to itself */
                    if (lit && strcmp(addrs[ai], names[ni]) != 0) continue;
                    int w = pol_check(&p, names[ni], ports[k], SA(addrs[ai]), NULL, 0);
                    CHECK(v == w, "policy %zu: %s:%u says %d by name, %d at %s", pi, names[ni],
                          ports[k], v, w, addrs[ai]);
                }
            }
        pol_free(&p);
    }
    CHECK(decided > 40, "only %d early decisions", decided);
}

/* ---------- Part B: authorized_keys ---------- */

#define KA "AAAAC3NzaC1lZDI1NTE5AAAAIIFBZzp0sAj8rGUfgVBLIIXliwF70t7e/hWdQnY2rgQ8"
#define KB "AAAAC3NzaC1lZDI1NTE5AAAAIL81mVakTj425oUWIT6Z7DGbyCsCzZEMwzyDl/hwNbJ4"
#define KC "AAAAC3NzaC1lZDI1NTE5AAAAIAe7uDc2k7ImF65Z4vQKocPaYpfBw9Iz1xQaX4o2H2Jz"
#define LA "ssh-ed25519 " KA " user-a@test"
#define LB "ssh-ed25519 " KB " user-b@test"
#define LC "ssh-ed25519 " KC " user-c@test"
#define LRSA                                                                                       \
    "ssh-rsa "                                                                                     \
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQC1Wsh84bpsKwmsaYCTtidZC3VluKeGUqXubvGzuv8O81vsuOMJxDJMAg3mOE3"  \
    "ip6j6KRzPPXrWaVL48n/"                                                                         \
    "9s1kkDcB95eXSLAFwy2qKNhJ7vGr6WiumVXNECR4X+Fq3GijIvzXe2fDqA5pdDvLTycmiUyNU"                    \
    "x8hCUpMiPx/w15FTjw== rsa@test"
#define LEC                                                                                        \
    "ecdsa-sha2-nistp256 "                                                                         \
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKSZxv31GVul/"                            \
    "d2hX0nVpgq6IZrGge+4JrZxnpczP"                                                                 \
    "OSSjSytsP99fj9UR4KT7k5CqX6EXTYWthaJ7xwch8HTPvA= ec@test"

#define LRSA8K /* ssh-keygen -t rsa -b 8192: a blob too big for key_parse_pub */                   \
    "ssh-rsa "                                                                                     \
    "AAAAB3NzaC1yc2EAAAADAQABAAAEAQCjThygI102aLmPKOIWDF7teurDJ3NGy6sCL1JWec/+fE5b4WazHIxS9t2hRW"   \
    "k3x6dZIBkxFJ3huAqTgzqZYm5MoU1cGWz69/U42WSgNehsZeC4+lTznj8l00+x98nQTRaftJGlVAD7/NorJdoye3Zc"   \
    "9X9ibxhA2PM9YfjVyEQXm6ntVOzAlowzCoXpTpiIUGp4O6asidSEbzIcTO5WP8VgTEujZmOxNyWRCNoihB8OQ1+eHL"   \
    "XqH34ifRa2H9MYlJFqBHebwWEmf2hx2R/8L5G7NR1Oh5Ibjf//sNcsBEdQZT5z+iLInoaKSvMVWSoer2ZKTs7kh5rt"   \
    "4Akkwl72/UuqHUB/Ehu/AyPr4xG5g7BZx0qMwEnApaxhCj8dZdgMFo9oj8GvshReWJ9Cu0E4FMuvqRQMaMFu4Q1Imv"   \
    "ihjbtxXN1ED5R9zmgNaq2ECCY5uFpCi1iLhP6inYjLigjTN4zYYkIuPRr0jx/+S77AYW07lg1BT3AaCbR7uMJBTyLO"   \
    "lotnPrx5VoFyJ72BPXB+UbJys/vV0rEhslYyJL6SYjWfsyltmxB4KyEXvL0grzv4rH13QtJHnPFy0zMVU9Kxuam4Gj"   \
    "LfUkC6hT6JVTLJwdXtuNP/hlfIC7uW+66ZFJ3vh/CbcM9c96UAF5gfMF9aOR/34v0NvXsDp86TZPGD2SZ0ZHXBtgOG"   \
    "QbdXok8IkeZ3O5skdunpxYPJEl/m4BOz9CFkCLT6VQiPJ+pF5w1G13YEXxfT4CFyQ2zqjluUynU+1uZHCKIF4V5qsP"   \
    "a8nNBP8ANvf1mpGMLemoKfiDm8glDAPB4lWt04Rlfp1G93kF3Lw/uksVRYmYsXRvSYrbJZXDxo3/mj1IOdmeEXRsDY"   \
    "Q72m4ld5UVNs9z6mzAi3Ym70KJyW9IzzEuBNFQwtTAiJwT/GIffxKFnf8/mU4Ndz8g40jp9Cc8cyomgDV5qnPWlir0"   \
    "5SlpqHlHZzY4grdwQiaLGaWauXILEh/dRNMUhRdmenmf3XodCqZqCpZd1a/BhPTQlkrfNgqhAmd6tyZlei1d8BTqxZ"   \
    "jYHWqpkiyY9qxGXNT4BvGdc4vOeSzcJaJXeFWgHDoEYV6Vf32g/drbWu7vX+snTaefe0RSFI1JTpDO35k5op5RlU0l"   \
    "pmv8F2RmILsTbfBPK3+N0GyZBRH2O4w4Dh/iJLbg+28HB+C52GJdpBpmSSLe1jeIWarCI16GfekGPzEasHysHGGvYq"   \
    "rmx7HdebYCsAfdFRF/8E7VP33zNZ8tMhJ4Q7vpfA8iXp/EHwKNPKcM4T4Q3s/AkHoPgLqPcl/o5DvT1XlnFC2pIBtJ"   \
    "p5PmzGCGRPj4w1tGRylMtj0Yhzlij2Rvjtv+9/NHIPqXPT"                                               \
    " rsa8k@test"

static uint8_t PKA[32], PKB[32], PKC[32];

static void load_pks(void)
{
    struct key k;
    CHECK(key_parse_pub(LA, &k) == 0, "key A");
    memcpy(PKA, k.pk, 32);
    CHECK(key_parse_pub(LB, &k) == 0, "key B");
    memcpy(PKB, k.pk, 32);
    CHECK(key_parse_pub(LC, &k) == 0, "key C");
    memcpy(PKC, k.pk, 32);
    CHECK(memcmp(PKA, PKB, 32) != 0 && memcmp(PKB, PKC, 32) != 0, "distinct keys");
    CHECK(key_parse_pub(LRSA8K, &k) == 1, "the 8 kbit RSA line is read as another type");
    CHECK(key_parse_pub(LRSA, &k) == 1, "the 1 kbit RSA line is read as another type");
    CHECK(ak_is_ed(LA) && ak_is_ed("ssh-ed25519") && !ak_is_ed("ssh-ed25519x y") && !ak_is_ed(LRSA),
          "ak_is_ed");
    char fp[KEY_FP_LEN];
    key_fp(PKA, fp);
    CHECK(strcmp(fp, "SHA256:nmqkuTp2sCF6pMcxHJh/PGWu0BBeWue9nNTJMaiF2LI") == 0,
          "key A fingerprint %s (ssh-keygen -lf)", fp);
}

static size_t nwarn_with(const struct ak *a, const char *s)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nwarn; i++)
        n += contains(a->warn[i], s) ? 1u : 0u;
    return n;
}
static void dump_warn(const struct ak *a)
{
    for (size_t i = 0; i < a->nwarn; i++)
        printf("    warn: %s\n", a->warn[i]);
}

/* One line alone: is it accepted, and if not, is the warning right? */
struct akcase {
    const char *line;
    int ok;           /* 1: one entry; 0: no entry */
    const char *warn; /* substring of a warning, or NULL for no warning at all */
};

static void run_ak_lines(const char *g, const struct akcase *c, size_t n)
{
    group = g;
    for (size_t i = 0; i < n; i++) {
        struct ak a;
        CHECK(ak_parse(c[i].line, "ak", &a) == 0, "ak_parse failed");
        CHECK(a.n == (size_t)c[i].ok, "'%s': %zu entries, want %d", c[i].line, a.n, c[i].ok);
        if (c[i].warn)
            CHECK(nwarn_with(&a, c[i].warn) == 1, "'%s': no warning '%s'", c[i].line, c[i].warn);
        else
            CHECK(a.nwarn == 0, "'%s': unexpected warning '%s'", c[i].line,
                  a.nwarn ? a.warn[0] : "");
        if (c[i].ok && a.n == 1)
            CHECK(memcmp(a.e[0].k.pk, PKA, 32) == 0 || memcmp(a.e[0].k.pk, PKB, 32) == 0,
                  "'%s': wrong key", c[i].line);
        if (failed && a.nwarn && !c[i].warn) dump_warn(&a);
        ak_free(&a);
    }
}

static void t_ak_basic(void)
{
    group = "ak-basic";
    const char *text =
        "# comment\n"
        "\n"
        "   # indented comment\n" LA "\n"
        " \t" LB "\r\n" LRSA "\n" LEC "\n"
        "garbage line\n"
        "ssh-ed25519 AAAAnot!base64 x\n"
        "ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIAe7uDc2k7ImF65Z4vQKocPaYpfBw9Iz1xQaX4o2H2Jz\t"
        "tabbed comment";
    struct ak a;
    CHECK(ak_parse(text, "/etc/alknet/authorized_keys", &a) == 0, "parse");
    CHECK(a.n == 3, "%zu entries, want 3", a.n);
    if (a.n == 3) {
        CHECK(memcmp(a.e[0].k.pk, PKA, 32) == 0 && a.e[0].line == 4 &&
                  strcmp(a.e[0].k.comment, "user-a@test") == 0 && !a.e[0].k.priv,
              "entry 0: line %d comment '%s'", a.e[0].line, a.e[0].k.comment);
        CHECK(memcmp(a.e[1].k.pk, PKB, 32) == 0 && a.e[1].line == 5 &&
                  strcmp(a.e[1].k.comment, "user-b@test") == 0,
              "entry 1 (CRLF): line %d comment '%s'", a.e[1].line, a.e[1].k.comment);
        CHECK(memcmp(a.e[2].k.pk, PKC, 32) == 0 && a.e[2].line == 10 &&
                  strcmp(a.e[2].k.comment, "tabbed comment") == 0,
              "entry 2 (tabs, no final newline): line %d comment '%s'", a.e[2].line,
              a.e[2].k.comment);
        for (size_t i = 0; i < a.n; i++)
            CHECK(!a.e[i].no_fwd && a.e[i].nfrom == 0 && a.e[i].nopen == 0, "entry %zu plain", i);
    }
    CHECK(a.nwarn == 2, "%zu warnings, want 2", a.nwarn);
    CHECK(nwarn_with(&a, "/etc/alknet/authorized_keys:8: unknown option garbage; line skipped") ==
              1,
          "garbage line");
    CHECK(nwarn_with(&a, "/etc/alknet/authorized_keys:9: cannot decode the key; line skipped") == 1,
          "bad base64");
    if (a.nwarn != 2) dump_warn(&a);

    CHECK(ak_find(&a, PKA, NULL) == &a.e[0], "find A");
    CHECK(ak_find(&a, PKB, SA("8.8.8.8")) == &a.e[1], "find B");
    uint8_t other[32] = {1};
    CHECK(ak_find(&a, other, NULL) == NULL && ak_find(&a, other, SA("8.8.8.8")) == NULL,
          "unknown key");
    CHECK(ak_from_ok(&a.e[0], SA("8.8.8.8")) && ak_from_ok(&a.e[0], NULL), "no from=: every peer");
    CHECK(ak_open_ok(&a.e[0], "anything.example", 1) && ak_open_ok(&a.e[0], "10.0.0.1", 65535),
          "no permitopen: every destination");
    ak_free(&a);
    CHECK(a.e == NULL && a.n == 0 && a.warn == NULL && a.nwarn == 0, "ak_free empties");

    CHECK(ak_parse("", NULL, &a) == 0 && a.n == 0 && a.nwarn == 0, "empty file");
    ak_free(&a);
    CHECK(ak_parse("\n\n# only comments\n", NULL, &a) == 0 && a.n == 0 && a.nwarn == 0,
          "comments only");
    ak_free(&a);
    CHECK(ak_parse("junk", NULL, &a) == 0 && a.n == 0 && nwarn_with(&a, "authorized_keys:1:") == 1,
          "default path name in warnings");
    ak_free(&a);
}

static void t_ak_lines(void)
{
    static const struct akcase c[] = {
        /* other key types: skipped silently, with or without options */
        {LRSA, 0, NULL},
        {LEC, 0, NULL},
        {"from=\"10.0.0.1\",no-pty " LRSA, 0, NULL},
        {"ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t x", 0,
         NULL},
        /* cert-authority */
        {"cert-authority " LA, 0, "ak:1: cert-authority line skipped"},
        {"cert-authority,principals=\"alice\" " LRSA, 0, "cert-authority line skipped"},
        {"CERT-AUTHORITY " LA, 0, "cert-authority line skipped"},
        /* options honoured */
        {"restrict " LA, 1, NULL},
        {"no-port-forwarding " LA, 1, NULL},
        {"from=\"10.0.0.1\" " LA, 1, NULL},
        {"permitopen=\"a:1\" " LA, 1, NULL},
        {"From=\"10.0.0.1\",PermitOpen=\"a:1\",Restrict,Port-Forwarding\t" LA, 1, NULL},
        /* ignored options: accepted, with a warning */
        {"no-pty " LA, 1, "ak: option no-pty is ignored by alknet (line 1)"},
        {"command=\"echo \\\"hi, there\\\" x\" " LA, 1, "option command is ignored"},
        {"environment=\"A=b c\" " LA, 1, "option environment is ignored"},
        {"permitlisten=\"localhost:8080\" " LA, 1, "option permitlisten is ignored"},
        {"principals=\"a,b\" " LA, 1, "option principals is ignored"},
        {"tunnel=\"0\" " LA, 1, "option tunnel is ignored"},
        {"no-agent-forwarding " LA, 1, "option no-agent-forwarding is ignored"},
        {"no-X11-forwarding " LA, 1, "option no-x11-forwarding is ignored"},
        {"no-user-rc " LA, 1, "option no-user-rc is ignored"},
        {"pty " LA, 1, "option pty is ignored"},
        {"agent-forwarding " LA, 1, "option agent-forwarding is ignored"},
        {"X11-forwarding " LA, 1, "option x11-forwarding is ignored"},
        {"user-rc " LA, 1, "option user-rc is ignored"},
        {"verify-required " LA, 1, "option verify-required is ignored"},
        {"no-touch-required " LA, 1, "option no-touch-required is ignored"},
        {"command=\"a\\b\" " LA, 1, "option command is ignored"},
        {"command=\"\" " LA, 1, "option command is ignored"},
        /* a key meant to expire is refused rather than kept for ever */
        {"expiry-time=\"20300101\" " LA, 0,
         "ak:1: expiry-time is not supported, so the key is not loaded; line skipped"},
        {"no-pty,expiry-time=\"20300101\" " LA, 0, "expiry-time is not supported"},
        /* invalid lines */
        {"no-such-option " LA, 0, "ak:1: unknown option no-such-option; line skipped"},
        {"no-pty,bogus=\"1\" " LA, 0, "unknown option bogus"},
        {"command=\"unterminated " LA, 0, "missing end quote"},
        {"command=\"x\\\" " LA, 0, "missing end quote"},
        {"command=noquote " LA, 0, "the value of command must be in double quotes"},
        {"command= " LA, 0, "the value of command must be in double quotes"},
        {"command=\"x\"junk,no-pty " LA, 0, "expected a comma after option command"},
        {"no-pty=\"x\" " LA, 0, "option no-pty takes no value"},
        {"restrict=\"\" " LA, 0, "option restrict takes no value"},
        {"command " LA, 0, "option command needs a value"},
        {"permitopen " LA, 0, "option permitopen needs a value"},
        {",no-pty " LA, 0, "empty option"},
        {"no-pty, " LA, 0, "empty option"},
        {"no-pty,,restrict " LA, 0, "empty option"},
        {"=\"x\" " LA, 0, "empty option"},
        {"no-pty", 0, "no key after the options"},
        {"no-pty   ", 0, "no key after the options"},
        {"no-pty ssh-ed25519 garbage", 0, "cannot decode the key"},
        {"no-pty " LA "x", 1, "option no-pty"}, /* "user-a@testx" is just the comment */
        {"no-pty ssh-ed25519", 0, "cannot decode the key"},
        {"ssh-ed25519", 0, "cannot decode the key"},
        {"ssh-ed25519 " KB, 1, NULL},
        {"ssh-rsa " KA " mislabelled", 0, NULL}, /* says it is not ours: skipped */
        {"ssh-rsa garbage", 0, NULL},
        {LRSA8K, 0, NULL},
        {"no-pty,from=\"10.0.0.1\" " LRSA8K, 0, NULL},
        {"cert-authority " LRSA8K, 0, "ak:1: cert-authority line skipped"},
        {"cert-authority,bogus " LA, 0, "unknown option bogus"},
        {"no-pty garbage", 0, "cannot decode the key"},
        {"no-pty\x01 " LA, 0, "unknown option no-pty\\x01"},
        /* from= */
        {"from=\"\" " LA, 0, "empty pattern in from="},
        {"from=\"10.0.0.1,,10.0.0.2\" " LA, 0, "empty pattern in from="},
        {"from=\"10.0.0.1,\" " LA, 0, "empty pattern in from="},
        {"from=\"!\" " LA, 0, "empty pattern in from="},
        {"from=\"10.0.0.1, 10.0.0.2\" " LA, 0, "white space or a control character in from="},
        {"from=\"10.0.0.0/33\" " LA, 0, "from=: bad prefix length /33"},
        {"from=\"!2001:db8::/129\" " LA, 0, "from=: bad prefix length /129"},
        {"from=\"10.1.0.0/8\" " LA, 0, "from=: 10.1.0.0/8 has bits set after the prefix"},
        {"from=\"foo/8\" " LA, 0, "from=: foo is not an IP address"},
        {"from=\"10.0.0.1\",from=\"10.0.0.2\" " LA, 0, "from= given twice"},
        {"from=\"*:*:*:*:*:*\" " LA, 0, "too many * in a from= pattern"},
        {"from=\"*:*:*:*:*\" " LA, 1, NULL},
        {"from=\"*.example.com,10.0.0.1\" " LA, 1,
         "ak:1: from= pattern *.example.com is a host name; alknet does not look up peer names"},
        /* permitopen= */
        {"permitopen=\"host\" " LA, 0, "bad permitopen="},
        {"permitopen=\"host:0\" " LA, 0, "permitopen= port 0"},
        {"permitopen=\"host:99999\" " LA, 0, "bad permitopen="},
        {"permitopen=\"host:x\" " LA, 0, "bad permitopen="},
        {"permitopen=\"host:\" " LA, 0, "bad permitopen="},
        {"permitopen=\":80\" " LA, 0, "bad permitopen="},
        {"permitopen=\"::1:22\" " LA, 0, "bad permitopen="},
        {"permitopen=\"[::1]22\" " LA, 0, "bad permitopen="},
        {"permitopen=\"\" " LA, 0, "bad permitopen="},
        {"permitopen=\"a b:80\" " LA, 0, "white space or a control character in permitopen="},
        {"permitopen=\"[::1]:*\" " LA, 1, NULL},
        {"permitopen=\"*:*\" " LA, 1, NULL},
    };
    run_ak_lines("ak-lines", c, ARRAY_LEN(c));
}

static struct ak parse1(const char *text)
{
    struct ak a;
    ak_parse(text, "ak", &a);
    if (a.n != 1) {
        printf("test setup: '%s' gave %zu entries\n", text, a.n);
        dump_warn(&a);
    }
    return a;
}

static void t_ak_from(void)
{
    group = "ak-from";
    static const struct {
        const char *from, *peer;
        int want;
    } c[] = {
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?", "10.1.2.3",
         1},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?", "10.9.1.1",
         0},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?", "192.0.2.55",
         1},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?", "192.0.3.1",
         0},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?",
         "::ffff:10.1.2.3", 1},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?",
         "::ffff:10.9.0.1", 0},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?",
         "::ffff:192.0.2.1", 1},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?",
         "2001:db8::5", 1},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?",
         "2001:db8:bad::1", 0},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?",
         "2001:db9::1", 0},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?", "fe80::1",
         1},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?", "fe80::12",
         0},
        {"10.0.0.0/8,!10.9.0.0/16,192.0.2.*,2001:db8::/32,!2001:db8:bad::/48,fe80::?", "8.8.8.8",
         0},
        /* a negation after a positive match still refuses */
        {"*,!192.0.2.1", "192.0.2.1", 0},
        {"!192.0.2.1,*", "192.0.2.1", 0},
        {"!192.0.2.1,*", "192.0.2.2", 1},
        {"!192.0.2.1,!192.0.2.2", "192.0.2.3", 0}, /* negations alone never admit */
        {"*", "8.8.8.8", 1},
        {"*", "2001:db8::1", 1},
        {"192.0.2.1?", "192.0.2.10", 1},
        {"192.0.2.1?", "192.0.2.1", 0},
        {"192.0.2.1?", "192.0.2.100", 0},
        {"192.0.2.1*", "192.0.2.100", 1},
        {"192.0.2.1", "192.0.2.1", 1},
        {"192.0.2.1", "192.0.2.11", 0},
        {"2001:db8::*", "2001:db8::abcd", 1},
        {"2001:DB8::*", "2001:db8::abcd", 1},
        {"2001:db8::*", "2001:db9::abcd", 0},
        {"::1", "::1", 1},
        {"0.0.0.0/0", "203.0.113.9", 1},
        {"0.0.0.0/0", "2001:db8::1", 0},
        {"::/0", "2001:db8::1", 1},
        {"::/0", "203.0.113.9", 1}, /* an IPv4 peer is ::ffff:a.b.c.d to an IPv6 CIDR */
        {"::ffff:0:0/96", "203.0.113.9", 1},
        {"203.0.113.0/24", "::ffff:203.0.113.9", 1},
        {"!203.0.113.0/24,*", "::ffff:203.0.113.9", 0},
        {"203.0.113.0/24", "64:ff9b::cb00:7109", 0}, /* a NAT64 peer is an IPv6 peer */
        {"*.example.com", "192.0.2.1", 0},
        {"!*.example.com,*", "192.0.2.1", 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(c); i++) {
        char line[600];
        fmt_s(line, sizeof line, "from=\"%s\" %s", c[i].from, LA);
        struct ak a = parse1(line);
        if (a.n == 1) {
            int v = ak_from_ok(&a.e[0], SA(c[i].peer));
            CHECK(v == c[i].want, "from=\"%s\" peer %s: got %d want %d", c[i].from, c[i].peer, v,
                  c[i].want);
            CHECK(ak_find(&a, PKA, SA(c[i].peer)) == (c[i].want ? &a.e[0] : NULL),
                  "ak_find agrees");
        } else {
            CHECK(0, "from=\"%s\" refused", c[i].from);
        }
        ak_free(&a);
    }
    struct ak a = parse1("from=\"*\" " LA);
    struct sockaddr un;
    memset(&un, 0, sizeof un);
    un.sa_family = AF_UNIX;
    CHECK(a.n == 1 && !ak_from_ok(&a.e[0], NULL) && !ak_from_ok(&a.e[0], &un),
          "from= with an unknown or non-IP peer refuses");
    ak_free(&a);
}

static void t_ak_open(void)
{
    group = "ak-open";
    struct ak a = parse1("permitopen=\"intranet.example:22\",permitopen=\"*:443\","
                         "permitopen=\"[2001:db8::1]:8080\",permitopen=\"DB.example:*\","
                         "permitopen=\"10.0.0.1:5432\" " LA);
    static const struct {
        const char *host;
        unsigned port;
        int want;
    } c[] = {
        {"intranet.example", 22, 1},
        {"INTRANET.Example", 22, 1},
        {"intranet.example.", 22, 1},
        {"intranet.example", 23, 0},
        {"intranet.example.org", 22, 0},
        {"other.example", 22, 0},
        {"anything.example", 443, 1},
        {"10.9.9.9", 443, 1},
        {"2001:db8::1", 8080, 1},
        {"2001:DB8:0::1", 8080, 1},
        {"2001:db8::1", 8081, 0},
        {"[2001:db8::1]", 8080, 0},
        {"db.example", 1, 1},
        {"db.example", 65535, 1},
        {"db.example", 70000, 0},
        {"db.example", 0, 0},
        {"10.0.0.1", 5432, 1},
        {"10.0.0.2", 5432, 0},
        {"::ffff:10.0.0.1", 5432, 0},
        {"", 22, 0},
    };
    CHECK(a.n == 1 && a.e[0].nopen == 5 && !a.e[0].no_fwd, "five permitopen");
    for (size_t i = 0; a.n == 1 && i < ARRAY_LEN(c); i++)
        CHECK(ak_open_ok(&a.e[0], c[i].host, c[i].port) == c[i].want, "%s:%u want %d", c[i].host,
              c[i].port, c[i].want);
    CHECK(a.n == 1 && !ak_open_ok(&a.e[0], NULL, 22), "NULL host");
    ak_free(&a);

    a = parse1("permitopen=\"*:*\" " LA);
    CHECK(a.n == 1 && ak_open_ok(&a.e[0], "x", 1) && ak_open_ok(&a.e[0], "::1", 65535),
          "*:* opens everything");
    ak_free(&a);

    /* the count is bounded: 64 pass, 65 make the line invalid */
    char line[AK_LINE_MAX];
    size_t n = 0;
    for (int i = 0; i < AK_OPEN_MAX; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "permitopen=\"h%d:%d\",", i, i + 1);
    fmt_s(line + n - 1, sizeof line - n + 1, " %s", LA);
    a = parse1(line);
    CHECK(a.n == 1 && a.e[0].nopen == AK_OPEN_MAX && ak_open_ok(&a.e[0], "h63", 64) &&
              !ak_open_ok(&a.e[0], "h63", 63),
          "%d permitopen", AK_OPEN_MAX);
    ak_free(&a);
    fmt_s(line + n - 1, sizeof line - n + 1, ",permitopen=\"x:1\" %s", LA);
    ak_parse(line, "ak", &a);
    CHECK(a.n == 0 && nwarn_with(&a, "too many permitopen= options") == 1, "%d permitopen",
          AK_OPEN_MAX + 1);
    ak_free(&a);
}

static void t_ak_restrict(void)
{
    group = "ak-restrict";
    static const struct {
        const char *opts;
        int nofwd;
    } c[] = {
        {"restrict", 1},
        {"RESTRICT", 1},
        {"restrict,port-forwarding", 0},
        {"port-forwarding,restrict", 1},
        {"no-port-forwarding", 1},
        {"No-Port-Forwarding", 1},
        {"no-port-forwarding,port-forwarding", 0},
        {"port-forwarding,no-port-forwarding", 1},
        {"port-forwarding", 0},
        {"restrict,no-pty,port-forwarding", 0},
        {"restrict,permitopen=\"a.example:1\",port-forwarding", 0},
        {"restrict,permitopen=\"a.example:1\"", 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(c); i++) {
        char line[300];
        fmt_s(line, sizeof line, "%s %s", c[i].opts, LA);
        struct ak a = parse1(line);
        CHECK(a.n == 1 && a.e[0].no_fwd == (unsigned)c[i].nofwd, "%s: no_fwd %d, want %d",
              c[i].opts, a.n ? (int)a.e[0].no_fwd : -1, c[i].nofwd);
        if (a.n == 1) {
            int open_any = ak_open_ok(&a.e[0], "b.example", 2);
            int open_a = ak_open_ok(&a.e[0], "a.example", 1);
            int has_po = a.e[0].nopen > 0;
            CHECK(open_any == (!c[i].nofwd && !has_po) && open_a == !c[i].nofwd,
                  "%s: opens b %d a %d", c[i].opts, open_any, open_a);
        }
        ak_free(&a);
    }
}

static void t_ak_quoting(void)
{
    group = "ak-quoting";
    /* a quoted value may hold commas, spaces and \" without ending the field */
    struct ak a =
        parse1("command=\"echo \\\"a, b\\\" c\",from=\"10.0.0.1,10.0.0.2\" " LB " comment");
    CHECK(a.n == 1 && memcmp(a.e[0].k.pk, PKB, 32) == 0 && a.e[0].nfrom == 2 &&
              strcmp(a.e[0].from[0], "10.0.0.1") == 0 && strcmp(a.e[0].from[1], "10.0.0.2") == 0,
          "quoted command then from=");
    CHECK(a.n == 1 && strcmp(a.e[0].k.comment, "user-b@test comment") == 0, "comment '%s'",
          a.n ? a.e[0].k.comment : "");
    ak_free(&a);
    a = parse1("permitopen=\"h\\\"x:1\" " LA);
    CHECK(a.n == 1 && a.e[0].nopen == 1 && strcmp(a.e[0].open[0].host, "h\"x") == 0,
          "\\\" in a value becomes \"");
    ak_free(&a);
    a = parse1("from=\"10.0.0.1\"\t" LA);
    CHECK(a.n == 1 && a.e[0].nfrom == 1, "a tab ends the options");
    ak_free(&a);
    a = parse1("   no-pty   " LA);
    CHECK(a.n == 1, "leading white space before options");
    ak_free(&a);
}

static void t_ak_file(void)
{
    group = "ak-file";
    /* ignored options warn once per name per load, naming the first line */
    const char *text = "no-pty " LA "\n"               /* 1 */
                       "no-pty,command=\"x\" " LB "\n" /* 2 */
                       "NO-PTY " LC "\n"               /* 3 */
                       "bogus " LA "\n"                /* 4 */
                       "command=\"y\" " LA "\n";       /* 5 */
    struct ak a;
    ak_parse(text, "ak", &a);
    CHECK(a.n == 4, "%zu entries", a.n);
    CHECK(nwarn_with(&a, "option no-pty is ignored") == 1 &&
              nwarn_with(&a, "ak: option no-pty is ignored by alknet (line 1)") == 1,
          "no-pty once");
    CHECK(nwarn_with(&a, "option command is ignored") == 1 &&
              nwarn_with(&a, "(alknet runs no commands) (line 2)") == 1,
          "command once");
    CHECK(nwarn_with(&a, "ak:4: unknown option bogus; line skipped") == 1, "bogus");
    CHECK(a.nwarn == 3, "%zu warnings", a.nwarn);
    if (a.nwarn != 3) dump_warn(&a);
    ak_free(&a);
    /* a new load warns again */
    ak_parse("no-pty " LA "\n", "ak", &a);
    CHECK(nwarn_with(&a, "option no-pty is ignored") == 1, "warned again on reload");
    ak_free(&a);
    /* an ignored option on an invalid line is not reported as ignored */
    ak_parse("no-pty,bogus " LA "\nno-pty " LB "\n", "ak", &a);
    CHECK(a.n == 1 && nwarn_with(&a, "option no-pty is ignored by alknet (line 2)") == 1,
          "ignored-option warning names the first accepted line");
    ak_free(&a);

    /* same key on several lines: the first whose from= admits the peer */
    text = "from=\"10.0.0.0/8\" ssh-ed25519 " KA " first\n"
           "permitopen=\"x.example:1\" ssh-ed25519 " KA " second\n"
           "restrict ssh-ed25519 " KA " third\n"
           "from=\"192.0.2.0/24\" " LB "\n";
    ak_parse(text, "ak", &a);
    CHECK(a.n == 4, "%zu entries", a.n);
    if (a.n == 4) {
        const struct ak_entry *e = ak_find(&a, PKA, SA("10.1.1.1"));
        CHECK(e == &a.e[0] && strcmp(e->k.comment, "first") == 0, "inside 10/8: first line");
        e = ak_find(&a, PKA, SA("::ffff:10.1.1.1"));
        CHECK(e == &a.e[0], "mapped peer: first line");
        e = ak_find(&a, PKA, SA("8.8.8.8"));
        CHECK(e == &a.e[1] && e->line == 2 && ak_open_ok(e, "x.example", 1) &&
                  !ak_open_ok(e, "y.example", 1),
              "outside: second line");
        e = ak_find(&a, PKA, NULL);
        CHECK(e == &a.e[1], "peer NULL: first line without from=");
        CHECK(ak_first(&a, PKA) == &a.e[0], "ak_first: first line with the key");
        CHECK(ak_find(&a, PKB, SA("192.0.2.1")) == &a.e[3], "B from its network");
        CHECK(ak_find(&a, PKB, SA("198.51.100.1")) == NULL, "B refused elsewhere");
        CHECK(ak_find(&a, PKB, NULL) == NULL, "B refused for an unknown peer");
        CHECK(ak_first(&a, PKB) == &a.e[3] && ak_first(&a, PKB)->line == 4, "B known");
        CHECK(ak_find(&a, PKC, NULL) == NULL && ak_first(&a, PKC) == NULL, "C unknown");
    }
    ak_free(&a);

    /* line length: 8192 bytes pass, 8193 do not (CR not counted) */
    static char big[3 * AK_LINE_MAX];
    const char *tail = "\" " LA;
    size_t fixed = strlen("command=\"") + strlen(tail);
    for (int extra = 0; extra <= 1; extra++) {
        size_t pad = AK_LINE_MAX - fixed + (size_t)extra;
        strcpy(big, LB "\n");
        size_t n = strlen(big);
        memcpy(big + n, "command=\"", 9);
        memset(big + n + 9, 'x', pad);
        strcpy(big + n + 9 + pad, tail);
        CHECK(strlen(big + n) == AK_LINE_MAX + (size_t)extra, "test line length");
        strcat(big, "\r\n" LC "\n");
        ak_parse(big, "ak", &a);
        if (!extra) {
            CHECK(a.n == 3 && nwarn_with(&a, "longer") == 0, "line of %d bytes refused",
                  AK_LINE_MAX);
        } else {
            CHECK(a.n == 2 && memcmp(a.e[0].k.pk, PKB, 32) == 0 &&
                      memcmp(a.e[1].k.pk, PKC, 32) == 0,
                  "line of %d bytes accepted", AK_LINE_MAX + 1);
            CHECK(nwarn_with(&a, "ak:2: line longer than 8192 bytes; line skipped") == 1,
                  "long-line warning");
        }
        ak_free(&a);
    }
    /* a huge line of garbage does not upset what follows */
    memset(big, 'z', sizeof big - 100);
    strcpy(big + sizeof big - 100, "\n" LA "\n");
    ak_parse(big, "ak", &a);
    CHECK(a.n == 1 && a.e[0].line == 2 && nwarn_with(&a, "ak:1: line longer") == 1, "huge line");
    ak_free(&a);

    /* warnings are bounded */
    static char many[200 * 10];
    many[0] = 0;
    for (int i = 0; i < 100; i++)
        strcat(many, "junk\n");
    strcat(many, LA "\n");
    ak_parse(many, "ak", &a);
    CHECK(a.n == 1 && a.nwarn == AK_WARN_MAX + 1, "%zu warnings", a.nwarn);
    CHECK(a.nwarn && strcmp(a.warn[a.nwarn - 1], "ak: 36 more warnings not shown") == 0,
          "last warning: %s", a.nwarn ? a.warn[a.nwarn - 1] : "");
    ak_free(&a);
}

int main(void)
{
    (void)rnd_test_seed; /* alknet.c's, unused here */
    t_pol_parse();
    t_pol_defaults();
    t_pol_rules();
    t_pol_name();
    load_pks();
    t_ak_basic();
    t_ak_lines();
    t_ak_from();
    t_ak_open();
    t_ak_restrict();
    t_ak_quoting();
    t_ak_file();
    printf("policy: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
