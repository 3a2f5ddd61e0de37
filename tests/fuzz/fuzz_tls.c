/*
 * The ClientHello peek (tls_hello_parse) and the --tls-pin hash
 * (x509_spki_sha256), SECTION 6a: the TLS parsers that see bytes from the
 * network before any handshake. Seeds: hellos captured from openssl, curl
 * and BearSSL, one split into two records, and DER certificates (ours,
 * openssl's RSA, P-256, P-384, Ed25519).
 *
 * Each input is given whole to tls_hello_parse() and x509_spki_sha256(),
 * and also cut in two where its first byte says (at d[0]/255 of the
 * length). The first part is what a first read() would have delivered, so
 * the framing contract is checked between it and the whole:
 *   prefix 1  => whole 1 with the same result (bytes after are not looked at)
 *   prefix -1 => whole -1 (a refusal never turns into acceptance)
 *   whole 0   => prefix 0
 * and a result of 1 must hold only well-formed strings. A broken contract
 * aborts, so libFuzzer reports it as a crash.
 */
#include "fuzz.h"

#ifdef FUZZ_SEEDS
static void fz_seeds(const char *dir) { (void)dir; } /* the seeds are captured (unit_tls --seeds) */
#else
static void fz_hello_sane(const struct tls_hello *h)
{
    if (h->nalpn > TLS_ALPN_MAX) abort();
    if (!memchr(h->sni, 0, sizeof h->sni)) abort();
    for (unsigned i = 0; i < h->nalpn; i++) {
        const char *z = memchr(h->alpn[i], 0, sizeof h->alpn[i]);
        if (!z || z == h->alpn[i] || !tls_hello_has_alpn(h, h->alpn[i])) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static struct tls_hello whole, first, second;
    uint8_t pin[32];
    if (n == 0) return 0;
    size_t cut = (size_t)d[0] * n / 255;
    int w = tls_hello_parse(d, n, &whole);
    int f = tls_hello_parse(d, cut, &first);
    int s = tls_hello_parse(d + cut, n - cut, &second);
    if (w == 1) fz_hello_sane(&whole);
    if (f == 1) fz_hello_sane(&first);
    if (s == 1) fz_hello_sane(&second);
    if (f == 1 && (w != 1 || memcmp(&first, &whole, sizeof whole) != 0)) abort();
    if (f == -1 && w != -1) abort();
    if (w == 0 && f != 0) abort();
    x509_spki_sha256(d, n, pin);
    x509_spki_sha256(d + cut, n - cut, pin);
    return 0;
}
#endif
