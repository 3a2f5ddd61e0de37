/*
 * Unit tests for alknet.c: the file is included whole (ALKNET_NO_MAIN), so
 * the static functions under test are the ones the program runs.
 *
 *   build/unit [VECTOR_DIR]         run every group; last line "unit: N passed, M failed"
 *   build/unit ed-pub SEEDHEX       print the Ed25519 public key
 *   build/unit ed-sign SEEDHEX FILE print the signature of FILE's bytes
 *   build/unit ed-verify PKHEX SIGHEX FILE   exit 0 if valid, 1 if not
 *   build/unit bench                Ed25519 and Poly1305 speed (not a test)
 * (the last three let tests/test_crypto.py cross-check against openssl)
 */
#include "unit.h"

#include <sys/socket.h>

/* ---- the one vector loader: "# comment", "name = hex", blank line between records ---- */

#define VMAX 24
struct vrec {
    char title[200];
    int n;
    char name[VMAX][32];
    uint8_t *val[VMAX];
    size_t len[VMAX];
};

/* Exactly n hex characters (no gaps) to bytes; stops at the first that is not. */
static size_t unhex_n(uint8_t *out, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int a = hex_digit(s[i]), b = hex_digit(s[i + 1]);
        if (a < 0 || b < 0) break;
        out[o++] = (uint8_t)(a << 4 | b);
    }
    return o;
}

