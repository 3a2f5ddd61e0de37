/*
 * Tests for SECTION 6a of alknet.c: the ClientHello peek that --tls-listen
 * decides on, the self-signed certificate, and the --tls-pin hash.
 *
 * Built by make (build/unit_tls); run by tests/test_units.py.
 * Run: build/unit_tls   needs openssl(1), curl(1) and timeout(1) on PATH for the interop
 *                        part (without openssl those checks are skipped, and it says so);
 *                        UNIT_TLS_VERBOSE=1 prints what s_client saw
 *      ./a.out --seeds DIR   writes fuzz seeds (the hellos below, a split one, the largest
 *                        one accepted, generated certificates) into DIR
 *
 * Groups: captured (real hellos: every prefix, every two-record split, one
 * byte per record, what may follow), lengths (each length field of each
 * captured hello made wrong), synthetic (hand-built hellos: ALPN and SNI
 * corner cases, fixed fields, the TLS_HELLO_MAX boundary), not tls (HTTP,
 * SSH, SOCKS, SSLv2, alerts, garbage), bearssl client (the hello alknet's
 * client will send), certificate and spki (BearSSL decoder and verifier,
 * dates at the UTCTime/GeneralizedTime boundary, names, capacities, DER
 * that is not a certificate), openssl, pin, handshake (openssl x509,
 * asn1parse, verify, dgst -verify; the pin pipeline on our and openssl's
 * RSA, P-256, P-384 and Ed25519 certificates; openssl s_client against a
 * BearSSL server behind the hello peek, with certificate verification and
 * hostname check; curl turned away without a byte).
 *
 * Last line: "tls: N passed, M failed"; exit status 0 only if none failed.
 *
 * The hellos below were captured on loopback: a Python listener on
 * 127.0.0.1 saved the first bytes of each connection (until a whole
 * ClientHello had arrived) and closed without answering. Clients: OpenSSL
 * 3.0.22 s_client, curl 7.88.1 (OpenSSL), and a BearSSL 0.6 client
 * (br_ssl_client_init_full + br_sslio). The BearSSL hello alknet's own
 * client sends is also made live here (bearssl_hello) and checked.
 */
#include "unit.h"

#include <dirent.h>

/* openssl s_client -tls1_3 (no SNI: IP address): 225 bytes */
static const char hx_openssl_tls13[] =
    "16030100dc010000d803030b5ecc83d21ab74bd3ca00e188bc06e667410134ef7517cd3f31ca655df2513620d2873114"
    "6ca207b36a519b2040d6e652bd064cd435c52b638aa9297e5df9f22b000813021303130100ff01000087000b00040300"
    "0102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d001e001c0403"
    "05030603080708080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d00"
    "20181e142c77f4ef7d70cdc492ba96f1ccfc48ed1f741884f00876526572b2f111";
/* openssl s_client -tls1_3 -alpn alknet-ssh -servername alknet.example: 265 bytes */
static const char hx_openssl_tls13_alknet[] =
    "1603010104010001000303b86ec1550a97d8de08bbe7d49b9a6bb6a40cd64403911accd5b6a39c73c06b0020d37fd6ca"
    "655e89ad9f9a8bbd04873c7612ca362f9b7ac5527fa50f7e866733f5000813021303130100ff010000af000000130011"
    "00000e616c6b6e65742e6578616d706c65000b000403000102000a00160014001d0017001e0019001801000101010201"
    "030104002300000010000d000b0a616c6b6e65742d7373680016000000170000000d001e001c04030503060308070808"
    "0809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020263fa3552b33e9"
    "01034b9e44dbdcd34c6550a44f2ac927bb9de04c559aa64317";
/* openssl s_client -tls1_2 -alpn alknet-ssh -servername alknet.example: 228 bytes */
static const char hx_openssl_tls12_alknet[] =
    "16030100df010000db0303192c12f1ace9fe6919bf1fdf2eaa69f07ece2f18d2ab7375f7b607ce2c2c7809000038c02c"
    "c030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"
    "0035002f00ff0100007a00000013001100000e616c6b6e65742e6578616d706c65000b000403000102000a000c000a00"
    "1d0017001e00190018002300000010000d000b0a616c6b6e65742d7373680016000000170000000d002a002804030503"
    "0603080708080809080a080b080408050806040105010601030303010302040205020602";
/* openssl s_client -tls1_2: 188 bytes */
static const char hx_openssl_tls12[] =
    "16030100b7010000b30303724d3061a14ee75795c36ddd4ef4e6ef89267bd8f47898780af5d38bf0d25e22000038c02c"
    "c030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"
    "0035002f00ff01000052000b000403000102000a000c000a001d0017001e00190018002300000016000000170000000d"
    "002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602";
/* openssl s_client -alpn h2,http/1.1 -servername www.example.org: 339 bytes */
static const char hx_openssl_h2[] =
    "160301014e0100014a0303465591883ce4148c179ba89d03ccd1ab0ff6185100248972cde551481e38d4a9209d9ed233"
    "bd8803846e7c8b958b4d39e920fa2138c1b8ece1eef8f7a194841d88003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000c3"
    "00000014001200000f7777772e6578616d706c652e6f7267000b000403000102000a00160014001d0017001e00190018"
    "01000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d002a00280403"
    "05030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009080304030303"
    "020301002d00020101003300260024001d0020f2bf52382c54d4b794c8748e59255c3b6928ee34f2f95e54505877e898"
    "c68606";
/* openssl s_client -noservername: 297 bytes */
static const char hx_openssl_default[] =
    "1603010124010001200303795693d8e8b9068e170ed398377b7594b2fe304fff9c83ebba24e63977be9988206a9412fb"
    "542db1a1af1950f2c801580a8a469f0b9eefd73704f0bccfc202bf84003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000099"
    "000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d"
    "002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009"
    "080304030303020301002d00020101003300260024001d00209484b6c7d571ba21e7052c1d528d7e1cfc96c7ca19731f"
    "d512ab7e2fa92c1e76";
/* curl -k https://localhost:PORT/: 517 bytes */
static const char hx_curl[] =
    "1603010200010001fc0303e5ef0802351f6a6abca7f5fd22ce2ebbf48ffe70c6fca40f69820633a330d0dd20d4a3affb"
    "0a78cf3ec957f948eef9243c157f1a685bbe00b960c55cea20d68480003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000175"
    "0000000e000c0000096c6f63616c686f7374000b000403000102000a00160014001d0017001e00190018010001010102"
    "010301040010000e000c02683208687474702f312e31001600000017000000310000000d002a00280403050306030807"
    "08080809080a080b080408050806040105010601030303010302040205020602002b0009080304030303020301002d00"
    "020101003300260024001d0020f40fe102c4c491b4cbcdc547ba49a3b2c622db1323e988567b54e02242f80221001500"
    "b40000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000";
/* curl -k --http1.1 --tlsv1.2 --tls-max 1.2 https://localhost:PORT/: 217 bytes */
static const char hx_curl_tls12[] =
    "16030100d4010000d00303f46464126ee1102a1aae3f07b31b638d7b3561b0ea734607fbcd5232c8de51ac000038c02c"
    "c030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"
    "0035002f00ff0100006f0000000e000c0000096c6f63616c686f7374000b000403000102000a000c000a001d0017001e"
    "001900180010000b000908687474702f312e310016000000170000000d002a0028040305030603080708080809080a08"
    "0b080408050806040105010601030303010302040205020602";
/* BearSSL 0.6 client, ALPN alknet-ssh, SNI alknet.example: 231 bytes */
static const char hx_bearssl_alknet[] =
    "16030100e2010000de030300000000e5cca0d93c735badc16e444aa4e873befbb290abad892416912c439900005acca9"
    "cca8c02bc02fc02cc030c0acc0adc0aec0afc023c027c024c028c009c013c00ac014c02dc031c02ec032c025c029c026"
    "c02ac004c00ec005c00f009c009dc09cc09dc0a0c0a1003c003d002f0035c008c012c003c00d000a0100005bff010001"
    "0000000013001100000e616c6b6e65742e6578616d706c65000d00160014040303030503060302030401030105010601"
    "0201000a000a0008001700180019001d000b000201000010000d000b0a616c6b6e65742d737368";
/* BearSSL 0.6 client, no ALPN, no SNI: 191 bytes */
static const char hx_bearssl_plain[] =
    "16030100ba010000b603030000000006ae39d632331b16ab5ad8c82c93c4dd1f74b924cda801653899405000005acca9"
    "cca8c02bc02fc02cc030c0acc0adc0aec0afc023c027c024c028c009c013c00ac014c02dc031c02ec032c025c029c026"
    "c02ac004c00ec005c00f009c009dc09cc09dc0a0c0a1003c003d002f0035c008c012c003c00d000a01000033ff010001"
    "00000d001600140403030305030603020304010301050106010201000a000a0008001700180019001d000b00020100";

