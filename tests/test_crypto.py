"""Our own Ed25519 against OpenSSL, live, in both directions (the published
vectors are in tests/unit.c, run by test_units.py)."""

import os
import subprocess

import harness
from harness import UNIT, check



def _seed_and_pub(t, name):
    k = t.path(name + ".pem")
    harness.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", k])
    der = subprocess.run(["openssl", "pkey", "-in", k, "-outform", "DER"],
                         stdout=subprocess.PIPE, check=True).stdout
    pub = subprocess.run(["openssl", "pkey", "-in", k, "-pubout", "-outform", "DER"],
                         stdout=subprocess.PIPE, check=True).stdout
    harness.run(["openssl", "pkey", "-in", k, "-pubout", "-out", t.path(name + ".pub.pem")])
    return k, der[-32:].hex(), pub[-32:].hex()


def test_ed25519_against_openssl(t):
    """For 20 OpenSSL keys and messages of 1..4096 bytes (1023 included):
    same public key, identical signatures (Ed25519 is deterministic), each
    side verifies the other's, and a corrupted signature fails in both."""
    lengths = [1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 511, 1000, 1023, 1024, 2048,
               4096, 7, 99]
    for i, n in enumerate(lengths):
        key, seed, pub = _seed_and_pub(t, f"k{i}")
        msg = t.path(f"m{i}")
        with open(msg, "wb") as f:
            f.write(os.urandom(n))
        ours_pub = harness.run([UNIT, "ed-pub", seed]).strip()
        check(ours_pub == pub, f"{n}: public keys differ")
        ours = harness.run([UNIT, "ed-sign", seed, msg]).strip()
        sig = t.path(f"s{i}")
        harness.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", msg,
                     "-out", sig])
        with open(sig, "rb") as f:
            theirs = f.read().hex()
        check(ours == theirs, f"{n}: signatures differ")
        harness.run([UNIT, "ed-verify", pub, theirs, msg])  # ours accepts theirs
        with open(sig, "wb") as f:
            f.write(bytes.fromhex(ours))
        harness.run(["openssl", "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey",
                     t.path(f"k{i}.pub.pem"), "-in", msg, "-sigfile", sig])  # theirs accepts ours
        bad = bytearray(bytes.fromhex(ours))
        bad[i % 64] ^= 0x10
        r = subprocess.run([UNIT, "ed-verify", pub, bad.hex(), msg], stdout=subprocess.DEVNULL)
        check(r.returncode == 1, f"{n}: corrupted signature accepted by us")
        with open(sig, "wb") as f:
            f.write(bytes(bad))
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey",
                            t.path(f"k{i}.pub.pem"), "-in", msg, "-sigfile", sig],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        check(r.returncode != 0, f"{n}: corrupted signature accepted by openssl")