/* Loads every record of dir/file; returns the count (0 if missing). */
static int vec_load(const char *dir, const char *file, struct vrec **out)
{
    char path[PATH_MAX], err[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = file_read(path, 8u << 20, NULL, err, sizeof err);
    if (!text) {
        printf("FAIL cannot load %s: %s\n", path, err);
        failed++;
        *out = NULL;
        return 0;
    }
    struct vrec *v = NULL;
    int nv = 0, open = 0;
    char title[200] = "";
    for (char *line = text; line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (line[0] == '#') {
            snprintf(title, sizeof title, "%s", line + 1);
        } else if (!line[0]) {
            open = 0;
        } else {
            char *eq = strchr(line, '=');
            if (eq) {
                if (!open) {
                    v = realloc(v, (size_t)(nv + 1) * sizeof *v);
                    memset(&v[nv], 0, sizeof v[nv]);
                    snprintf(v[nv].title, sizeof v[nv].title, "%s", title);
                    nv++;
                    open = 1;
                }
                struct vrec *r = &v[nv - 1];
                char *k = line, *ke = eq;
                while (ke > k && ke[-1] == ' ')
                    ke--;
                const char *h = eq + 1;
                while (*h == ' ')
                    h++;
                size_t hn = strlen(h);
                while (hn > 0 && (h[hn - 1] == ' ' || h[hn - 1] == '\r'))
                    hn--;
                if (r->n < VMAX) {
                    snprintf(r->name[r->n], sizeof r->name[r->n], "%.*s", (int)(ke - k), k);
                    r->val[r->n] = malloc(hn + 1);
                    r->len[r->n] = unhex_n(r->val[r->n], h, hn);
                    if (r->len[r->n] * 2 != hn) { /* not hex (a name): keep the text */
                        memcpy(r->val[r->n], h, hn);
                        r->val[r->n][hn] = 0;
                        r->len[r->n] = hn;
                    }
                    r->n++;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    *out = v;
    return nv;
}

static const uint8_t *vget(const struct vrec *r, const char *name, size_t *len)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) {
            if (len) *len = r->len[i];
            return r->val[i];
        }
    if (len) *len = 0;
    return NULL;
}

static void vec_free(struct vrec *v, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < v[i].n; j++)
            free(v[i].val[j]);
    free(v);
}

/* ---- crypto vectors ---- */

static void t_ed25519(const char *dir)
{
    group = "ed25519";
    struct vrec *v;
    int n = vec_load(dir, "ed25519.txt", &v), valid = 0, invalid = 0;
    for (int i = 0; i < n; i++) {
        size_t skn, pkn, mn, sn, en;
        const uint8_t *sk = vget(&v[i], "sk", &skn), *pk = vget(&v[i], "pk", &pkn);
        const uint8_t *m = vget(&v[i], "msg", &mn), *sig = vget(&v[i], "sig", &sn);
        const uint8_t *ex = vget(&v[i], "expect", &en);
        int want_invalid = ex != NULL;
        if (!pk || pkn != 32 || !sig || sn != 64) {
            CHECK(0, "record %d (%s) incomplete", i, v[i].title);
            continue;
        }
        if (!want_invalid) {
            uint8_t pk2[32], sig2[64];
            valid++;
            if (sk && skn == 32) {
                ed_pubkey(pk2, sk);
                CHECK(memcmp(pk2, pk, 32) == 0, "%s: public key", v[i].title);
                ed_sign(sig2, sk, pk, m, mn);
                CHECK(memcmp(sig2, sig, 64) == 0, "%s: signature", v[i].title);
            }
            CHECK(ed_verify(sig, pk, m, mn) == 0, "%s: verify", v[i].title);
        } else {
            invalid++;
            CHECK(ed_verify(sig, pk, m, mn) != 0, "%s: must be rejected", v[i].title);
        }
    }
    CHECK(valid >= 5 && invalid >= 4, "want all RFC 8032 7.1 vectors and negative cases (%d, %d)",
          valid, invalid);
    vec_free(v, n);
}

static void t_poly1305(const char *dir)
{
    group = "poly1305";
    struct vrec *v;
    int n = vec_load(dir, "poly1305.txt", &v);
    for (int i = 0; i < n; i++) {
        size_t kn, mn, tn;
        const uint8_t *k = vget(&v[i], "key", &kn), *m = vget(&v[i], "msg", &mn),
                      *t = vget(&v[i], "tag", &tn);
        uint8_t tag[16];
        if (!k || kn != 32 || !t || tn != 16) {
            CHECK(0, "record %d incomplete", i);
            continue;
        }
        poly_26(tag, m, mn, k);
        CHECK(memcmp(tag, t, 16) == 0, "%s: 26-bit limbs", v[i].title);
#ifdef __SIZEOF_INT128__
        poly_44(tag, m, mn, k);
        CHECK(memcmp(tag, t, 16) == 0, "%s: 44-bit limbs", v[i].title);
#endif
        poly1305(tag, m, mn, k);
        CHECK(memcmp(tag, t, 16) == 0, "%s: selected", v[i].title);
    }
    CHECK(n >= 10, "want the RFC 8439 2.5.2 and A.3 vectors (%d)", n);
    /* both limb sizes agree on every length around block boundaries */
    uint8_t key[32], msg[300], t1[16], t2[16];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xf0 ^ i * 37);
    for (int i = 0; i < 300; i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    int agree = 1;
    for (size_t len = 0; len <= 300; len++) {
        poly_26(t1, msg, len, key);
        poly1305(t2, msg, len, key);
        agree &= memcmp(t1, t2, 16) == 0;
    }
    CHECK(agree, "implementations disagree for some length");
    vec_free(v, n);
}

static void t_x25519(const char *dir)
{
    group = "x25519";
    struct vrec *v;
    int n = vec_load(dir, "x25519.txt", &v), zeros = 0, pairs = 0;
    for (int i = 0; i < n; i++) {
        size_t sn, un, on;
        const uint8_t *sc = vget(&v[i], "scalar", &sn), *u = vget(&v[i], "u", &un),
                      *o = vget(&v[i], "out", &on);
        if (sc && u && o) {
            uint8_t out[32], z[32] = {0};
            int r = ci_x25519(out, sc, u);
            if (memcmp(o, z, 32) == 0) {
                zeros++;
                CHECK(r != 0, "%s: an all-zero result must be rejected", v[i].title);
            } else {
                CHECK(r == 0 && memcmp(out, o, 32) == 0, "%s", v[i].title);
            }
            continue;
        }
        const uint8_t *ask = vget(&v[i], "alice_priv", NULL), *apk = vget(&v[i], "alice_pub", NULL);
        const uint8_t *bsk = vget(&v[i], "bob_priv", NULL), *bpk = vget(&v[i], "bob_pub", NULL);
        const uint8_t *k = vget(&v[i], "k", NULL);
        if (ask && apk && bsk && bpk && k) {
            uint8_t p[32], s1[32], s2[32];
            pairs++;
            ci_x25519_base(p, ask);
            CHECK(memcmp(p, apk, 32) == 0, "alice public");
            ci_x25519_base(p, bsk);
            CHECK(memcmp(p, bpk, 32) == 0, "bob public");
            CHECK(ci_x25519(s1, ask, bpk) == 0 && memcmp(s1, k, 32) == 0, "alice shared");
            CHECK(ci_x25519(s2, bsk, apk) == 0 && memcmp(s2, k, 32) == 0, "bob shared");
        }
    }
    CHECK(zeros >= 1 && pairs == 1, "want a small-order case and the 6.1 exchange");
    vec_free(v, n);
}

static void t_chacha20(const char *dir)
{
    group = "chacha20";
    struct vrec *v;
    int n = vec_load(dir, "chacha20.txt", &v);
    for (int i = 0; i < n; i++) {
        size_t kn, nn, cn, pn, xn;
        const uint8_t *k = vget(&v[i], "key", &kn), *nonce = vget(&v[i], "nonce", &nn);
        const uint8_t *ctr = vget(&v[i], "counter", &cn), *pt = vget(&v[i], "plaintext", &pn);
        const uint8_t *ct = vget(&v[i], "ciphertext", &xn);
        if (!k || kn != 32 || !nonce || nn != 12 || !ctr || !pt || pn != xn) {
            CHECK(0, "record %d incomplete", i);
            continue;
        }
        uint32_t c0 = 0;
        for (size_t j = 0; j < cn; j++)
            c0 = c0 << 8 | ctr[j];
        uint8_t *buf = malloc(pn + 1);
        memcpy(buf, pt, pn);
        ci.chacha(k, nonce, c0, buf, pn);
        CHECK(memcmp(buf, ct, pn) == 0, "%s: selected implementation", v[i].title);
        memcpy(buf, pt, pn);
        br_chacha20_ct_run(k, nonce, c0, buf, pn);
        CHECK(memcmp(buf, ct, pn) == 0, "%s: ct implementation", v[i].title);
        free(buf);
    }
    CHECK(n >= 3, "want RFC 8439 vectors (%d)", n);
    vec_free(v, n);
    /* the eight-block code against BearSSL's on every length around its
     * 512-byte steps, at counters that wrap inside a step */
    br_chacha20_run impls[] = {ci.chacha,
#ifdef CC_WIDE
                               cc_wide,
#ifdef __x86_64__
                               cc_avx2_usable() ? cc_wide_avx2 : cc_wide,
#endif
#endif
    };
    static const uint32_t ctrs[] = {0, 1, 0xfffffffcu};
    uint8_t key[32], iv[12], a[1600], b[1600];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(7 * i + 1);
    for (int i = 0; i < 12; i++)
        iv[i] = (uint8_t)(0xa0 + i);
    int bad = 0, runs = 0;
    for (size_t k = 0; k < ARRAY_LEN(impls); k++)
        for (size_t c = 0; c < ARRAY_LEN(ctrs); c++)
            for (size_t len = 0; len <= sizeof a; len += len < 1100 ? 1 : 61) {
                for (size_t j = 0; j < len; j++)
                    a[j] = b[j] = (uint8_t)(j * 131 + len);
                uint32_t ra = impls[k](key, iv, ctrs[c], a, len);
                uint32_t rb = br_chacha20_ct_run(key, iv, ctrs[c], b, len);
                bad += memcmp(a, b, len) != 0 || ra != rb;
                runs++;
            }
    CHECK(bad == 0, "%d of %d runs differ from br_chacha20_ct_run", bad, runs);
}

/*
 * Packet protection known answers produced by OpenSSH's own cipher code
 * (see tests/vectors/openssh_aead.txt): sealing the same packet with the
 * same key, IV and sequence number must give OpenSSH's bytes; opening
 * them must give the packet back; a flipped bit must be refused.
 */
static void t_openssh_aead(const char *dir)
{
    group = "openssh-aead";
    struct vrec *v;
    int n = vec_load(dir, "openssh_aead.txt", &v);
    for (int i = 0; i < n; i++) {
        size_t cn, kn, in, sn, pn, xn;
        const uint8_t *cname = vget(&v[i], "cipher", &cn), *key = vget(&v[i], "key", &kn);
        const uint8_t *iv = vget(&v[i], "iv", &in), *seq = vget(&v[i], "seq", &sn);
        const uint8_t *plain = vget(&v[i], "plain", &pn), *sealed = vget(&v[i], "sealed", &xn);
        const struct ci_alg *a = cname ? ci_find((const char *)cname, cn) : NULL;
        if (!a || !key || kn != a->keylen || !seq || sn != 4 || !plain || xn != pn + 16) {
            CHECK(0, "record %d (%s) incomplete", i, v[i].title);
            continue;
        }
        static struct ci_dir d; /* big (AES tables): not on the stack */
        uint8_t *buf = malloc(xn);
        memset(&d, 0, sizeof d);
        ci_install(&d, a, key, iv);
        d.seq = ld32_be(seq);
        memcpy(buf, plain, pn);
        a->seal(&d, buf, pn - 4);
        CHECK(memcmp(buf, sealed, xn) == 0, "%s: seal", v[i].title);
        memset(&d, 0, sizeof d);
        ci_install(&d, a, key, iv);
        d.seq = ld32_be(seq);
        CHECK(a->len(&d, sealed) == ld32_be(plain), "%s: length", v[i].title);
        memcpy(buf, sealed, xn);
        CHECK(a->open(&d, buf, pn - 4) == 0 && memcmp(buf, plain, pn) == 0, "%s: open", v[i].title);
        memset(&d, 0, sizeof d);
        ci_install(&d, a, key, iv);
        d.seq = ld32_be(seq);
        memcpy(buf, sealed, xn);
        buf[pn / 2] ^= 1;
        CHECK(a->open(&d, buf, pn - 4) != 0, "%s: a flipped bit is refused", v[i].title);
        free(buf);
    }
    CHECK(n >= 6, "want known answers for each cipher (%d)", n);
    vec_free(v, n);
}

/* ---- the SSH key exchange, driven through the real dispatch ---- */

static struct ssh *kat_conn(void)
{
    struct ssh *c = tp_new(-1, 0, "kat");
    c->ciphers = "chacha20-poly1305@openssh.com";
    c->ph = TP_2_KEX;
    return c;
}

static void t_kex(const char *dir)
{
    group = "kex";
    struct vrec *v;
    if (vec_load(dir, "kex.txt", &v) != 1) return;
    size_t n_vc, n_vs, n_ic, n_is;
    const uint8_t *vc = vget(v, "v_c", &n_vc), *vs = vget(v, "v_s", &n_vs);
    const uint8_t *ic = vget(v, "i_c", &n_ic), *is = vget(v, "i_s", &n_is);
    const uint8_t *esk = vget(v, "esk", NULL), *qc = vget(v, "q_c", NULL),
                  *qs = vget(v, "q_s", NULL);
    const uint8_t *hsk = vget(v, "host_sk", NULL), *hpk = vget(v, "host_pk", NULL);
    const uint8_t *h = vget(v, "h", NULL);
    struct ssh *c = kat_conn();
    struct key id;
    memset(&id, 0, sizeof id);
    memcpy(id.seed, hsk, 32);
    ed_pubkey(id.pk, id.seed);
    char fp[KEY_FP_LEN];
    key_fp(hpk, fp);
    c->ident = &id, c->user = "kat", c->host = "kat", c->port = 22, c->pin = fp;
    br_sha256_init(&c->vh);
    tp_hash_str(&c->vh, vc, n_vc);
    tp_hash_str(&c->vh, vs, n_vs);
    kex_start(c);
    free(c->kx->my_init);
    c->kx->my_init = malloc(n_ic);
    memcpy(c->kx->my_init, ic, n_ic);
    c->kx->my_init_len = n_ic;
    c->rx.seq = 1; /* as if the KEXINIT was the first packet */
    CHECK(tp_dispatch(c, is, n_is) == 0 && !c->err, "server KEXINIT: %s", c->why);
    CHECK(c->strict, "strict KEX negotiated");
    memcpy(c->kx->esk, esk, 32);
    memcpy(c->kx->epk, qc, 32);
    /* REPLY: string K_S, string Q_S, string signature over the expected H */
    uint8_t rep[400], blob[KEY_BLOB_LEN], sig[64];
    key_blob(hpk, blob);
    ed_sign(sig, hsk, hpk, h, 32);
    struct wr w = wr_init(rep, sizeof rep);
    wr_u8(&w, MSG_KEX_ECDH_REPLY);
    wr_str(&w, blob, sizeof blob);
    wr_str(&w, qs, 32);
    wr_u32(&w, 4 + 11 + 4 + 64);
    wr_cstr(&w, "ssh-ed25519");
    wr_str(&w, sig, 64);
    c->rx.seq = 2;
    int r = tp_dispatch(c, rep, w.len);
    CHECK(r == 0 && !c->err, "REPLY accepted (our H matches the independent one): %s", c->why);
    CHECK(c->have_sid && memcmp(c->sid, h, 32) == 0, "session id = H");
    if (c->kx && c->kx->have_keys) {
        CHECK(memcmp(c->kx->iv_tx, vget(v, "iv_c2s", NULL), 12) == 0, "IV c2s");
        CHECK(memcmp(c->kx->iv_rx, vget(v, "iv_s2c", NULL), 12) == 0, "IV s2c");
        CHECK(memcmp(c->kx->key_tx, vget(v, "key_c2s", NULL), 64) == 0, "key c2s");
        CHECK(memcmp(c->kx->key_rx, vget(v, "key_s2c", NULL), 64) == 0, "key s2c");
        CHECK(c->tx.alg == &ci_algs[0] && c->tx.seq == 2,
              "NEWKEYS sent, strict: seq reset, then 2 auth packets");
    } else {
        CHECK(0, "no keys derived");
    }
    /* a wrong signature is refused as a host key failure */
    struct ssh *c2 = kat_conn();
    c2->ident = &id, c2->user = "kat", c2->host = "kat", c2->port = 22, c2->pin = fp;
    c2->vh = c->vh;
    kex_start(c2);
    free(c2->kx->my_init);
    c2->kx->my_init = malloc(n_ic);
    memcpy(c2->kx->my_init, ic, n_ic);
    c2->kx->my_init_len = n_ic;
    c2->rx.seq = 1;
    tp_dispatch(c2, is, n_is);
    memcpy(c2->kx->esk, esk, 32);
    memcpy(c2->kx->epk, qc, 32);
    rep[w.len - 1] ^= 1;
    tp_dispatch(c2, rep, w.len);
    CHECK(c2->err == -E_HOSTKEY, "a bad host signature is refused (%d)", c2->err);
    tp_free(c);
    tp_free(c2);
    vec_free(v, 1);
}

/* strict KEX: anything before the peer's KEXINIT, even IGNORE, is fatal */
static void t_strict(const char *dir)
{
    group = "strict-kex";
    struct vrec *v;
    if (vec_load(dir, "kex.txt", &v) != 1) return;
    size_t n_is;
    const uint8_t *is = vget(v, "i_s", &n_is);
    struct ssh *c = kat_conn();
    kex_start(c);
    uint8_t ign[] = {MSG_IGNORE, 0, 0, 0, 0};
    c->rx.seq = 1;
    CHECK(tp_dispatch(c, ign, sizeof ign) == 0, "IGNORE itself is dispatched");
    c->rx.seq = 2;
    tp_dispatch(c, is, n_is);
    CHECK(c->err == -E_PROTO && strstr(c->why, "strict"), "KEXINIT after IGNORE refused: %s",
          c->why);
    tp_free(c);
    /* during the first exchange, IGNORE after the KEXINIT is fatal too */
    c = kat_conn();
    kex_start(c);
    c->rx.seq = 1;
    tp_dispatch(c, is, n_is);
    tp_dispatch(c, ign, sizeof ign);
    CHECK(c->err == -E_PROTO, "IGNORE during the first kex refused");
    tp_free(c);
    vec_free(v, 1);
}

/* ---- negative wire cases (TinySSH's .exp tests): bytes in, error out ---- */

static int wire(const void *bytes, size_t n, int version_done, struct ssh **out)
{
    struct ssh *c = kat_conn();
    c->fd = -1;
    if (!version_done) c->ph = TP_1_VERSION;
    buf_append(&c->in, bytes, n);
    tp_input(c);
    int e = c->err;
    if (out)
        *out = c;
    else
        tp_free(c);
    return e;
}

static void t_wire(void)
{
    group = "wire";
    char line[400];
    memset(line, 'a', sizeof line);
    memcpy(line, "SSH-2.0-", 8);
    CHECK(wire(line, 300, 0, NULL) == -E_PROTO, "identification line over 255 bytes");
    CHECK(wire("SSH-2.0-x\r\n", 11, 0, NULL) == 0, "a good identification line");
    CHECK(wire("SSH-1.5-x\r\n", 11, 0, NULL) == -E_PROTO, "SSH 1.5 refused");
    CHECK(wire("hello\r\nSSH-2.0-x\r\n", 18, 0, NULL) == 0, "server lines before the version");
    uint8_t p[64] = {0};
    st32_be(p, 35001);
    CHECK(wire(p, 64, 1, NULL) == -E_PROTO, "packet length 35001");
    st32_be(p, 35004); /* a multiple of 8 minus 4, still over the limit */
    CHECK(wire(p, 64, 1, NULL) == -E_PROTO, "packet length 35004");
    st32_be(p, 13);
    CHECK(wire(p, 64, 1, NULL) == -E_PROTO, "length not a block multiple");
    st32_be(p, 12);
    p[4] = 3; /* padding under 4 */
    CHECK(wire(p, 64, 1, NULL) == -E_PROTO, "padding of 3 bytes");
    p[4] = 11; /* padding leaves no payload */
    CHECK(wire(p, 64, 1, NULL) == -E_PROTO, "padding eats the payload");
    /* a wrong tag under a real cipher */
    struct ssh *c = kat_conn();
    uint8_t key[64] = {1, 2, 3}, pkt[64] = {0};
    ci_install(&c->rx, &ci_algs[0], key, NULL);
    static struct ci_dir tx;
    memset(&tx, 0, sizeof tx);
    ci_install(&tx, &ci_algs[0], key, NULL);
    st32_be(pkt, 16);
    pkt[4] = 10;
    pkt[5] = MSG_IGNORE;
    tx.alg->seal(&tx, pkt, 16);
    pkt[4 + 16 + 3] ^= 0x40;
    buf_append(&c->in, pkt, 4 + 16 + 16);
    tp_input(c);
    CHECK(c->err == -E_MAC, "a wrong tag is refused (%d)", c->err);
    tp_free(c);
    /* an unknown message type gets UNIMPLEMENTED, not a disconnect */
    c = kat_conn();
    c->have_sid = 1, c->ph = TP_4_OPEN;
    uint8_t unk[] = {200, 1, 2};
    CHECK(tp_dispatch(c, unk, sizeof unk) == 0 && !c->err, "unknown type tolerated");
    CHECK(c->out.len > 0, "UNIMPLEMENTED queued");
    uint8_t early[] = {MSG_CHANNEL_DATA, 0, 0, 0, 0, 0, 0, 0, 0};
    c->ph = TP_3_AUTH;
    tp_dispatch(c, early, sizeof early);
    CHECK(c->err == -E_PROTO, "channel data before authentication is fatal");
    tp_free(c);
}

/* ---- reader, writer, base64 ---- */

static void t_rdwr(void)
{
    group = "rd/wr";
    uint8_t b[] = {0, 0, 0, 3, 'a', 'b', 'c', 0xff, 0xff, 0xff, 0xff};
    struct rd r = rd_init(b, 7);
    struct str s = rd_str(&r, 10);
    CHECK(str_eq(s, "abc") && rd_end(&r), "string");
    r = rd_init(b, 7);
    rd_str(&r, 2);
    CHECK(r.bad, "string over its maximum");
    r = rd_init(b + 7, 4);
    rd_str(&r, (size_t)-1);
    CHECK(r.bad, "length 2^32-1 does not wrap");
    r = rd_init(b, 3);
    rd_u32(&r);
    CHECK(r.bad && rd_u8(&r) == 0, "sticky error");
    uint8_t o[8];
    struct wr w = wr_init(o, sizeof o);
    wr_u32(&w, 1);
    wr_u32(&w, 2);
    wr_u8(&w, 3);
    CHECK(w.bad && w.len == 8, "writer overflow is sticky");
    uint8_t mp[40];
    uint8_t hi[2] = {0x80, 1}, lo[3] = {0, 0, 5};
    w = wr_init(mp, sizeof mp);
    wr_mpint(&w, hi, 2);
    CHECK(w.len == 7 && mp[3] == 3 && mp[4] == 0 && mp[5] == 0x80, "mpint with a sign byte");
    w = wr_init(mp, sizeof mp);
    wr_mpint(&w, lo, 3);
    CHECK(w.len == 5 && mp[3] == 1 && mp[4] == 5, "mpint drops leading zeros");
    char e[16];
    b64_enc(e, (const uint8_t *)"Man", 3, 1);
    CHECK(strcmp(e, "TWFu") == 0, "base64 Man");
    b64_enc(e, (const uint8_t *)"Ma", 2, 1);
    CHECK(strcmp(e, "TWE=") == 0, "base64 padding");
    b64_enc(e, (const uint8_t *)"Ma", 2, 0);
    CHECK(strcmp(e, "TWE") == 0, "base64 without padding");
    uint8_t d[8];
    CHECK(b64_dec(d, sizeof d, "TW\nFu", 5) == 3 && memcmp(d, "Man", 3) == 0, "decode with space");
    CHECK(b64_dec(d, sizeof d, "TW*u", 4) < 0, "bad character");
    CHECK(b64_dec(d, 2, "TWFu", 4) < 0, "output overflow");
    CHECK(ct_cmp("abc", "abc", 3) == 0 && ct_cmp("abc", "abd", 3) == -1, "ct_cmp");
}

/* ---- known_hosts ---- */

static void t_known_hosts(void)
{
    group = "known_hosts";
    char dir[] = "/tmp/alknet-unit-XXXXXX";
    if (!mkdtemp(dir)) return;
    char path[PATH_MAX], where[PATH_MAX + 16], err[256];
    snprintf(path, sizeof path, "%s/kh", dir);
    uint8_t k1[32], k2[32], k3[32];
    memset(k1, 1, 32), memset(k2, 2, 32), memset(k3, 3, 32);
    CHECK(kh_check(path, "a.example", 22, k1, where, sizeof where) == KH_UNKNOWN, "no file");
    CHECK(kh_add(path, "A.Example", 22, k1, err, sizeof err) == 0, "add");
    CHECK(kh_add(path, "b.example", 2222, k2, err, sizeof err) == 0, "add with port");
    CHECK(kh_check(path, "a.example", 22, k1, where, sizeof where) == KH_OK, "plain, lowercased");
    CHECK(kh_check(path, "a.example", 2222, k1, where, sizeof where) == KH_UNKNOWN, "other port");
    CHECK(kh_check(path, "b.example", 2222, k2, where, sizeof where) == KH_OK, "[host]:port");
    CHECK(kh_check(path, "b.example", 2222, k1, where, sizeof where) == KH_CHANGED &&
              strstr(where, ":2"),
          "changed, with file:line (%s)", where);
    /* patterns, negation, a hashed entry, markers and other key types */
    struct key k;
    memset(&k, 0, sizeof k);
    char line[300], b64[80];
    uint8_t blob[KEY_BLOB_LEN];
    FILE *f = fopen(path, "a");
    memcpy(k.pk, k3, 32);
    key_pub_line(&k, line, sizeof line);
    fprintf(f, "# comment\n\n*.wild.example,!bad.wild.example %s\n", line);
    fprintf(f, "ssh-rsa-host ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== other\n");
    fprintf(f, "@cert-authority *.example %s\n", line);
    /* |1|salt|HMAC-SHA1(salt, "hashed.example") */
    uint8_t salt[20], mac[20];
    memset(salt, 7, sizeof salt);
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha1_vtable, salt, sizeof salt);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, "hashed.example", 14);
    br_hmac_out(&hc, mac);
    char s64[40], m64[40];
    b64_enc(s64, salt, 20, 1);
    b64_enc(m64, mac, 20, 1);
    fprintf(f, "|1|%s|%s %s\n", s64, m64, line);
    memcpy(k.pk, k2, 32);
    key_blob(k2, blob);
    b64_enc(b64, blob, sizeof blob, 1);
    fprintf(f, "@revoked * ssh-ed25519 %s\n", b64);
    fclose(f);
    CHECK(kh_check(path, "x.wild.example", 22, k3, where, sizeof where) == KH_OK, "wildcard");
    CHECK(kh_check(path, "bad.wild.example", 22, k3, where, sizeof where) == KH_UNKNOWN, "negated");
    CHECK(kh_check(path, "hashed.example", 22, k3, where, sizeof where) == KH_OK, "hashed");
    CHECK(kh_check(path, "ssh-rsa-host", 22, k3, where, sizeof where) == KH_UNKNOWN,
          "other key types are skipped");
    CHECK(kh_check(path, "b.example", 2222, k2, where, sizeof where) == KH_REVOKED, "@revoked");
    CHECK(kh_glob("a*b?c", 5, "axxbyc") && !kh_glob("a*b?c", 5, "axxbc"), "glob");
    unlink(path);
    rmdir(dir);
}