struct hcase {
    const char *name, *hex;
    const char *sni;  /* expected server_name, "" for none */
    const char *alpn; /* expected ALPN names, comma-separated, "" for none */
};
static const struct hcase hcases[] = {
    {"openssl tls1.3", hx_openssl_tls13, "", ""},
    {"openssl tls1.3 alpn alknet-ssh", hx_openssl_tls13_alknet, "alknet.example", "alknet-ssh"},
    {"openssl tls1.2 alpn alknet-ssh", hx_openssl_tls12_alknet, "alknet.example", "alknet-ssh"},
    {"openssl tls1.2", hx_openssl_tls12, "", ""},
    {"openssl alpn h2,http/1.1", hx_openssl_h2, "www.example.org", "h2,http/1.1"},
    {"openssl -noservername", hx_openssl_default, "", ""},
    {"curl -k", hx_curl, "localhost", "h2,http/1.1"},
    {"curl -k tls1.2 http1.1", hx_curl_tls12, "localhost", "http/1.1"},
    {"bearssl alknet", hx_bearssl_alknet, "alknet.example", "alknet-ssh"},
    {"bearssl plain", hx_bearssl_plain, "", ""},
};

static size_t be16(const uint8_t *p) { return (size_t)p[0] << 8 | p[1]; }

/* "a,b,c" from the ALPN names of a parsed hello. */
static const char *alpn_list(const struct tls_hello *h)
{
    static char buf[TLS_ALPN_MAX * 257 + 1];
    size_t o = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < h->nalpn; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? "," : "", h->alpn[i]);
    return buf;
}

/*
 * Re-frames the handshake message of a one-record hello into records cut
 * at the given offsets of the message (strictly increasing, inside it).
 * Each record gets the original record header's type and version.
 */
static size_t reframe(uint8_t *out, size_t cap, const uint8_t *rec, size_t n, const size_t *cuts,
                      size_t ncuts)
{
    const uint8_t *m = rec + 5;
    size_t mn = n - 5, o = 0, from = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : mn;
        if (o + 5 + (to - from) > cap) return 0;
        out[o] = rec[0], out[o + 1] = rec[1], out[o + 2] = rec[2];
        out[o + 3] = (uint8_t)((to - from) >> 8), out[o + 4] = (uint8_t)(to - from);
        memcpy(out + o + 5, m + from, to - from);
        o += 5 + (to - from), from = to;
    }
    return o;
}

/* Every proper prefix must give 0 and the whole input 1; returns the first
 * prefix length that did not give 0 (n when all did). */
static size_t first_bad_prefix(const uint8_t *p, size_t n)
{
    struct tls_hello h;
    for (size_t k = 0; k < n; k++)
        if (tls_hello_parse(p, k, &h) != 0) return k;
    return n;
}

/* The ClientHello alknet's client sends: BearSSL's full client profile,
 * ALPN alknet-ssh, SNI from --sni. Taken from the engine's first record,
 * without a socket. */
static size_t bearssl_hello(uint8_t *out, size_t cap, const char *sni,
                            const char *const *alpn, size_t nalpn)
{
    static br_ssl_client_context cc;
    static br_x509_minimal_context xc;
    static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
    size_t len = 0;
    br_ssl_client_init_full(&cc, &xc, NULL, 0);
    if (nalpn) br_ssl_engine_set_protocol_names(&cc.eng, (const char **)alpn, nalpn);
    br_ssl_engine_set_buffer(&cc.eng, iobuf, sizeof iobuf, 1);
    if (!br_ssl_client_reset(&cc, sni, 0)) return 0;
    if (!(br_ssl_engine_current_state(&cc.eng) & BR_SSL_SENDREC)) return 0;
    unsigned char *rec = br_ssl_engine_sendrec_buf(&cc.eng, &len);
    if (len > cap) return 0;
    memcpy(out, rec, len);
    return len;
}

/* Offsets of the length fields of a one-record hello, for the mutation
 * tests. A plain walk over a hello known to be well-formed. */
