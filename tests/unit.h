/*
 * What every C unit test program shares: alknet.c included whole (its
 * static functions are the ones under test), without main and with the
 * test build's seeded randomness, and one CHECK macro that counts.
 * Each program ends with a line "NAME: N passed, M failed".
 */
#ifndef ALKNET_FUZZ /* tests/unit_abuse.c has it from tests/fuzz/fuzz.h, in the fuzz build */
#define ALKNET_NO_MAIN
#define ALKNET_TEST
#include "../alknet.c"
#endif

static int passed, failed;
static const char *group = "";

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            printf("FAIL [%s] %s:%d: ", group, __FILE__, __LINE__);                                \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

/* Hex text to bytes, skipping anything that is not a hex digit (white
 * space, colons); returns the count, at most cap. */
static ALK_UNUSED size_t unhex(uint8_t *out, size_t cap, const char *s)
{
    size_t o = 0;
    int hi = -1;
    for (; *s; s++) {
        int v = hex_digit((unsigned char)*s);
        if (v < 0) continue;
        if (hi < 0) {
            hi = v;
        } else {
            if (o < cap) out[o++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return o;
}