/* ---- SOCKS5 framer on a real socket pair ---- */

static struct chan *socks_chan(int *peer)
{
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    net_nonblock(pair[0]);
    struct chan *ch = ch_new(pair[0], pair[0], CK_SOCKS);
    ch->sx = xcalloc(1, sizeof *ch->sx);
    ch->st = CH_1_SOCKS;
    *peer = pair[1];
    return ch;
}

/* Feeds `in` to the framer `step` bytes at a time; returns the final state
 * (1 done, -1 refused, 0 waiting) and what the framer sent back. */
static int socks_feed(const uint8_t *in, size_t n, size_t step, uint8_t *reply, size_t *rn,
                      struct chan **out)
{
    int peer, r = 0;
    struct chan *ch = socks_chan(&peer);
    for (size_t off = 0; off < n && r == 0; off += step) {
        size_t k = MIN(step, n - off);
        if (write(peer, in + off, k) != (ssize_t)k) break;
        sx_read(ch);
        r = ch->dead ? -1 : ch->st == CH_2_WAIT ? 1 : 0;
    }
    net_nonblock(peer);
    ssize_t got = read(peer, reply, 64);
    *rn = got > 0 ? (size_t)got : 0;
    close(peer);
    if (out)
        *out = ch;
    else
        ch_finish(ch, 0);
    return r;
}

