"""The C unit tests: each program includes alknet.c whole and ends with
"NAME: N passed, M failed"."""

import os
import subprocess

import harness
from harness import UNIT, check

VECTORS = os.path.join(harness.ROOT, "tests", "vectors")


def _run(name):
    path = os.path.join(os.path.dirname(UNIT), name)
    argv = [path, VECTORS]
    if os.environ.get("ALK_VALGRIND_UNITS"):  # make check-valgrind
        argv = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect"] + argv
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    out = r.stdout.decode("utf-8", "replace")
    last = out.strip().splitlines()[-1] if out.strip() else ""
    check(r.returncode == 0 and last.endswith(" 0 failed"), out[-3000:])


def test_unit_crypto_protocol_socks():
    """tests/unit.c: RFC 8032, 8439, 7748 vectors, OpenSSH-made AEAD known
    answers, the kex known answer, wire cases, SOCKS framer, known_hosts."""
    _run("unit")


def test_unit_policy_and_authorized_keys():
    """tests/unit_policy.c: destination rules and defaults, authorized_keys."""
    _run("unit_policy")


def test_unit_dns():
    """tests/unit_dns.c: DNS queries and answers (captured and hostile),
    /etc/hosts, resolv.conf."""
    _run("unit_dns")


def test_unit_tls():
    """tests/unit_tls.c: the ClientHello peek (captured hellos from openssl,
    curl, BearSSL), the self-signed certificate (checked by openssl and a
    real handshake), the --tls-pin hash."""
    _run("unit_tls")


def test_unit_proxy():
    """tests/unit_proxy.c: the outbound proxy handshake (px_: SOCKS5 with
    RFC 1929, HTTP CONNECT with Basic) in every split, replies captured from
    microsocks and tinyproxy, and the stealth gate's plain-TCP judge."""
    _run("unit_proxy")


def test_unit_abuse():
    """tests/unit_abuse.c: a logged-in peer that overflows a window past
    2^32-1, sends beyond its window, names channels never opened or sends a
    2 GiB packet is disconnected with a reason naming it, while a second
    connection beside it keeps echoing; a 2^32-1 maximum packet works."""
    _run("unit_abuse")
