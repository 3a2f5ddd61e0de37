/*
 * alknet.h — the public surface of alknet.c.
 *
 * alknet is one program, not a library: the only external symbol is
 * alk_main(). This header exists so that the things other programs and
 * scripts depend on — the version and the exit codes — are written down in
 * one place, with their contracts.
 */
#ifndef ALKNET_H
#define ALKNET_H

#define ALK_VERSION "0.1.0"

/*
 * Exit codes of `alknet connect` (and the other commands). Scripts rely on
 * them, so they never change meaning. With `connect ... -- COMMAND`, the
 * exit status is COMMAND's own once it has started (128+N if a signal N
 * killed it); the codes below apply only when alknet fails before or
 * instead of running it.
 */
enum alk_exit {
    ALK_EXIT_OK = 0,        /* success; --check: reachable and authenticated */
    ALK_EXIT_FAIL = 1,      /* unexpected local failure (out of memory, ...) */
    ALK_EXIT_USAGE = 2,     /* bad command line or configuration syntax */
    ALK_EXIT_CONFIG = 3,    /* a local file: key, known_hosts, config */
    ALK_EXIT_UNREACH = 4,   /* cannot reach the server, or lost it and will not reconnect */
    ALK_EXIT_HOSTKEY = 5,   /* host key unknown, mismatched pin, or changed */
    ALK_EXIT_AUTH = 6,      /* the server refused our key */
    ALK_EXIT_FORWARD = 7,   /* a listener or the -W stream could not be set up */
    ALK_EXIT_PROTOCOL = 8   /* the peer broke the SSH protocol */
};

/*
 * Runs the program as `alknet ARGS...` would. Returns an exit code from
 * enum alk_exit (or the wrapped command's status). Not re-entrant: the
 * program keeps its event loop and configuration in static storage.
 */
int alk_main(int argc, char **argv);

#endif