static void t_socks(void)
{
    group = "socks5";
    uint8_t rep[64];
    size_t rn;
    struct chan *ch;
    static const uint8_t name_req[] = {5,   1,   0,   5,    1,    0,   3,   11,
                                       'e', 'x', 'a', 'm',  'p',  'l', 'e', '.',
                                       'c', 'o', 'm', 0x01, 0xbb, 'G', 'E', 'T'};
    for (size_t step = 1; step <= sizeof name_req; step += step < 4 ? 1 : 9) {
        int r = socks_feed(name_req, sizeof name_req, step, rep, &rn, &ch);
        CHECK(r == 1 && ch->host && strcmp(ch->host, "example.com") == 0 && ch->port == 443,
              "domain CONNECT in %zu-byte pieces", step);
        CHECK(rn == 2 && rep[0] == 5 && rep[1] == 0, "method reply only, nothing else yet");
        /* what arrived with the request is kept; the rest waits in the socket */
        CHECK(!ch->sx || (ch->sx->len <= 3 && memcmp(ch->sx->b, "GET", ch->sx->len) == 0),
              "early data kept (%zu)", step);
        ch_finish(ch, 0);
    }
    static const uint8_t v4[] = {5, 1, 0, 5, 1, 0, 1, 10, 1, 2, 3, 0, 80};
    CHECK(socks_feed(v4, sizeof v4, sizeof v4, rep, &rn, &ch) == 1 &&
              strcmp(ch->host, "10.1.2.3") == 0 && ch->port == 80 && !ch->sx,
          "IPv4");
    ch_finish(ch, 0);
    static const uint8_t v6[] = {5, 1, 0, 5, 1, 0, 4, 0x20, 1, 0xd, 0xb8, 0,   0,
                                 0, 0, 0, 0, 0, 0, 0, 0,    0, 1,   0x1f, 0x90};
    CHECK(socks_feed(v6, sizeof v6, 5, rep, &rn, &ch) == 1 &&
              strcmp(ch->host, "2001:db8::1") == 0 && ch->port == 8080,
          "IPv6");
    ch_finish(ch, 0);
    static const uint8_t bind[] = {5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80};
    CHECK(socks_feed(bind, sizeof bind, 100, rep, &rn, NULL) == -1 && rn == 12 && rep[3] == 7,
          "BIND: command not supported (%zu)", rn);
    static const uint8_t atyp[] = {5, 1, 0, 5, 1, 0, 9, 1, 2, 3, 4, 0, 80};
    CHECK(socks_feed(atyp, sizeof atyp, 100, rep, &rn, NULL) == -1 && rn == 12 && rep[3] == 8,
          "unknown ATYP: address type not supported");
    static const uint8_t ver[] = {4, 1, 0, 80, 1, 2, 3, 4, 0};
    CHECK(socks_feed(ver, sizeof ver, 100, rep, &rn, NULL) == -1 && rn == 8 && rep[1] == 0x5b,
          "SOCKS4 gets a SOCKS4 rejection");
    static const uint8_t noauth[] = {5, 1, 2};
    CHECK(socks_feed(noauth, sizeof noauth, 100, rep, &rn, NULL) == -1 && rn == 2 && rep[1] == 0xff,
          "no acceptable method");
    static const uint8_t badver[] = {5, 1, 0, 6, 1, 0, 1, 1, 2, 3, 4, 0, 80};
    CHECK(socks_feed(badver, sizeof badver, 100, rep, &rn, NULL) == -1 && rn == 12 && rep[3] == 1,
          "request with version 6");
    static const uint8_t empty[] = {5, 1, 0, 5, 1, 0, 3, 0, 0, 80};
    CHECK(socks_feed(empty, sizeof empty, 100, rep, &rn, NULL) == -1, "empty host name");
    /* RFC 1929 */
    sx_cfg.user = "user", sx_cfg.pass = "secret";
    static const uint8_t auth[] = {5,   2,   0,   2, 1, 4, 'u', 's', 'e', 'r', 6, 's', 'e', 'c',
                                   'r', 'e', 't', 5, 1, 0, 1,   1,   2,   3,   4, 0,   80};
    CHECK(socks_feed(auth, sizeof auth, 3, rep, &rn, &ch) == 1 && rn == 4 && rep[1] == 2 &&
              rep[3] == 0,
          "username/password accepted");
    ch_finish(ch, 0);
    static const uint8_t badpw[] = {5,   1,   2,   1, 4, 'u', 's', 'e', 'r', 6, 's', 'e', 'c',
                                    'r', 'e', 'x', 5, 1, 0,   1,   1,   2,   3, 4,   0,   80};
    CHECK(socks_feed(badpw, sizeof badpw, 100, rep, &rn, NULL) == -1 && rn == 4 && rep[3] == 1,
          "wrong password refused");
    CHECK(socks_feed(name_req, sizeof name_req, 100, rep, &rn, NULL) == -1 && rep[1] == 0xff,
          "no-auth client refused when auth is required");
    sx_cfg.user = sx_cfg.pass = NULL;
    ev_reap();
    /* open-failure reasons to SOCKS replies */
    CHECK(sx_rep_for(1, str_of("open failed")) == 2, "prohibited -> 2");
    CHECK(sx_rep_for(2, str_of("Connection refused")) == 5, "refused -> 5");
    CHECK(sx_rep_for(2, str_of("Connection timed out")) == 6, "timeout -> 6");
    CHECK(sx_rep_for(2, str_of("Network is unreachable")) == 3, "network -> 3");
    CHECK(sx_rep_for(2, str_of("No route to host")) == 4, "no route -> 4");
    CHECK(sx_rep_for(2, str_of("Name or service not known")) == 4, "name -> 4");
    CHECK(sx_rep_for(4, str_of("")) == 1, "resource shortage -> 1");
}

