/*
 * The pure parts of the resolver (dns_): byte 0 chooses what the rest is.
 *   0-159   a reply: byte 1 = name length L, then the queried name (L
 *           bytes), then the message; the id and the type (A or AAAA, by
 *           bit 0 of byte 0) are taken as asked, so answers to the query
 *           get past the first checks
 *   160-207 an /etc/hosts file, looked up for "host.example"
 *   208-255 a resolv.conf file, and the first line as a --dns value
 */
#include "fuzz.h"

#ifndef FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_world();
    if (size < 2) return 0;
    uint8_t sel = data[0];
    if (sel < 160) {
        size_t l = data[1];
        if (size < 2 + l) return 0;
        char name[256];
        memcpy(name, data + 2, l);
        name[l] = 0;
        const uint8_t *msg = data + 2 + l;
        size_t n = size - 2 - l;
        uint16_t id = n >= 2 ? (uint16_t)(msg[0] << 8 | msg[1]) : 0;
        struct dns_res res;
        int r = dns_answer(msg, n, id, name, sel & 1 ? DNS_T_AAAA : DNS_T_A, &res);
        if (r == DNS_OK && res.n > DNS_MAX_ADDRS) abort();
        uint8_t q[DNS_QUERY_MAX];
        dns_query(q, sizeof q, id, name, DNS_T_A);
        return 0;
    }
    char *text = xmalloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    if (sel < 208) {
        struct dns_addr a[DNS_MAX_ADDRS];
        dns_hosts(text, "host.example", AF_UNSPEC, a, DNS_MAX_ADDRS);
        dns_hosts(text, "localhost", AF_INET6, a, DNS_MAX_ADDRS);
    } else {
        struct dns_conf c;
        struct sockaddr_storage ss;
        dns_conf_parse(text, &c);
        text[strcspn(text, "\n")] = 0;
        dns_server_parse(text, &ss);
    }
    free(text);
    return 0;
}
#else
static void seed_answer(const char *dir, const char *file, const char *name, int aaaa,
                        const uint8_t *extra, size_t extra_n, int nx)
{
    uint8_t b[600], q[DNS_QUERY_MAX];
    size_t qn = dns_query(q, sizeof q, 0x1234, name, aaaa ? DNS_T_AAAA : DNS_T_A);
    size_t l = strlen(name), o = 0;
    b[o++] = (uint8_t)(aaaa ? 1 : 0);
    b[o++] = (uint8_t)l;
    memcpy(b + o, name, l), o += l;
    memcpy(b + o, q, qn);
    b[o + 2] |= 0x80; /* QR */
    b[o + 3] = nx ? 0x83 : 0x80; /* RA, rcode */
    b[o + 7] = extra_n ? 1 : 0; /* ANCOUNT */
    o += qn;
    memcpy(b + o, extra, extra_n), o += extra_n;
    fz_write(dir, file, b, o);
}
static void fz_seeds(const char *dir)
{
    /* owner = pointer to the question name (offset 12), type, class, TTL, rdata */
    static const uint8_t a[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34};
    static const uint8_t aaaa[] = {0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 1, 0, 0, 16, 0x20, 1, 0x0d,
                                   0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t cname[] = {0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w',
                                    'w', 0xc0, 0x0c};
    seed_answer(dir, "answer-a", "example.com", 0, a, sizeof a, 0);
    seed_answer(dir, "answer-aaaa", "example.com", 1, aaaa, sizeof aaaa, 0);
    seed_answer(dir, "answer-cname", "example.com", 0, cname, sizeof cname, 0);
    seed_answer(dir, "answer-nxdomain", "nosuch.test", 0, NULL, 0, 1);
    static const char hosts[] = "\xa0# hosts\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n"
                                "192.0.2.7 host.example alias\n";
    fz_write(dir, "hosts", hosts, sizeof hosts - 1);
    static const char conf[] = "\xd0nameserver 192.0.2.53\nnameserver 2001:db8::53\n"
                               "options timeout:2 attempts:3 ndots:1\nsearch example\n";
    fz_write(dir, "resolv-conf", conf, sizeof conf - 1);
    static const char dns[] = "\xf0[2001:db8::1]:5353\n";
    fz_write(dir, "dns-override", dns, sizeof dns - 1);
}
#endif
