/*
 * The key file parsers, each fed the file as text; byte 0 chooses which:
 *   0 an OpenSSH private key        1 a public key line
 *   2 a known_hosts file            3 an authorized_keys file
 * (the file readers in front of them only add stat() and read()).
 */
#include "fuzz.h"

#ifndef FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_world();
    if (size < 1) return 0;
    char *text = xmalloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    char err[512], where[300];
    struct key k;
    switch (data[0] % 4) {
    case 0:
        key_parse_private(text, size - 1, "fuzz", &k, err, sizeof err);
        break;
    case 1:
        if (key_parse_pub(text, &k) == 0) {
            char line[600];
            key_pub_line(&k, line, sizeof line);
        }
        break;
    case 2:
        kh_check_text(text, "fuzz", "host.example", 22, fz_host_key.pk, where, sizeof where);
        memcpy(text, data + 1, size - 1); /* kh_check_text cut it into lines */
        kh_check_text(text, "fuzz", "10.0.0.1", 2222, fz_client_key.pk, where, sizeof where);
        break;
    default: {
        struct ak a;
        struct sockaddr_in peer = {0};
        peer.sin_family = AF_INET;
        peer.sin_addr.s_addr = htonl(0xc0000207); /* 192.0.2.7 */
        ak_parse(text, "fuzz", &a);
        for (size_t i = 0; i < a.n; i++) {
            ak_from_ok(&a.e[i], (struct sockaddr *)&peer);
            ak_open_ok(&a.e[i], "example.com", 443);
            ak_open_ok(&a.e[i], "2001:db8::1", 22);
        }
        ak_find(&a, fz_client_key.pk, (struct sockaddr *)&peer);
        ak_free(&a);
    }
    }
    free(text);
    return 0;
}
#else
static void fz_seeds(const char *dir)
{
    char buf[4096], line[600], err[256];
    fz_keys();
    /* an alknet-written private key */
    char tmp[] = "/tmp/alknet-seed-XXXXXX";
    if (!mkdtemp(tmp)) abort();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/k", tmp);
    if (key_save(path, &fz_client_key, err, sizeof err) != 0) abort();
    FILE *f = fopen(path, "r");
    buf[0] = 0;
    size_t n = fread(buf + 1, 1, sizeof buf - 1, f);
    fclose(f);
    fz_write(dir, "private-alknet", buf, n + 1);
    unlink(path);
    snprintf(path, sizeof path, "%s/k.pub", tmp);
    unlink(path);
    rmdir(tmp);
    key_pub_line(&fz_client_key, line, sizeof line);
    snprintf(buf, sizeof buf, "%c%s", 1, line);
    fz_write(dir, "public", buf, strlen(buf));
    key_pub_line(&fz_host_key, line, sizeof line);
    snprintf(buf, sizeof buf,
             "%c# known hosts\nhost.example,10.0.0.1 %s\n[10.0.0.1]:2222 %s\n"
             "|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= %s\n"
             "@revoked * %s\n@cert-authority *.example %s\n*.wild,!bad.wild %s\n",
             2, line, line, line, line, line, line);
    fz_write(dir, "known-hosts", buf, strlen(buf));
    key_pub_line(&fz_client_key, line, sizeof line);
    snprintf(buf, sizeof buf,
             "%c# keys\n%s\nfrom=\"192.0.2.0/24,!10.*\",permitopen=\"example.com:443\","
             "permitopen=\"[2001:db8::1]:*\" %s\nrestrict,port-forwarding %s\n"
             "no-pty,command=\"echo \\\"hi\\\"\" %s\ncert-authority %s\nbogus-option %s\n",
             3, line, line, line, line, line, line);
    fz_write(dir, "authorized-keys", buf, strlen(buf));
}
#endif