/* ---- command line ---- */

static void t_cfg(void)
{
    group = "cfg";
    memset(&cfg, 0, sizeof cfg);
    const struct opt *L = cfg_find_short('L', C_CONNECT);
    CHECK(cfg_apply(L, "8080:example.com:80") == NULL && cfg.nloc == 1 &&
              strcmp(cfg.loc[0].lhost, "127.0.0.1") == 0 && cfg.loc[0].lport == 8080 &&
              strcmp(cfg.loc[0].host, "example.com") == 0 && cfg.loc[0].port == 80,
          "-L short");
    CHECK(cfg_apply(L, "[::1]:8080:[2001:db8::1]:443") == NULL && cfg.nloc == 2 &&
              strcmp(cfg.loc[1].lhost, "::1") == 0 && strcmp(cfg.loc[1].host, "2001:db8::1") == 0,
          "-L with IPv6");
    CHECK(cfg_apply(L, "8080:example.com") != NULL, "-L incomplete");
    CHECK(cfg_apply(L, "99999:h:1") != NULL, "-L bad port");
    const struct opt *D = cfg_find_short('D', C_CONNECT);
    CHECK(cfg_apply(D, "1080") == NULL && strcmp(cfg.dyn[0].lhost, "127.0.0.1") == 0, "-D port");
    CHECK(cfg_apply(D, "0.0.0.0:1081") == NULL && strcmp(cfg.dyn[1].lhost, "0.0.0.0") == 0, "-D");
    CHECK(cfg_destination("me@host.example:2200") == NULL && strcmp(cfg.user, "me") == 0 &&
              strcmp(cfg.host, "host.example") == 0 && cfg.port == 2200,
          "user@host:port");
    CHECK(cfg_destination("[2001:db8::1]:22") == NULL && strcmp(cfg.host, "2001:db8::1") == 0,
          "[v6]:port");
    CHECK(cfg_destination("2001:db8::2") == NULL && strcmp(cfg.host, "2001:db8::2") == 0,
          "bare v6");
    const struct opt *c = cfg_find_short('c', C_CONNECT);
    CHECK(cfg_apply(c, "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com") == NULL, "-c");
    CHECK(cfg_apply(c, "aes128-ctr") != NULL, "-c unknown");
    const struct opt *hk = cfg_find_long("host-key", 8, C_CONNECT);
    CHECK(cfg_apply(hk, "SHA256:abc") != NULL, "short pin refused");
    const struct opt *sa = cfg_find_long("socks-auth", 10, C_CONNECT);
    CHECK(cfg_apply(sa, "nouser") != NULL && cfg_apply(sa, "u:p") == NULL, "socks-auth");
}

/* ---- properties beyond the vectors: slow references, bounds, group laws ---- */

/* ---- slow references for scalars: bit-serial reduction mod L ---- */
static void ref_modL(uint8_t out[32], const uint8_t *in, size_t n)
{
    uint32_t acc[9] = {0};
    for (size_t bit = 8 * n; bit-- > 0;) {
        for (int i = 8; i > 0; i--)
            acc[i] = acc[i] << 1 | acc[i - 1] >> 31;
        acc[0] = acc[0] << 1 | ((in[bit / 8] >> (bit % 8)) & 1);
        sc_cond_sub(acc); /* acc < 2L before, so one subtraction suffices */
    }
    for (int i = 0; i < 8; i++)
        st32_le(out + 4 * i, acc[i]);
}

static void test_scalars(void)
{
    group = "ed25519-scalars";
    uint8_t x[64], a[32], b[32], c[32], o1[32], o2[32], L[32];
    int ok = 1;
    for (int i = 0; i < 8; i++)
        st32_le(L + 4 * i, sc_L[i]);
    for (int t = 0; t < 2000; t++) {
        rnd_bytes(x, 64);
        if (t == 0) memset(x, 0xff, 64);
        if (t == 1) memset(x, 0, 64);
        if (t == 2) memset(x, 0, 64), memcpy(x, L, 32);         /* L -> 0 */
        if (t == 3) memset(x, 0, 64), memcpy(x + 32, L, 32);    /* L 2^256 */
        if (t == 4) memset(x, 0, 64), memcpy(x, L, 32), x[0]--; /* L - 1 */
        sc_reduce(o1, x);
        ref_modL(o2, x, 64);
        ok &= !memcmp(o1, o2, 32);
    }
    CHECK(ok, "sc_reduce matches bit-serial reduction (2000 inputs, edges included)");
    ok = 1;
    for (int t = 0; t < 2000; t++) {
        uint8_t prod[64] = {0};
        rnd_bytes(a, 32), rnd_bytes(b, 32), rnd_bytes(c, 32);
        if (t == 0) memset(a, 0xff, 32), memset(b, 0xff, 32), memset(c, 0xff, 32);
        for (int i = 0; i < 32; i++) { /* prod = a b + c, bytewise schoolbook */
            uint32_t carry = 0;
            for (int j = 0; j < 32; j++) {
                carry += (uint32_t)a[i] * b[j] + prod[i + j];
                prod[i + j] = (uint8_t)carry;
                carry >>= 8;
            }
            for (int k = i + 32; k < 64; k++) {
                carry += prod[k];
                prod[k] = (uint8_t)carry;
                carry >>= 8;
            }
        }
        uint32_t carry = 0;
        for (int i = 0; i < 64; i++) {
            carry += prod[i] + (i < 32 ? c[i] : 0u);
            prod[i] = (uint8_t)carry;
            carry >>= 8;
        }
        sc_muladd(o1, a, b, c);
        ref_modL(o2, prod, 64);
        ok &= !memcmp(o1, o2, 32);
    }
    CHECK(ok, "sc_muladd matches schoolbook + bit-serial reduction (2000 inputs)");
    memcpy(a, L, 32);
    ok = !sc_is_canonical(a);
    a[0]--;
    ok &= sc_is_canonical(a);
    memset(a, 0xff, 32);
    ok &= !sc_is_canonical(a);
    CHECK(ok, "sc_is_canonical: L-1 yes, L and 2^256-1 no");
}

/* ---- field and curve constants from their definitions ---- */
static int fe_eq(const fe a, const fe b)
{
    uint8_t x[32], y[32];
    fe_tobytes(x, a);
    fe_tobytes(y, b);
    return !memcmp(x, y, 32);
}

static void fe_small(fe h, int32_t v)
{
    fe_0(h);
    h[0] = v;
}