struct field {
    size_t off, width;
    const char *what;
};
static size_t hello_fields(const uint8_t *b, size_t n, struct field *f, size_t cap)
{
    size_t k = 0, o;
#define ADD(o_, w_, s_) (k < cap ? (f[k].off = (o_), f[k].width = (w_), f[k++].what = (s_)) : 0)
    ADD(3, 2, "record length");
    ADD(6, 3, "handshake length");
    o = 9 + 2 + 32;
    ADD(o, 1, "session id length");
    o += 1 + b[o];
    ADD(o, 2, "cipher suites length");
    o += 2 + be16(b + o);
    ADD(o, 1, "compression methods length");
    o += 1 + b[o];
    if (o >= n) return k;
    ADD(o, 2, "extensions length");
    o += 2;
    while (o + 4 <= n) {
        size_t type = be16(b + o), len = be16(b + o + 2);
        ADD(o + 2, 2, type == 0 ? "server_name extension length"
                      : type == 16 ? "ALPN extension length" : "extension length");
        if (type == 0) {
            ADD(o + 4, 2, "server_name list length");
            ADD(o + 7, 2, "host_name length");
        }
        if (type == 16) {
            ADD(o + 4, 2, "ALPN list length");
            for (size_t q = o + 6; q < o + 4 + len; q += 1 + b[q])
                ADD(q, 1, "ALPN name length");
        }
        o += 4 + len;
    }
#undef ADD
    return k;
}
static size_t get_be(const uint8_t *p, size_t w)
{
    size_t v = 0;
    for (size_t i = 0; i < w; i++)
        v = v << 8 | p[i];
    return v;
}
static void put_be(uint8_t *p, size_t w, size_t v)
{
    for (size_t i = w; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

static void test_captured(void)
{
    static uint8_t b[4096], r[8192];
    struct tls_hello h;
    group = "captured";
    for (size_t i = 0; i < ARRAY_LEN(hcases); i++) {
        const struct hcase *c = &hcases[i];
        size_t n = unhex(b, sizeof b, c->hex);
        int rc = tls_hello_parse(b, n, &h);
        CHECK(rc == 1, "%s: rc %d", c->name, rc);
        CHECK(strcmp(h.sni, c->sni) == 0, "%s: sni '%s', want '%s'", c->name, h.sni, c->sni);
        CHECK(strcmp(alpn_list(&h), c->alpn) == 0 && h.alpn_skipped == 0, "%s: alpn '%s', want '%s'",
              c->name, alpn_list(&h), c->alpn);
        int want = strcmp(c->alpn, "alknet-ssh") == 0;
        CHECK(tls_hello_has_alpn(&h, "alknet-ssh") == want, "%s: has_alpn", c->name);
        CHECK(!tls_hello_has_alpn(&h, "alknet") && !tls_hello_has_alpn(&h, "") &&
                  !tls_hello_has_alpn(&h, "alknet-sshx") && !tls_hello_has_alpn(&h, "ALKNET-SSH"),
              "%s: has_alpn must be exact", c->name);
        size_t bad = first_bad_prefix(b, n);
        CHECK(bad == n, "%s: prefix of %zu bytes gave %d, want 0", c->name, bad,
              tls_hello_parse(b, bad, &h));

        /* what may follow the hello: a CCS record (TLS 1.3 compatibility
         * mode), early data, anything: not looked at */
        static const uint8_t ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x17, 0x03};
        memcpy(r, b, n), memcpy(r + n, ccs, sizeof ccs);
        CHECK(tls_hello_parse(r, n + sizeof ccs, &h) == 1 && strcmp(h.sni, c->sni) == 0,
              "%s: hello + CCS record", c->name);
        memset(r + n, 0xff, 200);
        CHECK(tls_hello_parse(r, n + 200, &h) == 1, "%s: hello + garbage", c->name);

        /* split into two records at every offset of the handshake message */
        size_t mn = n - 5, nbad = 0, firstbad = 0;
        for (size_t cut = 1; cut < mn; cut++) {
            size_t rn = reframe(r, sizeof r, b, n, &cut, 1);
            rc = tls_hello_parse(r, rn, &h);
            if (rc != 1 || strcmp(h.sni, c->sni) || strcmp(alpn_list(&h), c->alpn)) {
                if (!nbad++) firstbad = cut;
            }
        }
        CHECK(nbad == 0, "%s: %zu two-record splits fail, first at %zu", c->name, nbad, firstbad);
        /* every prefix of a few of those splits, inside the header included */
        const size_t cuts[] = {1, 2, 3, 4, 5, mn / 2, mn - 1};
        for (size_t j = 0; j < ARRAY_LEN(cuts); j++) {
            size_t rn = reframe(r, sizeof r, b, n, &cuts[j], 1);
            bad = first_bad_prefix(r, rn);
            CHECK(bad == rn && tls_hello_parse(r, rn, &h) == 1,
                  "%s: split at %zu: prefix %zu gave %d", c->name, cuts[j], bad,
                  tls_hello_parse(r, bad, &h));
        }
        /* one record per byte: 6 times as long, still well under the limit */
        size_t every[600];
        for (size_t j = 1; j < mn && j <= ARRAY_LEN(every); j++)
            every[j - 1] = j;
        size_t rn = reframe(r, sizeof r, b, n, every, mn - 1);
        CHECK(rn == 6 * mn && tls_hello_parse(r, rn, &h) == 1 && strcmp(h.sni, c->sni) == 0,
              "%s: one byte per record (%zu bytes)", c->name, rn);
        CHECK(first_bad_prefix(r, rn) == rn, "%s: one byte per record, prefixes", c->name);
        /* another record type between two pieces (RFC 8446 5.1) */
        size_t cut = mn / 2;
        rn = reframe(r, sizeof r, b, n, &cut, 1);
        memmove(r + 5 + cut + 6, r + 5 + cut, rn - 5 - cut);
        memcpy(r + 5 + cut, ccs, 6);
        CHECK(tls_hello_parse(r, rn + 6, &h) == -1, "%s: CCS record inside the hello", c->name);
        /* version 3.4 in the record layer is not what clients send */
        memcpy(r, b, n);
        r[2] = 4;
        CHECK(tls_hello_parse(r, n, &h) == -1 && tls_hello_parse(r, 3, &h) == -1 &&
                  tls_hello_parse(r, 2, &h) == 0, "%s: record version 3.4", c->name);
    }
}

/* Each length field of each captured hello, made wrong. */
static void test_mutations(void)
{
    static uint8_t b[4096], m[4200];
    struct field f[64];
    struct tls_hello h;
    group = "lengths";
    for (size_t i = 0; i < ARRAY_LEN(hcases); i++) {
        const struct hcase *c = &hcases[i];
        size_t n = unhex(b, sizeof b, c->hex);
        size_t nf = hello_fields(b, n, f, ARRAY_LEN(f));
        CHECK(nf >= 7, "%s: only %zu fields", c->name, nf);
        for (size_t j = 0; j < nf; j++) {
            size_t v = get_be(b + f[j].off, f[j].width);
            size_t max = ((size_t)1 << (8 * f[j].width)) - 1;
            const size_t vals[] = {v + 1, v - 1, 0, max, v + 2, v - 2};
            for (size_t k = 0; k < ARRAY_LEN(vals); k++) {
                size_t nv = vals[k];
                if (nv > max || nv == v) continue;
                memcpy(m, b, n);
                put_be(m + f[j].off, f[j].width, nv);
                int rc = tls_hello_parse(m, n, &h);
                int want = -1;
                /* a longer record: the hello is all here, the rest of the
                 * record does not matter */
                if (j == 0 && nv > v && nv <= TLS_REC_MAX) want = 1;
                if (j == 1 && nv > v && nv <= TLS_HELLO_MAX - 9) want = 0;
                if (j == 0 && nv < v && nv > 0) {
                    /* the rest comes "in the next record", whose header
                     * starts at the hello's last bytes: never a 1 */
                    CHECK(rc != 1, "%s: %s %zu -> %zu: rc %d", c->name, f[j].what, v, nv, rc);
                    continue;
                }
                /* An extension other than server_name or ALPN made longer or
                 * shorter by an even amount can realign on the next ones
                 * (runs of empty extensions, lists of u16): a different
                 * well-formed hello. It may have lost server_name or ALPN
                 * (swallowed by the extension before), never changed them. */
                if (strcmp(f[j].what, "extension length") == 0 && nv != v + 1 && nv != v - 1 &&
                    nv != max && rc == 1) {
                    CHECK((!h.sni[0] || strcmp(h.sni, c->sni) == 0) &&
                              (!h.nalpn || strcmp(alpn_list(&h), c->alpn) == 0),
                          "%s: %s %zu -> %zu: sni '%s' alpn '%s'", c->name, f[j].what, v, nv,
                          h.sni, alpn_list(&h));
                    continue;
                }
                CHECK(rc == want, "%s: %s %zu -> %zu: rc %d, want %d", c->name, f[j].what, v, nv,
                      rc, want);
                if (rc != 1) CHECK(h.sni[0] == 0 && h.nalpn == 0, "%s: out not cleared", c->name);
            }
        }
        /* the handshake length one more, with one more byte in the record: a
         * byte after the extensions block */
        memcpy(m, b, n);
        m[n] = 0;
        put_be(m + 3, 2, be16(b + 3) + 1);
        put_be(m + 6, 3, get_be(b + 6, 3) + 1);
        CHECK(tls_hello_parse(m, n + 1, &h) == -1, "%s: byte after the extensions", c->name);
        /* the handshake type */
        for (unsigned t = 0; t < 256; t++) {
            if (t == 1) continue;
            memcpy(m, b, n);
            m[5] = (uint8_t)t;
            if (tls_hello_parse(m, n, &h) != -1 || tls_hello_parse(m, 6, &h) != -1) {
                CHECK(0, "%s: handshake type %u accepted", c->name, t);
                break;
            }
        }
    }
}

/* A ClientHello in one record (RFC 8446 4.1.2): legacy_version, a zero
 * random, an empty session id, one suite, null compression, then `ext`
 * as the extensions block (has_ext 0: no block at all). */
static size_t mk_hello(uint8_t *out, size_t cap, uint16_t ver, const uint8_t *ext, size_t extn,
                       int has_ext)
{
    static const uint8_t rnd32[32];
    uint8_t body[TLS_HELLO_MAX + 100];
    struct wr w = wr_init(body, sizeof body);
    wr_u8(&w, (uint8_t)(ver >> 8)), wr_u8(&w, (uint8_t)ver);
    wr_bytes(&w, rnd32, 32);
    wr_u8(&w, 0);                                    /* session id */
    wr_u8(&w, 0), wr_u8(&w, 2), wr_u8(&w, 0xc0), wr_u8(&w, 0x2b); /* one suite */
    wr_u8(&w, 1), wr_u8(&w, 0);                      /* null compression */
    if (has_ext) wr_u8(&w, (uint8_t)(extn >> 8)), wr_u8(&w, (uint8_t)extn), wr_bytes(&w, ext, extn);
    if (w.bad || 9 + w.len > cap || w.len + 4 > 0xffff) return 0;
    out[0] = 22, out[1] = 3, out[2] = 1;
    out[3] = (uint8_t)((w.len + 4) >> 8), out[4] = (uint8_t)(w.len + 4);
    out[5] = 1, out[6] = 0, out[7] = (uint8_t)(w.len >> 8), out[8] = (uint8_t)w.len;
    memcpy(out + 9, body, w.len);
    return 9 + w.len;
}

/* Extension builders: each appends one extension to *w. */
static void x_raw(struct wr *w, uint16_t type, const void *data, size_t n)
{
    wr_u8(w, (uint8_t)(type >> 8)), wr_u8(w, (uint8_t)type);
    wr_u8(w, (uint8_t)(n >> 8)), wr_u8(w, (uint8_t)n);
    wr_bytes(w, data, n);
}
static void x_sni(struct wr *w, const void *name, size_t n)
{
    uint8_t d[600];
    d[0] = (uint8_t)((n + 3) >> 8), d[1] = (uint8_t)(n + 3), d[2] = 0;
    d[3] = (uint8_t)(n >> 8), d[4] = (uint8_t)n;
    memcpy(d + 5, name, n);
    x_raw(w, 0, d, n + 5);
}
/* names: "\x0a" "alknet-ssh" ... length-prefixed already, as on the wire */
static void x_alpn(struct wr *w, const void *names, size_t n)
{
    uint8_t d[4000];
    d[0] = (uint8_t)(n >> 8), d[1] = (uint8_t)n;
    memcpy(d + 2, names, n);
    x_raw(w, 16, d, n + 2);
}

struct scase {
    const char *name;
    int want;
    const char *sni;
    int alknet;
};

static void test_synthetic(void)
{
    static uint8_t ext[TLS_HELLO_MAX], b[TLS_HELLO_MAX + 200], r[TLS_HELLO_MAX + 200];
    struct tls_hello h;
    struct wr w;
    size_t n;
    int rc;
    group = "synthetic";

#define HELLO(ver, has, build)                                                                     \
    (w = wr_init(ext, sizeof ext), build, n = mk_hello(b, sizeof b, ver, ext, w.len, has),         \
     rc = tls_hello_parse(b, n, &h))
    static const char an[] = "\x0a" "alknet-ssh";

    HELLO(0x0303, 0, (void)0);
    CHECK(rc == 1 && h.sni[0] == 0 && h.nalpn == 0, "no extensions block: %d", rc);
    HELLO(0x0301, 0, (void)0);
    CHECK(rc == 1, "TLS 1.0 hello without extensions: %d", rc);
    HELLO(0x0300, 0, (void)0);
    CHECK(rc == 1, "SSL 3.0 hello: %d", rc);
    HELLO(0x0200, 0, (void)0);
    CHECK(rc == -1, "legacy_version 2.0: %d", rc);
    HELLO(0x0303, 1, (void)0);
    CHECK(rc == 1, "empty extensions block: %d", rc);
    HELLO(0x0303, 1, x_alpn(&w, an, 11));
    CHECK(rc == 1 && tls_hello_has_alpn(&h, "alknet-ssh") && h.nalpn == 1, "alknet-ssh: %d", rc);
    HELLO(0x0303, 1, (x_raw(&w, 0x0a0a, NULL, 0), x_alpn(&w, "\x02\x1a\x1a" "\x0a" "alknet-ssh", 14),
                      x_sni(&w, "a.b", 3), x_raw(&w, 0xfafa, "\0", 1)));
    CHECK(rc == 1 && tls_hello_has_alpn(&h, "alknet-ssh") && h.nalpn == 2 &&
              strcmp(h.sni, "a.b") == 0, "GREASE (RFC 8701) extensions and ALPN name: %d", rc);
    {
        /* eight names, ours last: found; nine, ours ninth: not stored */
        static const char eight[] = "\x01" "a" "\x01" "b" "\x01" "c" "\x01" "d" "\x01" "e"
                                    "\x01" "f" "\x01" "g";
        uint8_t names[64];
        memcpy(names, eight, 14), memcpy(names + 14, an, 11);
        HELLO(0x0303, 1, x_alpn(&w, names, 25));
        CHECK(rc == 1 && h.nalpn == 8 && h.alpn_skipped == 0 && tls_hello_has_alpn(&h, "alknet-ssh"),
              "8 ALPN names: %d %u", rc, h.nalpn);
        memcpy(names + 14, "\x01h", 2), memcpy(names + 16, an, 11);
        HELLO(0x0303, 1, x_alpn(&w, names, 27));
        CHECK(rc == 1 && h.nalpn == 8 && h.alpn_skipped == 1 && !tls_hello_has_alpn(&h, "alknet-ssh"),
              "9 ALPN names: %d %u %u", rc, h.nalpn, h.alpn_skipped);
    }
    HELLO(0x0303, 1, x_alpn(&w, "\x0c" "alknet-ssh\0x", 13));
    CHECK(rc == 1 && h.nalpn == 0 && h.alpn_skipped == 1 && !tls_hello_has_alpn(&h, "alknet-ssh"),
          "ALPN name with a NUL is not alknet-ssh: %d", rc);
    HELLO(0x0303, 1, x_alpn(&w, "\x0b" "alknet-sshx" "\x09" "alknet-ss", 22));
    CHECK(rc == 1 && h.nalpn == 2 && !tls_hello_has_alpn(&h, "alknet-ssh"), "near misses: %d", rc);
    {
        uint8_t names[300];
        names[0] = 255;
        memset(names + 1, 'x', 255);
        HELLO(0x0303, 1, x_alpn(&w, names, 256));
        CHECK(rc == 1 && h.nalpn == 1 && strlen(h.alpn[0]) == 255, "255-byte ALPN name: %d", rc);
    }
    HELLO(0x0303, 1, x_alpn(&w, "\x00\x0a" "alknet-ssh", 12));
    CHECK(rc == -1, "empty ALPN name: %d", rc);
    HELLO(0x0303, 1, x_alpn(&w, "", 0));
    CHECK(rc == -1, "empty ALPN list: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 16, "\x00\x01\x00", 3));
    CHECK(rc == -1, "ALPN list of 1 byte: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 16, NULL, 0));
    CHECK(rc == -1, "empty ALPN extension: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 16, "\x00\x0b\x0a" "alknet-ssh" "!", 14));
    CHECK(rc == -1, "byte after the ALPN list: %d", rc);
    HELLO(0x0303, 1, (x_alpn(&w, an, 11), x_alpn(&w, an, 11)));
    CHECK(rc == -1, "two ALPN extensions: %d", rc);

    HELLO(0x0303, 1, x_sni(&w, "alknet.example", 14));
    CHECK(rc == 1 && strcmp(h.sni, "alknet.example") == 0, "server_name: %d", rc);
    HELLO(0x0303, 1, (x_sni(&w, "a", 1), x_sni(&w, "b", 1)));
    CHECK(rc == -1, "two server_name extensions: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 0, "\x00\x08\x00\x00\x01" "a" "\x00\x00\x01" "b", 10));
    CHECK(rc == -1, "two host_names in one list: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 0, "\x00\x04\x01\x00\x01" "a", 6));
    CHECK(rc == -1, "name_type 1: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 0, "\x00\x03\x00\x00\x00", 5));
    CHECK(rc == -1, "empty host_name: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 0, "\x00\x00", 2));
    CHECK(rc == -1, "empty server_name list: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 0, NULL, 0));
    CHECK(rc == -1, "empty server_name extension (the server's form): %d", rc);
    HELLO(0x0303, 1, x_sni(&w, "a\0b", 3));
    CHECK(rc == -1, "host_name with a NUL: %d", rc);
    {
        char name[300];
        memset(name, 'a', sizeof name);
        HELLO(0x0303, 1, x_sni(&w, name, 255));
        CHECK(rc == 1 && strlen(h.sni) == 255, "255-byte host_name: %d", rc);
        HELLO(0x0303, 1, x_sni(&w, name, 256));
        CHECK(rc == -1, "256-byte host_name: %d", rc);
    }
    HELLO(0x0303, 1, x_raw(&w, 0x0a0a, NULL, 0));
    CHECK(rc == 1, "unknown extension: %d", rc);
    HELLO(0x0303, 1, x_raw(&w, 0x0a0a, "\x01\x02", 1));
    b[n - 2] = 2; /* extension length 2 with 1 byte: runs past its block */
    rc = tls_hello_parse(b, n, &h);
    CHECK(rc == -1, "extension past its block: %d", rc);
#undef HELLO

    /* fixed fields made wrong in a minimal hello (no extensions) */
    n = mk_hello(b, sizeof b, 0x0303, NULL, 0, 0);
    struct {
        size_t off;
        uint8_t v;
        const char *what;
    } const fx[] = {
        {0, 0x17, "record type application_data"},
        {0, 0x15, "record type alert"},
        {0, 0x80, "SSLv2 header"},
        {1, 2, "record major 2"},
        {1, 4, "record major 4"},
        {2, 4, "record minor 4"},
        {5, 2, "handshake type server_hello"},
        {5, 0, "handshake type hello_request"},
        {9, 2, "legacy_version 2.3"},
        {43, 33, "session id of 33"},
        {45, 0, "no cipher suites"},
        {45, 1, "odd cipher suites length"},
        {48, 0, "no compression methods"},
    };
    for (size_t i = 0; i < ARRAY_LEN(fx); i++) {
        memcpy(r, b, n);
        r[fx[i].off] = fx[i].v;
        rc = tls_hello_parse(r, n, &h);
        CHECK(rc == -1, "%s: %d", fx[i].what, rc);
    }
    memcpy(r, b, n);
    r[3] = 0, r[4] = 0;
    CHECK(tls_hello_parse(r, n, &h) == -1, "empty handshake record");
    r[3] = 0x40, r[4] = 1;
    CHECK(tls_hello_parse(r, n, &h) == -1, "record of 2^14 + 1");

    /* The size limit: the hello's last byte must lie within the first
     * TLS_HELLO_MAX input bytes. A padding extension (RFC 7685, type 21)
     * makes hellos of the sizes wanted. */
    size_t base = mk_hello(b, sizeof b, 0x0303, NULL, 0, 1); /* 9 + 41 + 2: empty block */
    for (int two = 0; two <= 1; two++) {
        for (int over = 0; over <= 1; over++) {
            /* total input = record headers + 4 + body */
            size_t total = TLS_HELLO_MAX + (size_t)over, hdrs = two ? 10 : 5;
            size_t pad = total - hdrs - (base - 5) - 4; /* - extension header */
            w = wr_init(ext, sizeof ext);
            memset(r, 0, pad);
            x_raw(&w, 21, r, pad);
            n = mk_hello(b, sizeof b, 0x0303, ext, w.len, 1);
            size_t rn = n;
            if (two) {
                size_t cut = 8000;
                rn = reframe(r, sizeof r, b, n, &cut, 1);
                memcpy(b, r, rn);
            }
            CHECK(rn == total, "size arithmetic %zu %zu", rn, total);
            rc = tls_hello_parse(b, rn, &h);
            int want = over ? -1 : 1;
            CHECK(rc == want, "%s record(s), hello ends at %zu: %d, want %d", two ? "two" : "one",
                  total, rc, want);
            rc = tls_hello_parse(b, rn - 1, &h);
            /* one record: the u24 already says it cannot fit; two: the
             * missing byte would be input byte TLS_HELLO_MAX + 1 */
            want = over ? -1 : 0;
            CHECK(rc == want, "%s record(s), %zu of %zu bytes: %d, want %d", two ? "two" : "one",
                  rn - 1, total, rc, want);
            if (over && two) {
                rc = tls_hello_parse(b, TLS_HELLO_MAX - 1, &h);
                CHECK(rc == 0, "too long, not yet known: %d", rc);
            }
        }
    }
    /* a record header announcing 2^24-1 bytes of hello */
    static const uint8_t huge[] = {0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff};
    CHECK(tls_hello_parse(huge, sizeof huge, &h) == -1, "hello of 16 MiB");
    CHECK(tls_hello_parse(huge, 6, &h) == 0, "hello of 16 MiB, length not yet here");
}

/* What a TLS port sees that is not TLS. */
static void test_not_tls(void)
{
    static const struct {
        const char *name;
        const char *text;
        size_t n;
        int want;
    } v[] = { /* want -1 and a first byte other than 22: refused on the first byte */
        {"HTTP request", "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n", 0, -1},
        {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, -1},
        {"SSH identification", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 0, -1},
        {"SOCKS5 greeting", "\x05\x01\x00", 3, -1},
        {"empty", "", 0, 0},
        {"handshake type byte only", "\x16", 1, 0},
        {"two header bytes", "\x16\x03", 2, 0},
        {"full header, no body", "\x16\x03\x01\x00\x05", 5, 0},
        {"NUL bytes", "\0\0\0\0\0\0\0\0", 8, -1},
        {"SSLv2 ClientHello", "\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10", 11, -1},
        {"TLS alert", "\x15\x03\x03\x00\x02\x02\x28", 7, -1},
        {"heartbeat", "\x18\x03\x03\x00\x03\x01\x40\x00", 8, -1},
        {"zero-length handshake record", "\x16\x03\x03\x00\x00\x16\x03", 7, -1},
        {"ServerHello", "\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9, -1},
        {"empty ClientHello", "\x16\x03\x03\x00\x04\x01\x00\x00\x00", 9, -1},
    };
    struct tls_hello h;
    group = "not tls";
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        size_t n = v[i].n ? v[i].n : strlen(v[i].text);
        int rc = tls_hello_parse((const uint8_t *)v[i].text, n, &h);
        CHECK(rc == v[i].want, "%s: %d, want %d", v[i].name, rc, v[i].want);
        if (v[i].want == -1 && v[i].text[0] != 0x16) {
            rc = tls_hello_parse((const uint8_t *)v[i].text, 1, &h);
            CHECK(rc == -1, "%s: refused on its first byte: %d", v[i].name, rc);
        }
    }
    /* pseudo-random garbage: -1, never out of bounds (ASan, valgrind) */
    uint8_t g[2048];
    uint32_t x = 12345;
    int bad = 0;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof g; i++)
            x = x * 1103515245u + 12345u, g[i] = (uint8_t)(x >> 16);
        if (round & 1) g[0] = 0x16, g[1] = 3, g[2] = 1; /* past the first checks */
        for (size_t k = 0; k <= sizeof g; k += 97)
            if (tls_hello_parse(g, k, &h) == 1) bad++;
    }
    CHECK(bad == 0, "garbage parsed as a hello %d times", bad);
    /* A NULL pointer with no bytes is a valid empty input. */
    CHECK(tls_hello_parse(NULL, 0, &h) == 0, "NULL, 0");
}

/* The hello alknet's client sends (BearSSL, ALPN alknet-ssh), made live. */
static void test_bearssl_live(void)
{
    static const char *const alpn1[] = {"alknet-ssh"};
    static const char *const alpn3[] = {"h2", "http/1.1", "alknet-ssh"};
    uint8_t b[4096];
    struct tls_hello h;
    group = "bearssl client";
    size_t n = bearssl_hello(b, sizeof b, "tunnel.example.net", alpn1, 1);
    CHECK(n > 0 && tls_hello_parse(b, n, &h) == 1 && tls_hello_has_alpn(&h, "alknet-ssh") &&
              strcmp(h.sni, "tunnel.example.net") == 0 && h.nalpn == 1,
          "alknet client hello: %zu bytes, sni '%s'", n, h.sni);
    CHECK(first_bad_prefix(b, n) == n, "prefixes");
    n = bearssl_hello(b, sizeof b, NULL, alpn3, 3);
    CHECK(n > 0 && tls_hello_parse(b, n, &h) == 1 && tls_hello_has_alpn(&h, "alknet-ssh") &&
              h.sni[0] == 0 && strcmp(alpn_list(&h), "h2,http/1.1,alknet-ssh") == 0,
          "three names, no SNI: '%s'", alpn_list(&h));
    n = bearssl_hello(b, sizeof b, "x", NULL, 0);
    CHECK(n > 0 && tls_hello_parse(b, n, &h) == 1 && !tls_hello_has_alpn(&h, "alknet-ssh") &&
              strcmp(h.sni, "x") == 0, "no ALPN");
}

/* ---- certificates ---- */

struct keypair {
    br_ec_private_key sk;
    br_ec_public_key pk;
    uint8_t skbuf[BR_EC_KBUF_PRIV_MAX_SIZE], pkbuf[BR_EC_KBUF_PUB_MAX_SIZE];
};

/* The parts of a certificate the checks look at, found with der_get()
 * (the reader under test in x509_spki_sha256; the openssl checks below are
 * the independent view). */
struct certparts {
    struct str tbs, sig, serial, notbefore, notafter, spki;
    uint8_t nbtag, natag;
};
static int cert_parts(const uint8_t *der, size_t n, struct certparts *cp)
{
    struct rd r = rd_init(der, n);
    struct str c = der_get(&r, 0x30, NULL);
    struct rd rc = rd_init(c.p, c.n);
    struct str tbs = der_get(&rc, 0x30, &cp->tbs);
    der_get(&rc, 0x30, NULL);
    struct str bits = der_get(&rc, 0x03, NULL);
    if (rc.bad || bits.n < 2 || bits.p[0] != 0) return -1;
    cp->sig.p = bits.p + 1, cp->sig.n = bits.n - 1;
    struct rd t = rd_init(tbs.p, tbs.n);
    der_get(&t, 0xa0, NULL);
    cp->serial = der_get(&t, 0x02, NULL);
    der_get(&t, 0x30, NULL), der_get(&t, 0x30, NULL);
    struct str val = der_get(&t, 0x30, NULL);
    der_get(&t, 0x30, NULL);
    der_get(&t, 0x30, &cp->spki);
    struct rd v = rd_init(val.p, val.n);
    cp->nbtag = v.off < v.len ? v.p[v.off] : 0;
    cp->notbefore = der_get(&v, -1, NULL);
    cp->natag = v.off < v.len ? v.p[v.off] : 0;
    cp->notafter = der_get(&v, -1, NULL);
    return t.bad || v.bad || !rd_end(&v) ? -1 : 0;
}

static int str_is(struct str s, const char *z) { return s.p && str_eq(s, z); }

static void dn_append(void *ctx, const void *buf, size_t len)
{
    struct wr *w = ctx;
    wr_bytes(w, buf, len);
}

/* utc_date() (log lines, certificate dates) against the C library's
 * gmtime_r: every 99 hours and 7 seconds from 1900 to 2400 (as far as
 * time_t reaches), and the edges of days, leap days and centuries. */
static int utc_date_ok(long long v)
{
    time_t tt = (time_t)v;
    struct tm tm;
    long f[6];
    utc_date(v, f);
    if (gmtime_r(&tt, &tm) && f[0] == tm.tm_year + 1900L && f[1] == tm.tm_mon + 1 &&
        f[2] == tm.tm_mday && f[3] == tm.tm_hour && f[4] == tm.tm_min && f[5] == tm.tm_sec)
        return 1;
    printf("utc_date(%lld): %ld-%ld-%ld %ld:%ld:%ld\n", v, f[0], f[1], f[2], f[3], f[4], f[5]);
    return 0;
}
static void test_utc_date(void)
{
    static const long long edges[] = {0, -1, 86399, 86400, 951782399, 951782400, 951868800,
                                      1709251199, 2147483647, -2147483647 - 1};
    long long lo = sizeof(time_t) < 8 ? INT32_MIN : -2208988800LL;
    long long hi = sizeof(time_t) < 8 ? INT32_MAX : 13569465600LL;
    int bad = 0, n = 0;
    group = "utc_date";
    for (long long t = lo; t <= hi; t += 99LL * 3600 + 7, n++) bad += !utc_date_ok(t);
    for (size_t i = 0; i < ARRAY_LEN(edges); i++, n++) bad += !utc_date_ok(edges[i]);
    if (sizeof(time_t) >= 8) /* 2100-02-28/03-01 (no leap day), 2400-02-29 (one) */
        n += 3, bad += !utc_date_ok(4107542399LL) + !utc_date_ok(4107542400LL) +
                       !utc_date_ok(13574563200LL);
    CHECK(bad == 0 && n > 10000, "%d of %d instants differ from gmtime_r", bad, n);
}

static void test_cert_local(void)
{
    static struct keypair kp, kp2;
    static uint8_t c[X509_CERT_MAX], c2[X509_CERT_MAX], t[X509_CERT_MAX + 16];
    struct certparts cp;
    group = "certificate";
    rnd_test_seed(1);
    CHECK(x509_ec_keygen(&kp.sk, kp.skbuf, &kp.pk, kp.pkbuf) == 0, "keygen");
    CHECK(kp.sk.curve == BR_EC_secp256r1 && kp.sk.xlen == 32 && kp.pk.qlen == 65 &&
              kp.pk.q[0] == 4, "P-256 key pair");
    CHECK(x509_ec_keygen(&kp2.sk, kp2.skbuf, &kp2.pk, kp2.pkbuf) == 0 &&
              memcmp(kp.pkbuf, kp2.pkbuf, 65) != 0, "second key pair differs");

    size_t n = x509_selfsigned(c, sizeof c, &kp.sk, &kp.pk, "alknet.example", 1700000000);
    CHECK(n > 300 && n <= X509_CERT_MAX, "length %zu", n);
    CHECK(cert_parts(c, n, &cp) == 0, "structure");

    /* BearSSL's own decoder: key, CA flag, signature algorithm, subject */
    static br_x509_decoder_context dc;
    uint8_t dn[256];
    struct wr dw = wr_init(dn, sizeof dn);
    br_x509_decoder_init(&dc, dn_append, &dw);
    br_x509_decoder_push(&dc, c, n);
    br_x509_pkey *pkey = br_x509_decoder_get_pkey(&dc);
    CHECK(br_x509_decoder_last_error(&dc) == 0 && pkey, "br_x509_decoder: error %d",
          br_x509_decoder_last_error(&dc));
    if (pkey)
        CHECK(pkey->key_type == BR_KEYTYPE_EC && pkey->key.ec.curve == BR_EC_secp256r1 &&
                  pkey->key.ec.qlen == 65 && memcmp(pkey->key.ec.q, kp.pk.q, 65) == 0,
              "decoded public key");
    CHECK(!br_x509_decoder_isCA(&dc), "not a CA");
    CHECK(br_x509_decoder_get_signer_key_type(&dc) == BR_KEYTYPE_EC &&
              br_x509_decoder_get_signer_hash_id(&dc) == br_sha256_ID, "signed ECDSA/SHA-256");
    static const uint8_t want_dn[] = {0x30, 0x19, 0x31, 0x17, 0x30, 0x15, 0x06, 0x03, 0x55, 0x04,
                                      0x03, 0x0c, 0x0e, 'a', 'l', 'k', 'n', 'e', 't', '.',
                                      'e', 'x', 'a', 'm', 'p', 'l', 'e'};
    CHECK(!dw.bad && dw.len == sizeof want_dn && memcmp(dn, want_dn, dw.len) == 0, "subject DN");

    /* the signature, checked by BearSSL's verifier over the TBS bytes */
    uint8_t h[32];
    sha256(h, cp.tbs.p, cp.tbs.n);
    CHECK(br_ecdsa_i31_vrfy_asn1(&br_ec_prime_i31, h, 32, &kp.pk, cp.sig.p, cp.sig.n) == 1,
          "signature verifies");
    h[0] ^= 1;
    CHECK(br_ecdsa_i31_vrfy_asn1(&br_ec_prime_i31, h, 32, &kp.pk, cp.sig.p, cp.sig.n) == 0,
          "signature over other bytes does not");
    CHECK(cp.serial.n == 16 && cp.serial.p[0] >= 0x40 && cp.serial.p[0] < 0x80, "serial");

    /* the pin: SHA-256 of SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING } */
    static const uint8_t spki_hdr[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                       0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                       0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    uint8_t spki[26 + 65], want[32], got[32];
    memcpy(spki, spki_hdr, 26), memcpy(spki + 26, kp.pk.q, 65);
    sha256(want, spki, sizeof spki);
    CHECK(x509_spki_sha256(c, n, got) == 0 && memcmp(got, want, 32) == 0, "spki sha256");

    /* validity (RFC 5280 4.1.2.5) at chosen instants */
    static const struct {
        long long now;
        uint8_t nbtag;
        const char *nb;
        uint8_t natag;
        const char *na;
    } tv[] = {
        {1700000000, 0x17, "231113221320Z", 0x17, "331114221320Z"},
        {1709208000, 0x17, "240228120000Z", 0x17, "340228120000Z"}, /* 29 Feb 2024 */
        {2208988800, 0x17, "391231000000Z", 0x18, "20500101000000Z"},
        {2524608000, 0x17, "491231000000Z", 0x18, "20600101000000Z"},
        {2524694400, 0x18, "20500101000000Z", 0x18, "20600102000000Z"},
        {0, 0x17, "691231000000Z", 0x17, "800101000000Z"},
        {253068278400LL, 0x18, "99890531000000Z", 0x18, "99990601000000Z"},
    };
    for (size_t i = 0; i < ARRAY_LEN(tv); i++) {
        if (sizeof(time_t) < 8 && (tv[i].now > INT32_MAX)) continue;
        size_t m = x509_selfsigned(c2, sizeof c2, &kp.sk, &kp.pk, "a", (time_t)tv[i].now);
        int ok = m > 0 && cert_parts(c2, m, &cp) == 0;
        CHECK(ok && cp.nbtag == tv[i].nbtag && str_is(cp.notbefore, tv[i].nb) &&
                  cp.natag == tv[i].natag && str_is(cp.notafter, tv[i].na),
              "now %lld: %s .. %s", tv[i].now, ok ? log_str(cp.notbefore) : "-",
              ok ? log_str(cp.notafter) : "-");
    }
    CHECK(x509_selfsigned(c2, sizeof c2, &kp.sk, &kp.pk, "a", (time_t)-1) == 0, "now < 0");
    if (sizeof(time_t) >= 8)
        CHECK(x509_selfsigned(c2, sizeof c2, &kp.sk, &kp.pk, "a", (time_t)253402300799LL) == 0,
              "not after year 9999");

    /* names */
    static const struct {
        const char *cn;
        int ok;
    } nv[] = {
        {"alknet", 1},
        {"a-b.c-d.example", 1},
        {"0123456789012345678901234567890123456789012345678901234567890123", 1},
        {"01234567890123456789012345678901234567890123456789012345678901234", 0},
        {"", 0},
        {"a b", 0},
        {"a_b", 0},
        {"\xc3\xbc", 0},
        {"*.example", 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(nv); i++) {
        size_t m = x509_selfsigned(c2, sizeof c2, &kp.sk, &kp.pk, nv[i].cn, 1700000000);
        CHECK((m > 0) == nv[i].ok, "cn '%s': %zu", nv[i].cn, m);
    }
    /* keys that are not a pair, or not P-256 */
    CHECK(x509_selfsigned(c2, sizeof c2, &kp.sk, &kp2.pk, "a", 1700000000) == 0, "mismatched pk");
    br_ec_public_key pk3 = kp.pk;
    pk3.curve = BR_EC_secp384r1;
    CHECK(x509_selfsigned(c2, sizeof c2, &kp.sk, &pk3, "a", 1700000000) == 0, "P-384 label");

    /* every capacity short of the length fails, the length itself works
     * (same serial each time, so the same signature and length) */
    rnd_test_seed(9);
    n = x509_selfsigned(c2, sizeof c2, &kp.sk, &kp.pk, "alknet.example", 1700000000);
    size_t nbad = 0;
    for (size_t cap = 0; cap < n; cap++) {
        rnd_test_seed(9);
        if (x509_selfsigned(t, cap, &kp.sk, &kp.pk, "alknet.example", 1700000000) != 0) nbad++;
    }
    CHECK(nbad == 0, "%zu short capacities accepted", nbad);
    rnd_test_seed(9);
    CHECK(x509_selfsigned(t, n, &kp.sk, &kp.pk, "alknet.example", 1700000000) == n &&
              memcmp(t, c2, n) == 0, "cap = length");
    n = x509_selfsigned(c, sizeof c, &kp.sk, &kp.pk, "alknet.example", 1700000000);

    /* reproducible from the random source (RFC 6979 signatures) */
    rnd_test_seed(77);
    x509_ec_keygen(&kp2.sk, kp2.skbuf, &kp2.pk, kp2.pkbuf);
    size_t m1 = x509_selfsigned(c2, sizeof c2, &kp2.sk, &kp2.pk, "alknet", 1700000000);
    rnd_test_seed(77);
    x509_ec_keygen(&kp2.sk, kp2.skbuf, &kp2.pk, kp2.pkbuf);
    size_t m2 = x509_selfsigned(t, sizeof t, &kp2.sk, &kp2.pk, "alknet", 1700000000);
    CHECK(m1 && m1 == m2 && memcmp(c2, t, m1) == 0, "deterministic from the seed");
    wipe(kp2.skbuf, sizeof kp2.skbuf);

    /* x509_spki_sha256 on what is not a certificate */
    group = "spki";
    nbad = 0;
    for (size_t k = 0; k < n; k++)
        if (x509_spki_sha256(c, k, got) != -1) nbad++;
    CHECK(nbad == 0, "%zu prefixes accepted", nbad);
    memcpy(t, c, n), t[n] = 0;
    CHECK(x509_spki_sha256(t, n + 1, got) == -1, "trailing byte");
    t[0] = 0x31;
    CHECK(x509_spki_sha256(t, n, got) == -1, "SET outside");
    /* outer length in 3 octets where 2 do: not DER */
    CHECK(c[1] == 0x82, "outer length form");
    t[0] = 0x30, t[1] = 0x83, t[2] = 0;
    memcpy(t + 3, c + 2, n - 2);
    CHECK(x509_spki_sha256(t, n + 1, got) == -1, "non-minimal length");
    /* indefinite length (BER, not DER) */
    t[1] = 0x80;
    memcpy(t + 2, c + 4, n - 4);
    t[n - 2] = 0, t[n - 1] = 0;
    CHECK(x509_spki_sha256(t, n, got) == -1, "indefinite length");
    /* the SPKI's own tags and lengths changed (OID contents are not interpreted) */
    size_t so = (size_t)(cert_parts(c, n, &cp) == 0 ? cp.spki.p - c : 0);
    static const size_t hdr_at[] = {0, 1, 2, 3, 23, 24};
    nbad = 0;
    for (size_t k = 0; k < ARRAY_LEN(hdr_at) && so; k++) {
        memcpy(t, c, n);
        t[so + hdr_at[k]] ^= 0x01;
        if (x509_spki_sha256(t, n, got) != -1) nbad++;
    }
    CHECK(so && nbad == 0, "SPKI header changes accepted: %zu", nbad);
    /* a v1 certificate (no version field) still gives the same pin */
    struct wr w = wr_init(t, sizeof t);
    size_t outer = der_open(&w, 0x30), tbs = der_open(&w, 0x30);
    wr_bytes(&w, cp.tbs.p + 4 + 5, cp.tbs.n - 4 - 5); /* TBS header 30 82 xx xx, version a0 03 02 01 02 */
    der_close(&w, tbs);
    wr_bytes(&w, cp.tbs.p + cp.tbs.n, (size_t)(c + n - (cp.tbs.p + cp.tbs.n)));
    der_close(&w, outer);
    CHECK(!w.bad && x509_spki_sha256(t, w.len, got) == 0 && memcmp(got, want, 32) == 0,
          "v1 certificate");
    CHECK(x509_spki_sha256(NULL, 0, got) == -1, "empty");
    wipe(kp.skbuf, sizeof kp.skbuf);
}

/* ---- interop with openssl(1) ---- */

static char tmpdir[64];

/* Runs a shell command (stderr joined to stdout) and keeps its output;
 * returns the exit status, -1 if it could not run. */
static ALK_PRINTF(3, 4) int run(char *out, size_t cap, const char *fmt, ...)
{
    char body[2048], cmd[2100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    fmt_s(cmd, sizeof cmd, "( %s ) 2>&1", body);
    fflush(stdout);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t o = 0, r;
    char sink[512];
    while ((r = fread(o + 1 < cap ? out + o : sink, 1, o + 1 < cap ? cap - 1 - o : sizeof sink,
                      f)) > 0)
        if (o + 1 < cap) o += r;
    if (cap) out[o] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int write_file(const char *name, const void *p, size_t n)
{
    char path[256];
    fmt_s(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}
static size_t read_file(const char *name, uint8_t *p, size_t cap)
{
    char path[256];
    fmt_s(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(p, 1, cap, f);
    fclose(f);
    return n;
}
static int write_pem(const char *name, const char *banner, const void *der, size_t n)
{
    static char pem[8192];
    size_t m = br_pem_encode(NULL, der, n, banner, BR_PEM_LINE64);
    if (m >= sizeof pem) return -1;
    br_pem_encode(pem, der, n, banner, BR_PEM_LINE64);
    return write_file(name, pem, m);
}

/* The --tls-pin value openssl computes, "base64\n" as printed. */
static void openssl_pin(const char *der_file, char *out, size_t cap)
{
    run(out, cap,
        "openssl x509 -inform DER -in %s/%s -pubkey -noout | openssl pkey -pubin -outform DER"
        " | openssl dgst -sha256 -binary | base64",
        tmpdir, der_file);
    out[strcspn(out, "\r\n")] = 0;
}
static void our_pin(const uint8_t *der, size_t n, char out[64])
{
    uint8_t h[32];
    out[0] = 0;
    if (x509_spki_sha256(der, n, h) == 0) b64_enc(out, h, 32, 1);
}

/* ---- a real TLS 1.2 handshake with the generated certificate ---- */

struct peek {
    int fd;
    const uint8_t *p;
    size_t n, off;
};
/* BearSSL's read callback: first the bytes tls_hello_parse() looked at,
 * then the socket, as --tls-listen will do. */
static int peek_read(void *ctx, unsigned char *buf, size_t len)
{
    struct peek *k = ctx;
    if (k->off < k->n) {
        size_t t = MIN(len, k->n - k->off);
        memcpy(buf, k->p + k->off, t);
        k->off += t;
        return (int)t;
    }
    for (;;) {
        ssize_t r = read(k->fd, buf, len);
        if (r < 0 && errno == EINTR) continue;
        return r <= 0 ? -1 : (int)r;
    }
}
static int peek_write(void *ctx, const unsigned char *buf, size_t len)
{
    struct peek *k = ctx;
    for (;;) {
        ssize_t r = write(k->fd, buf, len);
        if (r < 0 && errno == EINTR) continue;
        return r <= 0 ? -1 : (int)r;
    }
}

/*
 * The server side, in a child process: for each connection, read until
 * tls_hello_parse() decides; a hello offering alknet-ssh goes to a BearSSL
 * server (full EC profile, our certificate and key, ALPN alknet-ssh),
 * which reads "ping\n" and answers "pong <alpn>\n"; any other visitor is
 * closed without a byte (no --fallback here). Exit status: 0, or a code
 * naming the first failure.
 */
static int serve(int lfd, unsigned conns, const uint8_t *cert, size_t certlen,
                 const br_ec_private_key *sk)
{
    static br_ssl_server_context sc;
    static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
    static const char *const alpn[] = {"alknet-ssh"};
    br_x509_certificate chain = {(unsigned char *)cert, certlen};
    alarm(120);
    for (unsigned i = 0; i < conns; i++) {
        static uint8_t buf[TLS_HELLO_MAX];
        struct tls_hello h;
        size_t have = 0;
        int rc = 0;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) return 10;
        while (rc == 0) {
            ssize_t r = read(fd, buf + have, sizeof buf - have);
            if (r <= 0) return 11;
            have += (size_t)r;
            rc = tls_hello_parse(buf, have, &h);
        }
        if (rc != 1) return 12;
        if (!tls_hello_has_alpn(&h, "alknet-ssh")) { /* a prober: nothing sent */
            close(fd);
            continue;
        }
        if (strcmp(h.sni, "alknet.example") != 0) return 13;
        br_ssl_server_init_full_ec(&sc, &chain, 1, BR_KEYTYPE_EC, sk);
        br_ssl_engine_set_protocol_names(&sc.eng, (const char **)alpn, 1);
        br_ssl_engine_set_buffer(&sc.eng, iobuf, sizeof iobuf, 1);
        if (!br_ssl_server_reset(&sc)) return 14;
        struct peek pk = {fd, buf, have, 0};
        br_sslio_context io;
        br_sslio_init(&io, &sc.eng, peek_read, &pk, peek_write, &pk);
        char line[64];
        size_t o = 0;
        while (o < sizeof line - 1) {
            int r = br_sslio_read(&io, line + o, 1);
            if (r <= 0) return 15 + (br_ssl_engine_last_error(&sc.eng) ? 100 : 0);
            if (line[o++] == '\n') break;
        }
        line[o] = 0;
        if (strcmp(line, "ping\n") != 0) return 16;
        const char *sel = br_ssl_engine_get_selected_protocol(&sc.eng);
        char reply[64];
        fmt_s(reply, sizeof reply, "pong %s\n", sel ? sel : "-");
        if (br_sslio_write_all(&io, reply, strlen(reply)) < 0 || br_sslio_close(&io) < 0)
            return 17;
        close(fd);
    }
    return 0;
}

static void test_openssl(void)
{
    static struct keypair kp;
    static uint8_t c[X509_CERT_MAX], k8[512], der[4096];
    char out[16384], pin[64], pin2[128];
    group = "openssl";
    if (run(out, sizeof out, "openssl version") != 0) {
        printf("skip: openssl(1) not found, interop checks not run\n");
        return;
    }
    rnd_test_seed(2);
    x509_ec_keygen(&kp.sk, kp.skbuf, &kp.pk, kp.pkbuf);
    time_t now = time(NULL);
    size_t n = x509_selfsigned(c, sizeof c, &kp.sk, &kp.pk, "alknet.example", now);
    size_t kn = br_encode_ec_pkcs8_der(k8, &kp.sk, &kp.pk);
    CHECK(n && kn && write_file("c.der", c, n) == 0 && write_pem("c.pem", "CERTIFICATE", c, n) == 0 &&
              write_pem("k.pem", "PRIVATE KEY", k8, kn) == 0, "files written in %s", tmpdir);
    wipe(k8, sizeof k8);

    int st = run(out, sizeof out, "openssl x509 -inform DER -in %s/c.der -text -noout", tmpdir);
    static const char *const want[] = {
        "Version: 3 (0x2)",           "Signature Algorithm: ecdsa-with-SHA256",
        "Issuer: CN = alknet.example", "Subject: CN = alknet.example",
        "NIST CURVE: P-256",          "X509v3 Basic Constraints: critical",
        "CA:FALSE",                   "X509v3 Key Usage: critical",
        "Digital Signature",          "DNS:alknet.example",
    };
    CHECK(st == 0, "openssl x509 -text: %d\n%s", st, out);
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        CHECK(strstr(out, want[i]) != NULL, "x509 -text lacks '%s'", want[i]);
    {
        /* validity as openssl prints it */
        time_t b = now - 86400;
        struct tm tb, ta;
        char sb[64], sa[64], wb[80], wa[80];
        gmtime_r(&b, &tb), gmtime_r(&now, &ta);
        ta.tm_year += 10;
        if (ta.tm_mon == 1 && ta.tm_mday == 29) ta.tm_mday = 28 + x509_leap(ta.tm_year + 1900L);
        strftime(sb, sizeof sb, "%b %e %H:%M:%S %Y GMT", &tb);
        strftime(sa, sizeof sa, "%b %e %H:%M:%S %Y GMT", &ta);
        fmt_s(wb, sizeof wb, "Not Before: %s", sb);
        fmt_s(wa, sizeof wa, "Not After : %s", sa);
        CHECK(strstr(out, wb) != NULL, "%s", wb);
        CHECK(strstr(out, wa) != NULL, "%s", wa);
    }
    st = run(out, sizeof out, "openssl asn1parse -inform DER -in %s/c.der", tmpdir);
    CHECK(st == 0 && !strstr(out, "rror"), "asn1parse: %d\n%s", st, out);
    st = run(out, sizeof out, "openssl verify -CAfile %s/c.pem %s/c.pem", tmpdir, tmpdir);
    CHECK(st == 0 && strstr(out, ": OK"), "openssl verify (self-signed as its own anchor): %s", out);
    {
        /* the signature over the TBS bytes, by openssl dgst */
        struct certparts cp;
        CHECK(cert_parts(c, n, &cp) == 0 && write_file("tbs.der", cp.tbs.p, cp.tbs.n) == 0 &&
                  write_file("sig.der", cp.sig.p, cp.sig.n) == 0, "tbs, sig files");
        st = run(out, sizeof out,
                 "openssl x509 -inform DER -in %s/c.der -noout -pubkey > %s/pub.pem && "
                 "openssl dgst -sha256 -verify %s/pub.pem -signature %s/sig.der %s/tbs.der",
                 tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
        CHECK(st == 0 && strstr(out, "Verified OK"), "openssl dgst -verify: %s", out);
    }
    char a[2048], b2[2048];
    run(a, sizeof a, "openssl pkey -in %s/k.pem -pubout", tmpdir);
    run(b2, sizeof b2, "openssl x509 -in %s/c.pem -noout -pubkey", tmpdir);
    CHECK(strstr(a, "BEGIN PUBLIC KEY") && strcmp(a, b2) == 0, "key and certificate match");

    /* a 2050+ certificate as openssl reads it */
    if (sizeof(time_t) >= 8) {
        size_t m = x509_selfsigned(der, sizeof der, &kp.sk, &kp.pk, "late.example",
                                   (time_t)2524608000LL);
        write_file("late.der", der, m);
        st = run(out, sizeof out, "openssl x509 -inform DER -in %s/late.der -noout -dates", tmpdir);
        CHECK(st == 0 && strstr(out, "notBefore=Dec 31 00:00:00 2049 GMT") &&
                  strstr(out, "notAfter=Jan  1 00:00:00 2060 GMT"), "2050 validity: %s", out);
    }

    /* pins: ours against openssl's pipeline, for ours and openssl's certificates */
    group = "pin";
    openssl_pin("c.der", pin2, sizeof pin2);
    our_pin(c, n, pin);
    CHECK(pin[0] && strcmp(pin, pin2) == 0, "generated: ours %s, openssl %s", pin, pin2);
    static const struct {
        const char *file, *newkey;
    } ov[] = {
        {"rsa", "rsa:2048"},
        {"ec256", "ec -pkeyopt ec_paramgen_curve:P-256"},
        {"ec384", "ec -pkeyopt ec_paramgen_curve:P-384"},
        {"ed25519", "ed25519"},
    };
    for (size_t i = 0; i < ARRAY_LEN(ov); i++) {
        st = run(out, sizeof out,
                 "openssl req -x509 -newkey %s -nodes -keyout %s/%s.key -out %s/%s.pem -subj "
                 "/CN=%s.test -days 30 -addext subjectAltName=DNS:%s.test && "
                 "openssl x509 -in %s/%s.pem -outform DER -out %s/%s.der",
                 ov[i].newkey, tmpdir, ov[i].file, tmpdir, ov[i].file, ov[i].file, ov[i].file,
                 tmpdir, ov[i].file, tmpdir, ov[i].file);
        char fn[64];
        fmt_s(fn, sizeof fn, "%s.der", ov[i].file);
        size_t dn = read_file(fn, der, sizeof der);
        CHECK(st == 0 && dn > 0, "openssl req %s: %s", ov[i].newkey, out);
        openssl_pin(fn, pin2, sizeof pin2);
        our_pin(der, dn, pin);
        CHECK(pin[0] && strcmp(pin, pin2) == 0, "%s: ours %s, openssl %s", ov[i].file, pin, pin2);
    }

    /* a real peer: openssl s_client against a BearSSL server presenting the
     * certificate, behind the hello peek */
    group = "handshake";
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET, sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        CHECK(0, "listener: %s", strerror(errno));
        return;
    }
    unsigned port = ntohs(sa.sin_port);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(serve(lfd, 3, c, n, &kp.sk));
    close(lfd);
    static const char *const clients[] = {"-tls1_2", ""}; /* "": offers TLS 1.3 too */
    for (size_t i = 0; i < ARRAY_LEN(clients); i++) {
        st = run(out, sizeof out,
                 "printf 'ping\\n' | timeout 60 openssl s_client -connect 127.0.0.1:%u %s "
                 "-alpn alknet-ssh -servername alknet.example -CAfile %s/c.pem "
                 "-verify_return_error -verify_hostname alknet.example -ign_eof",
                 port, clients[i], tmpdir);
        if (getenv("UNIT_TLS_VERBOSE")) printf("---- s_client %s\n%s", clients[i], out);
        CHECK(strstr(out, "New, TLSv1.2, Cipher is ECDHE-ECDSA-") &&
                  strstr(out, "Verify return code: 0 (ok)") &&
                  strstr(out, "ALPN protocol: alknet-ssh") && strstr(out, "pong alknet-ssh"),
              "s_client %s: exit %d\n%s", clients[i], st, out);
    }
    /* a browser-like visitor: closed before anything is sent */
    st = run(out, sizeof out, "timeout 60 curl -sk https://127.0.0.1:%u/ -o /dev/null -w '%%{http_code}'",
             port);
    CHECK(st != 0 && strncmp(out, "000", 3) == 0, "curl gets nothing: %d %s", st, out);
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "server child: status %d", ws);
    wipe(kp.skbuf, sizeof kp.skbuf);
}

static void rm_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        fmt_s(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
}

/* --seeds DIR: the fuzz seeds (tests' inputs, one file each). */
static int write_seeds(const char *dir)
{
    static uint8_t b[8192], c[X509_CERT_MAX];
    static struct keypair kp;
    static const char *const alpn1[] = {"alknet-ssh"};
    snprintf(tmpdir, sizeof tmpdir, "%s", dir);
    for (size_t i = 0; i < ARRAY_LEN(hcases); i++) {
        char name[128];
        size_t n = unhex(b, sizeof b, hcases[i].hex);
        size_t o = (size_t)snprintf(name, sizeof name, "hello-");
        for (const char *q = hcases[i].name; *q && o < sizeof name - 2; q++) {
            int alnum = (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9');
            if (alnum) name[o++] = *q;
            else if (name[o - 1] != '-') name[o++] = '-';
        }
        name[o] = 0;
        if (write_file(name, b, n) < 0) return 1;
    }
    size_t n = bearssl_hello(b, sizeof b, "tunnel.example.net", alpn1, 1), cut = 60;
    static uint8_t r[TLS_HELLO_MAX + 200];
    size_t rn = reframe(r, sizeof r, b, n, &cut, 1);
    if (write_file("hello-bearssl-two-records", r, rn) < 0) return 1;
    /* the largest hello accepted: two records, last byte at TLS_HELLO_MAX */
    static uint8_t ext[TLS_HELLO_MAX], big[TLS_HELLO_MAX + 200];
    struct wr w = wr_init(ext, sizeof ext);
    memset(r, 0, sizeof r);
    x_raw(&w, 21, r, TLS_HELLO_MAX - 10 - 47 - 4);
    n = mk_hello(big, sizeof big, 0x0303, ext, w.len, 1), cut = 8000;
    rn = reframe(r, sizeof r, big, n, &cut, 1);
    if (rn != TLS_HELLO_MAX || write_file("hello-largest", r, rn) < 0) return 1;
    rnd_test_seed(3);
    x509_ec_keygen(&kp.sk, kp.skbuf, &kp.pk, kp.pkbuf);
    n = x509_selfsigned(c, sizeof c, &kp.sk, &kp.pk, "alknet.example", 1700000000);
    if (write_file("cert-alknet", c, n) < 0) return 1;
    if (sizeof(time_t) >= 8) {
        n = x509_selfsigned(c, sizeof c, &kp.sk, &kp.pk, "a", (time_t)2524694400LL);
        if (write_file("cert-alknet-2050", c, n) < 0) return 1;
    }
    wipe(kp.skbuf, sizeof kp.skbuf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0) return write_seeds(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    fmt_s(tmpdir, sizeof tmpdir, "/tmp/unit_tls.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_captured();
    test_mutations();
    test_synthetic();
    test_not_tls();
    test_bearssl_live();
    test_utc_date();
    test_cert_local();
    test_openssl();
    rm_tmpdir();
    printf("tls: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
