/*
 * What every C unit test program shares: alknet.c included whole (its
 * static functions are the ones under test), without main and with the
 * test build's seeded randomness, and one CHECK macro that counts.
 * Each program ends with a line "NAME: N passed, M failed".
 */
#define ALKNET_NO_MAIN
#define ALKNET_TEST
#include "../alknet.c"

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