static void test_field(void)
{
    group = "ed25519-field";
    fe d, d2, t, u, one, x, y;
    uint8_t s[32], e[32];
    int ok;

    fe_frombytes(d, ge_d);
    fe_frombytes(d2, ge_d2);
    fe_small(t, 121666);
    fe_mul(t, t, d);
    fe_small(u, 121665);
    fe_add(t, t, u);
    fe_carry(t, t);
    ok = (int)fe_iszero(t);
    fe_add(t, d, d);
    ok &= fe_eq(t, d2);
    CHECK(ok, "constants: d * 121666 = -121665, 2d");

    fe_frombytes(t, ge_sqrtm1);
    fe_sq(t, t);
    fe_1(one);
    fe_add(t, t, one);
    CHECK(fe_iszero(t) && ge_sqrtm1[0] % 2 == 0, "constants: sqrt(-1)^2 = -1");

    fe_frombytes(x, ge_bx);
    fe_frombytes(y, ge_by);
    fe_small(t, 5);
    fe_mul(t, t, y);
    fe_small(u, 4);
    ok = fe_eq(t, u) && !fe_isneg(x);
    fe_sq(t, x);
    fe_sq(u, y);
    fe_sub(t, u, t); /* -x^2 + y^2 */
    fe_sq(u, x);
    fe_mul(u, u, y);
    fe_mul(u, u, y);
    fe_mul(u, u, d); /* d x^2 y^2 */
    fe_add(u, u, one);
    fe_carry(u, u);
    fe_sub(t, t, u);
    ok &= (int)fe_iszero(t);
    CHECK(ok, "constants: B = (x, 4/5), x even, on -x^2 + y^2 = 1 + d x^2 y^2");

    /* canonical encoding of values >= p and of negative limbs */
    static const struct {
        uint8_t first, last;
        int32_t want;
    } red[] = {{0xed, 0x7f, 0}, {0xee, 0x7f, 1}, {0xff, 0x7f, 18}, {0xff, 0xff, 18}};
    ok = 1;
    for (size_t i = 0; i < sizeof red / sizeof red[0]; i++) {
        memset(s, 0xff, 32);
        s[0] = red[i].first, s[31] = red[i].last;
        fe_frombytes(t, s);
        fe_small(u, red[i].want);
        ok &= fe_eq(t, u);
    }
    fe_small(t, 1);
    fe_neg(t, t);
    fe_tobytes(s, t);
    memset(e, 0xff, 32);
    e[0] = 0xec, e[31] = 0x7f;
    ok &= !memcmp(s, e, 32);
    fe_0(t);
    t[9] = -(1 << 25); /* -2^255 = -19 */
    fe_small(u, 19);
    fe_neg(u, u);
    ok &= fe_eq(t, u);
    CHECK(ok, "fe_tobytes: p, p+1, 2^255-1 (bit 255 ignored), -1, -2^255 reduce");

    ok = 1;
    for (int i = 0; i < 200; i++) {
        rnd_bytes(s, 32);
        fe_frombytes(x, s);
        fe_invert(y, x);
        fe_mul(t, x, y);
        ok &= fe_eq(t, one);
        fe_sq(u, x); /* sq = mul */
        fe_mul(t, x, x);
        ok &= fe_eq(t, u);
    }
    fe_0(x);
    fe_invert(y, x);
    ok &= (int)fe_iszero(y);
    CHECK(ok, "fe: x / x = 1 and x^2 = x x for 200 random x; 1/0 = 0");

    /* fe_mul and fe_sq at their documented input bound, |limb| <= 1.5 * 2^26:
     * results must agree with the same values carried first. Under UBSan any
     * int32 or int64 overflow inside would abort the run. */
    ok = 1;
    for (int i = 0; i < 1000; i++) {
        fe a, b, ac, bc, r1, r2;
        uint8_t rb[80];
        rnd_bytes(rb, sizeof rb);
        for (int j = 0; j < 10; j++) {
            const int32_t max = 3 << 25;
            int32_t va = (int32_t)(ld32_le(rb + 4 * j) % (2u * (uint32_t)max + 1)) - max;
            int32_t vb = (int32_t)(ld32_le(rb + 40 + 4 * j) % (2u * (uint32_t)max + 1)) - max;
            if (i % 4 == 1) va = vb = max;
            if (i % 4 == 2) va = vb = -max;
            if (i % 4 == 3) va = j % 2 ? max : -max, vb = -va;
            a[j] = va, b[j] = vb;
        }
        fe_carry(ac, a);
        fe_carry(bc, b);
        fe_mul(r1, a, b);
        fe_mul(r2, ac, bc);
        ok &= fe_eq(r1, r2);
        fe_sq(r1, a);
        fe_mul(r2, ac, ac);
        ok &= fe_eq(r1, r2);
    }
    CHECK(ok, "fe: mul and sq at the input bound 1.5 * 2^26 (1000 inputs)");
}

static void test_group(void)
{
    group = "ed25519-group";
    uint8_t s[32], e[32], k[32], a[32], b[32], c[32];
    ge P, Q;
    int ok;

    memset(s, 0, 32);
    s[0] = 1;
    ge_scalarmult_base(&P, s);
    ge_tobytes(e, &P);
    ok = !memcmp(e, ge_by, 32); /* B encodes as y with x even */
    for (int i = 0; i < 8; i++)
        st32_le(s + 4 * i, sc_L[i]);
    ge_scalarmult_base(&P, s);
    ge_tobytes(e, &P);
    memset(s, 0, 32);
    s[0] = 1;
    ok &= !memcmp(e, s, 32); /* L B = identity = (0, 1) */
    CHECK(ok, "ge: 1 B encodes as B, L B = identity");

    /* a (c B) + b B = (a c + b) B, comparing the variable-time double
     * multiplication with the constant-time one; also decode(encode(P)) = P */
    ok = 1;
    for (int t = 0; t < 100; t++) {
        uint8_t h[64];
        rnd_bytes(h, 64), sc_reduce(a, h);
        rnd_bytes(h, 64), sc_reduce(b, h);
        rnd_bytes(h, 64), sc_reduce(c, h);
        if (t == 0) memset(a, 0, 32);
        if (t == 1) memset(b, 0, 32);
        ge_scalarmult_base(&P, c);
        ge_tobytes(e, &P);
        ok &= ge_frombytes_vartime(&Q, e) == 0;
        ge_double_scalarmult_vartime(&Q, a, &Q, b);
        ge_tobytes(s, &Q);
        sc_muladd(k, a, c, b);
        ge_scalarmult_base(&P, k);
        ge_tobytes(e, &P);
        ok &= !memcmp(s, e, 32);
    }
    CHECK(ok, "ge: a (c B) + b B = (a c + b) B for 100 random a, b, c");
}

/* ---- properties of sign / verify beyond the vectors ---- */
static void test_ed_random(void)
{
    group = "ed25519-props";
    static uint8_t m[1100];
    uint8_t seed[32], pk[32], sig[64], s2[64], L[32];
    int ok = 1, rej = 1;
    for (int i = 0; i < 8; i++)
        st32_le(L + 4 * i, sc_L[i]);
    for (int t = 0; t < 300; t++) {
        size_t n = t < 100 ? (size_t)t : (size_t)t * 3;
        rnd_bytes(seed, 32);
        rnd_bytes(m, n);
        ed_pubkey(pk, seed);
        ed_sign(sig, seed, pk, m, n);
        ok &= ed_verify(sig, pk, m, n) == 0;
        if (n) { /* change one message bit */
            m[(size_t)t % n] ^= (uint8_t)(1u << (t % 8));
            rej &= ed_verify(sig, pk, m, n) == -1;
            m[(size_t)t % n] ^= (uint8_t)(1u << (t % 8));
        }
        rej &= ed_verify(sig, pk, m, n + 1) == -1; /* one more byte */
        /* S + L: same value mod L, must fail the canonical check */
        memcpy(s2, sig, 64);
        uint32_t carry = 0;
        for (int i = 0; i < 32; i++) {
            carry += (uint32_t)s2[32 + i] + L[i];
            s2[32 + i] = (uint8_t)carry;
            carry >>= 8;
        }
        rej &= ed_verify(s2, pk, m, n) == -1;
    }
    CHECK(ok, "ed25519: 300 random keys and messages (0..897 bytes) sign and verify");
    CHECK(rej, "ed25519: changed message, longer message, S + L rejected");

    /* The identity as public key: sig = (B, S = 1) verifies under the canonical
     * encoding 01 00..00 (cofactorless RFC 8032 accepts it), but the same point
     * written with y = p + 1, or with x = 0 and the sign bit set, must not decode. */
    memset(pk, 0, 32);
    pk[0] = 1;
    memcpy(sig, ge_by, 32);
    memset(sig + 32, 0, 32);
    sig[32] = 1;
    ok = ed_verify(sig, pk, m, 5) == 0;
    pk[31] = 0x80;
    ok &= ed_verify(sig, pk, m, 5) == -1;
    memset(pk, 0xff, 32);
    pk[0] = 0xee, pk[31] = 0x7f;
    ok &= ed_verify(sig, pk, m, 5) == -1;
    CHECK(ok, "ed25519: identity key accepted only in canonical form");
}

/* ---- Poly1305: the two limb layouts must agree everywhere ---- */
static void test_poly_cross(void)
{
    group = "poly1305-cross";
    static uint8_t m[1200];
    uint8_t key[32], t1[16], t2[16];
    int ok = 1, runs = 0;
    for (int t = 0; t < 4; t++) {
        for (size_t n = 0; n <= 1100; n += (n < 300 ? 1 : 37)) {
            rnd_bytes(key, 32);
            rnd_bytes(m, n);
            if (t == 1) memset(key, 0xff, 32), memset(m, 0xff, n); /* largest limbs */
            if (t == 2) memset(m, 0xff, n);
            if (t == 3) memset(key, 0xff, 16); /* r at its clamped maximum */
            poly_26(t1, m, n, key);
            poly1305(t2, m, n, key);
            ok &= !memcmp(t1, t2, 16);
            runs++;
        }
    }
    char d[80];
    snprintf(d, sizeof d, "%d keys and lengths 0..1100", runs);
#ifdef __SIZEOF_INT128__
    CHECK(ok, "%s: %s", "poly1305: poly_26 = poly_44", d);
#else
    CHECK(ok, "%s: %s", "poly1305: poly_26 = poly1305 (no __int128 in this build)", d);
#endif
}

/* The ChaCha20-Poly1305 AEAD that TLS records use (tls_poly1305_run, RFC
 * 8439 2.8): the RFC's test vector, then random keys, AAD and data against
 * BearSSL's own br_poly1305_ctmul_run, and the tag against poly_26 over the
 * padded MAC input (so both limb layouts are covered), both ways. */
