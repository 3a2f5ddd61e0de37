/*
 * The config file parser (cfg_text) with every option's value parser
 * behind it; byte 0 chooses the command whose keywords apply (connect or
 * serve). Everything it sets is freed again (cfg_free).
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
    uint8_t given[O_COUNT] = {0};
    cfg_text(text, "fuzz.conf", data[0] & 1 ? C_SERVE : C_CONNECT, given);
    cfg_free();
    free(text);
    return 0;
}
#else
static void fz_seeds(const char *dir)
{
    static const char client[] =
        "\x00# client\nport 2222\nidentity /etc/alknet/id\ndynamic 127.0.0.1:1080\n"
        "dynamic [::1]:1081\nlocal 8080:example.com:80\nlocal [::1]:8443:[2001:db8::1]:443\n"
        "known-hosts /tmp/kh\naccept-new\nsocks-auth user:secret\n"
        "ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\nkeepalive 30\n"
        "host-key SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ\nverbose yes\nquiet no\n";
    static const char server[] =
        "\x01# server\nlisten 0.0.0.0:2222\nlisten [::]:443\nhost-key /etc/alknet/host\n"
        "authorized-keys /etc/alknet/keys\nallow 10.0.0.0/8:443\nallow *.corp.example\n"
        "deny [2001:db8::/32]:25\ndeny :25\ndns 192.0.2.53:53\nmax-startups 10\n"
        "login-grace 20\nmax-channels 100\nsyslog\n";
    static const char bad[] = "\x01listen\nport 99999\nallow 10.1.2.3/8\nbogus value\n";
    fz_write(dir, "client", client, sizeof client - 1);
    fz_write(dir, "server", server, sizeof server - 1);
    fz_write(dir, "bad", bad, sizeof bad - 1);
}
#endif