static void test_poly_aead(void)
{
    group = "poly1305-aead";
    static const char *pt = "Ladies and Gentlemen of the class of '99: If I could offer you "
                            "only one tip for the future, sunscreen would be it.";
    uint8_t key[32], iv[12], aad[24], tag[16], want[16], m[400], m2[400], mac[480];
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x80 + i);
    unhex(iv, 12, "07000000 4041424344454647");
    unhex(aad, 12, "50515253c0c1c2c3c4c5c6c7");
    unhex(want, 16, "1ae10b594f09e26a7e902ecbd0600691");
    size_t n = strlen(pt);
    memcpy(m, pt, n);
    tls_poly1305_run(key, iv, m, n, aad, 12, tag, ci.chacha, 1);
    CHECK(memcmp(tag, want, 16) == 0 && m[0] == 0xd3 && m[n - 1] == 0x16, "RFC 8439 2.8.2");
    tls_poly1305_run(key, iv, m, n, aad, 12, tag, ci.chacha, 0);
    CHECK(memcmp(tag, want, 16) == 0 && memcmp(m, pt, n) == 0, "RFC 8439 2.8.2, decrypt");
    int ok = 1, runs = 0;
    for (size_t len = 0; len <= 300; len += (len < 70 ? 1 : 23)) {
        for (size_t an = 0; an <= 20; an += 5, runs++) {
            rnd_bytes(key, 32), rnd_bytes(iv, 12), rnd_bytes(aad, an), rnd_bytes(m, len);
            memcpy(m2, m, len);
            int enc = (int)(runs & 1);
            tls_poly1305_run(key, iv, m, len, aad, an, tag, ci.chacha, enc);
            br_poly1305_ctmul_run(key, iv, m2, len, aad, an, want, &br_chacha20_ct_run, enc);
            ok &= !memcmp(tag, want, 16) && !memcmp(m, m2, len);
            /* the MAC input: aad | pad | ciphertext | pad | lengths */
            uint8_t pk[32] = {0};
            size_t o = 0;
            br_chacha20_ct_run(key, iv, 0, pk, 32);
            memset(mac, 0, sizeof mac);
            memcpy(mac, aad, an), o = (an + 15) / 16 * 16;
            memcpy(mac + o, enc ? m : m2, len), o += (len + 15) / 16 * 16;
            if (!enc) br_chacha20_ct_run(key, iv, 1, mac + (an + 15) / 16 * 16, len);
            st64_le(mac + o, an), st64_le(mac + o + 8, len), o += 16;
            poly_26(want, mac, o, pk);
            ok &= !memcmp(tag, want, 16);
        }
    }
    CHECK(ok, "%d random cases: = br_poly1305_ctmul_run, = poly_26 of the MAC input", runs);
}

/* Our X25519 and the curves BearSSL gets (ci_ec) against BearSSL's own
 * implementations: random scalars and points, u with bit 255 set and
 * u >= p (both allowed by RFC 7748 5), short scalars; P-256 through
 * br_ec_prime_i31 against br_ec_p256_m31. */
static void test_ec_cross(void)
{
    group = "ec-cross";
    int ok = 1, runs = 0;
    for (int i = 0; i < 300; i++, runs++) {
        uint8_t k[32], u[32], a[32], b[32];
        rnd_bytes(k, 32), rnd_bytes(u, 32);
        if (i % 3 == 1) memset(u, 0xff, 32 - (size_t)(i % 7)); /* >= p, bit 255 set */
        if (i % 5 == 2) memset(k, 0xff, 32);
        size_t klen = i % 4 == 3 ? (size_t)(i % 32) : 32;
        memcpy(a, u, 32), memcpy(b, u, 32);
        ok &= ci_ec.mul(a, 32, k, klen, BR_EC_curve25519) == 1;
        br_ec_c25519_m31.mul(b, 32, k, klen, BR_EC_curve25519);
        ok &= memcmp(a, b, 32) == 0;
        ok &= ci_ec.mulgen(a, k, klen, BR_EC_curve25519) == 32;
        br_ec_c25519_m31.mulgen(b, k, klen, BR_EC_curve25519);
        ok &= memcmp(a, b, 32) == 0;
        x25519(a, k, u), memcpy(b, u, 32);
        br_ec_c25519_m31.mul(b, 32, k, 32, BR_EC_curve25519);
        ok &= memcmp(a, b, 32) == 0;
    }
    CHECK(ok, "x25519: %d cases = br_ec_c25519_m31", runs);
    ok = 1;
    for (int i = 0; i < 20; i++) {
        uint8_t k[32], p1[65], p2[65];
        rnd_bytes(k, 32);
        k[0] &= 0x7f; /* below the order */
        ok &= ci_ec.mulgen(p1, k, 32, BR_EC_secp256r1) == 65;
        ok &= br_ec_p256_m31.mulgen(p2, k, 32, BR_EC_secp256r1) == 65;
        ok &= memcmp(p1, p2, 65) == 0;
        ok &= ci_ec.mul(p1, 65, k, 32, BR_EC_secp256r1) == 1;
        ok &= br_ec_p256_m31.mul(p2, 65, k, 32, BR_EC_secp256r1) == 1;
        ok &= memcmp(p1, p2, 65) == 0;
    }
    size_t len;
    CHECK(ok && ci_ec.muladd(NULL, NULL, 32, NULL, 0, NULL, 0, BR_EC_curve25519) == 0 &&
              ci_ec.xoff(BR_EC_curve25519, &len) == 0 && len == 32 &&
              ci_ec.order(BR_EC_curve25519, &len)[0] == 0x7f && len == 32,
          "P-256 through ci_ec = br_ec_p256_m31; Curve25519 methods as BearSSL's");
}

/* --syslog (log_syslog): what a syslog daemon receives on its socket, also
 * after it was restarted, and nothing lost or blocked when there is none. */
static void t_syslog(void)
{
    group = "syslog";
    char path[] = "/tmp/unit_syslog.XXXXXX", got[2200], want[2200];
    int tmp = mkstemp(path);
    if (tmp >= 0) close(tmp), unlink(path);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(d >= 0 && bind(d, (struct sockaddr *)&sa, sizeof sa) == 0, "log socket");
    int level = lg.level;
    const char *saved = log_path;
    log_path = path, lg.syslog = 1, lg.level = L_INFO;
    LOG(L_INFO, 7, "hello %s", "there");
    ssize_t n = recv(d, got, sizeof got - 1, MSG_DONTWAIT);
    got[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "<30>alknet[%ld]: c7 hello there", (long)getpid());
    CHECK(strcmp(got, want) == 0, "info: '%s'", got);
    close(d), unlink(path); /* the daemon restarts */
    d = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(d >= 0 && bind(d, (struct sockaddr *)&sa, sizeof sa) == 0, "log socket again");
    char big[2048];
    memset(big, 'x', sizeof big - 1), big[sizeof big - 1] = 0;
    say("%s", big);
    n = recv(d, got, sizeof got - 1, MSG_DONTWAIT);
    got[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "<27>alknet[%ld]: %s", (long)getpid(), big);
    CHECK(strcmp(got, want) == 0, "error after a restart, 2047 bytes: %zd bytes", n);
    close(d), unlink(path); /* no daemon at all */
    LOG(L_WARN, 0, "into the void");
    CHECK(lg.fd == -1, "no socket kept without a daemon");
    log_path = saved, lg.syslog = 0, lg.level = level;
}

/* fmt_s/fmt_v, alknet's printf subset, against the C library's snprintf:
 * every conversion and flag alknet uses, the extremes of each integer
 * type, and truncation at every small capacity (bytes past the NUL must be
 * left alone, the return value is the full length). */
#define FMT_SAME(...)                                                                              \
    do {                                                                                           \
        for (size_t cap = 0; cap < 48; cap += (cap < 12 ? 1 : 35)) {                               \
            char a_[64], b_[64];                                                                   \
            memset(a_, '#', sizeof a_), memset(b_, '#', sizeof b_);                                \
            int ra_ = fmt_s(a_, cap, __VA_ARGS__), rb_ = libc_snprintf(b_, cap, __VA_ARGS__);     \
            fmt_runs++;                                                                            \
            if (ra_ != rb_ || memcmp(a_, b_, sizeof a_) != 0) {                                    \
                CHECK(0, "%s (cap %zu): '%.*s' %d, libc '%.*s' %d", #__VA_ARGS__, cap,             \
                      (int)(cap ? cap : 1) - 1, a_, ra_, (int)(cap ? cap : 1) - 1, b_, rb_);       \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
    } while (0)
/* through a pointer: gcc would warn about the truncation this test wants */
static int (*volatile libc_snprintf)(char *, size_t, const char *, ...) = snprintf;
static void t_fmt(void)
{
    group = "fmt";
    int fmt_runs = 0;
    FMT_SAME("plain text, no conversion");
    FMT_SAME("%s|%5s|%-5s|%-36s|%.*s|%.*s|%.2s", "abc", "ab", "ab", "left", 3, "abcdef", 0, "x",
             "xyz");
    FMT_SAME("%d %d %d %d %d", 0, 1, -1, INT_MIN, INT_MAX);
    FMT_SAME("%i %5d %-5d| %05d %05d %*d|%*d|", 42, -42, -42, 42, -42, 6, 7, -6, 7);
    FMT_SAME("%u %u %x %02x %02x %x %o %04o", 0u, UINT_MAX, 255u, 5u, 255u, UINT_MAX, 8u, 0644u);
    FMT_SAME("%ld %ld %ld %lu %lu", 0L, LONG_MIN, LONG_MAX, 0UL, ULONG_MAX);
    FMT_SAME("%lld %lld %llu %llu %lld", LLONG_MIN, LLONG_MAX, 0ULL, ULLONG_MAX, -1LL);
    FMT_SAME("%zu %zu %zu", (size_t)0, (size_t)1234567, SIZE_MAX);
    FMT_SAME("%02ld:%02ld:%02ld.%03ld %04ld-%02ld", 1L, 22L, 333L, 7L, 2026L, -3L);
    FMT_SAME("%c%c%c %% %%%s%%", 'a', '%', ' ', "x");
    FMT_SAME("\\x%02x c%u [%s]:%u %s%s: %s", 0x1f, 17u, "::1", 22u, "c1 ", "fn", "msg");
    FMT_SAME("%-5s %s%s", "error", "", "text");
    CHECK(fmt_runs > 100, "%d comparisons with snprintf", fmt_runs);
}

/* The longest run of zero groups in a, and whether another run is as long
 * (RFC 5952 4.2.3 then takes the first; musl does not). */
static int zero_run_tie(const uint8_t a[16])
{
    int best = 1, ties = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && !a[2 * j] && !a[2 * j + 1])
            j++;
        if (j - i > best)
            best = j - i, ties = 0;
        else if (j - i == best && best > 1)
            ties = 1;
        i = j > i ? j : i + 1;
    }
    return ties;
}

/* net_ntop against the C library's inet_ntop: IPv4, IPv6 with zero runs
 * of every length and place (random groups of 0 and 1), mapped addresses.
 * Left to the RFC 5952 examples: ties between zero runs, and the deprecated
 * IPv4-compatible form (::a.b.c.d), which glibc writes that way and musl
 * and RFC 5952 do not. */
static void t_ntop(void)
{
    group = "ntop";
    static const struct {
        const char *in, *out;
    } rfc[] = {
        {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"}, /* 4.2.3: the first of two runs */
        {"2001:0db8::0001", "2001:db8::1"},            /* 4.1, 4.3 */
        {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, /* 4.2.2: one 0 stays */
        {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},          /* 5 */
        {"::102:304", "::102:304"},
        {"::", "::"},
        {"1::", "1::"},
    };
    for (size_t i = 0; i < ARRAY_LEN(rfc); i++) {
        uint8_t a[16];
        char t[64] = "";
        if (inet_pton(AF_INET6, rfc[i].in, a) == 1) net_ntop(AF_INET6, a, t, sizeof t);
        CHECK(strcmp(t, rfc[i].out) == 0, "%s: %s", rfc[i].in, t);
    }
    int ok = 1, runs = 0;
    for (int i = 0; i < 3000; i++) {
        uint8_t a[16];
        char ours[64], libc[64];
        rnd_bytes(a, 16);
        for (int g = 0; g < 8 && i % 4; g++) /* mostly zeros and small groups */
            if (a[2 * g] & 1)
                a[2 * g] = a[2 * g + 1] = 0;
            else if (a[2 * g] & 2)
                a[2 * g] = 0;
        if (i % 7 == 0) memset(a, 0, 10), a[10] = a[11] = 0xff;
        if (i % 11 == 0) memset(a, 0, 16 - (size_t)(i % 17));
        static const uint8_t z[12];
        int compat = memcmp(a, z, 12) == 0 && (a[12] || a[13]);
        int af = i % 5 == 0 ? AF_INET : AF_INET6;
        if (af == AF_INET6 && (compat || zero_run_tie(a))) continue;
        net_ntop(af, a, ours, sizeof ours);
        ok &= inet_ntop(af, a, libc, sizeof libc) && strcmp(ours, libc) == 0;
        if (strcmp(ours, libc) != 0) printf("ntop: %s, libc %s\n", ours, libc);
        runs++;
    }
    CHECK(ok && runs > 1500, "%d addresses as inet_ntop writes them", runs);
}

/* ---- bench ---- */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_poly(const char *name,
                       void (*f)(uint8_t *, const uint8_t *, size_t, const uint8_t *))
{
    static uint8_t m[32768];
    uint8_t key[32], tag[16];
    int iters = 0;
    rnd_bytes(key, 32);
    rnd_bytes(m, sizeof m);
    double t0 = now(), t;
    do {
        for (int i = 0; i < 100; i++)
            f(tag, m, sizeof m, key);
        iters += 100;
    } while ((t = now() - t0) < 0.5);
    double mbs = (double)iters * sizeof m / t / 1e6;
    printf("%-8s %8.0f MB/s  %.2f ns/byte (32 KiB messages)\n", name, mbs, 1e3 / mbs);
}

/* One direction of each SSH cipher as the transport uses it: seal a 32 KiB
 * packet in place (ci_algs[].seal), the packets one after another. */
static void bench_seal(void)
{
    static uint8_t pkt[4 + 32768 + 16];
    uint8_t key[64], iv[12];
    rnd_bytes(key, sizeof key);
    rnd_bytes(iv, sizeof iv);
    for (size_t a = 0; a < ARRAY_LEN(ci_algs); a++) {
        struct ci_dir d = {0};
        ci_install(&d, &ci_algs[a], key, iv);
        int iters = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < 50; i++) {
                st32_be(pkt, 32768);
                ci_algs[a].seal(&d, pkt, 32768);
                d.seq++;
            }
            iters += 50;
        } while ((t = now() - t0) < 0.5);
        double mbs = (double)iters * 32768 / t / 1e6;
        printf("seal %-30s %6.0f MB/s  %.2f ns/byte (32 KiB packets)\n", ci_algs[a].name, mbs,
               1e3 / mbs);
    }
}

static void bench(void)
{
    uint8_t seed[32], pk[32], sig[64], m[64];
    volatile int sink = 0;
    rnd_bytes(seed, 32);
    rnd_bytes(m, 64);
    ed_pubkey(pk, seed);
    for (int op = 0; op < 3; op++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < 50; i++) {
                if (op == 0) ed_pubkey(pk, seed);
                if (op == 1) ed_sign(sig, seed, pk, m, sizeof m);
                if (op == 2) sink += ed_verify(sig, pk, m, sizeof m);
            }
            iters += 50;
        } while ((t = now() - t0) < 0.5);
        static const char *const names[] = {"ed_pubkey", "ed_sign", "ed_verify"};
        printf("%-10s %8.1f us/op (%d ops)\n", names[op], t / iters * 1e6, iters);
    }
    (void)sink;
#ifdef __SIZEOF_INT128__
    bench_poly("poly_44", poly_44);
#endif
    bench_poly("poly_26", poly_26);
    bench_seal();
}

/* ---- CLI modes for the openssl cross-check ---- */

static int cli(int argc, char **argv)
{
    uint8_t seed[32], pk[32], sig[64];
    char err[256], hex[129];
    size_t n = 0;
    if (argc == 3 && strcmp(argv[1], "ed-pub") == 0 && unhex_n(seed, argv[2], 64) == 32) {
        ed_pubkey(pk, seed);
        for (int i = 0; i < 32; i++)
            printf("%02x", pk[i]);
        printf("\n");
        return 0;
    }
    char *m =
        argc == 4 || argc == 5 ? file_read(argv[argc - 1], 1u << 24, &n, err, sizeof err) : NULL;
    if (argc == 4 && strcmp(argv[1], "ed-sign") == 0 && m && unhex_n(seed, argv[2], 64) == 32) {
        ed_pubkey(pk, seed);
        ed_sign(sig, seed, pk, (uint8_t *)m, n);
        for (int i = 0; i < 64; i++)
            snprintf(hex + 2 * i, 3, "%02x", sig[i]);
        printf("%s\n", hex);
        free(m);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "ed-verify") == 0 && m && unhex_n(pk, argv[2], 64) == 32 &&
        unhex_n(sig, argv[3], 128) == 64) {
        int r = ed_verify(sig, pk, (uint8_t *)m, n);
        free(m);
        printf("%s\n", r == 0 ? "valid" : "invalid");
        return r == 0 ? 0 : 1;
    }
    free(m);
    fprintf(stderr, "usage: unit [VECTOR_DIR] | ed-pub SEED | ed-sign SEED FILE | "
                    "ed-verify PK SIG FILE\n");
    return 2;
}

static void noop(void) {}
static void noop_sig(int sig) { (void)sig; }
static void noop_conn(struct ssh *c) { (void)c; }
static void noop_stream(const struct chan *ch) { (void)ch; }
static const struct ev_role test_role = {noop, noop_sig, noop_conn, noop_stream, noop};

int main(int argc, char **argv)
{
    role = &test_role;
    if (argc == 2 && strcmp(argv[1], "bench") == 0) {
        ci_init();
        rnd_test_seed(2);
        bench();
        return 0;
    }
    if (argc >= 3) return cli(argc, argv);
    const char *dir = argc == 2 ? argv[1] : "tests/vectors";
    ci_init();
    rnd_test_seed(1);
    lg.level = L_ERR - 1; /* the cases below fail on purpose: keep the log quiet */
    ev.now = now_ms();
    t_ed25519(dir);
    test_field();
    test_scalars();
    test_group();
    test_ed_random();
    t_poly1305(dir);
    test_poly_cross();
    test_poly_aead();
    t_x25519(dir);
    test_ec_cross();
    t_chacha20(dir);
    t_openssh_aead(dir);
    t_kex(dir);
    t_strict(dir);
    t_wire();
    t_rdwr();
    t_known_hosts();
    t_socks();
    t_cfg();
    t_syslog();
    t_fmt();
    t_ntop();
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
