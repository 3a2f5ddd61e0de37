"""The static router binaries (make cross ARCH=...) under qemu-user, against
native peers: each acts as client of a native `alknet serve` and as server
for a native `alknet connect`, over TCP with every cipher and over TLS,
moving 16 MiB each way through SOCKS, every byte checked by blast; and keys
made by the big-endian build load in ssh-keygen and the other way round.

Run by `make check-cross`, which builds the binaries and sets ALK_CROSS to
the architectures to test; skipped otherwise."""

import os
import re
import subprocess

import harness
from harness import check

ARCHS = ["aarch64", "armv7", "mipsel", "mips"]
QEMU = {
    "aarch64": ["qemu-aarch64-static"],
    "armv7": ["qemu-arm-static", "-cpu", "cortex-a7"],
    "mipsel": ["qemu-mipsel-static", "-cpu", "24Kc"],  # no FPU: stray float code would trap
    "mips": ["qemu-mips-static", "-cpu", "24Kc"],
}
CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
DATA = harness.size("16M")
NATIVE = harness.ALKNET


def cross_binary(t, arch):
    """A one-line wrapper that runs build/ARCH/alknet under qemu, so that
    the fixtures can start it like any alknet."""
    if arch not in os.environ.get("ALK_CROSS", "").split():
        raise harness.Skip("run by make check-cross")
    binary = os.path.join(harness.ROOT, "build", arch, "alknet")
    if not os.path.exists(binary):
        raise harness.Skip(f"{binary} is missing: make cross ARCH={arch}")
    wrapper = t.path(f"alknet-{arch}")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec " + " ".join(QEMU[arch]) + f" {binary} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    out = subprocess.run([wrapper, "--version"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, f"{arch} binary does not run: {out.stderr}")
    print(f"{arch}: {out.stdout.strip()}; {os.path.getsize(binary)} bytes; "
          f"{subprocess.run(['file', '-b', binary], capture_output=True, text=True).stdout.strip()}")
    check("statically linked" in subprocess.run(["file", "-b", binary], capture_output=True,
                                                text=True).stdout, f"{binary} is not static")
    return wrapper


def start_server(t, alknet, tls):
    harness.ALKNET = alknet  # the fixtures start whatever harness.ALKNET names
    try:
        srv, key = t.server_with_key("--allow", "127.0.0.0/8", tls=tls)
    finally:
        harness.ALKNET = NATIVE
    return srv, key


def start_client(t, alknet, srv, key, *args, tls=False):
    harness.ALKNET = alknet
    try:
        if tls:
            return t.alknet(srv, key, "--tls", *args, port=srv.tls_port)
        return t.alknet(srv, key, *args)
    finally:
        harness.ALKNET = NATIVE


def transfers(t, server_bin, client_bin, label):
    """Every cipher over TCP and the default one over TLS, 16 MiB each way."""
    srv, key = start_server(t, server_bin, tls=True)
    blast = t.blast()
    for cipher in CIPHERS:
        client = start_client(t, client_bin, srv, key, "-c", cipher)
        ok, line = blast.client("E", DATA, socks=client.socks, socks_name="localhost",
                                timeout=600)
        check(ok, f"{label}, {cipher}: {line}")
        check(cipher in client.proc.stderr_text(), f"{cipher} was not negotiated")
        usec = int(re.search(r"usec=(\d+)", line).group(1))
        print(f"{label} {cipher}: {DATA >> 20} MiB each way in {usec / 1e6:.1f} s")
        client.proc.kill()
    client = start_client(t, client_bin, srv, key, tls=True)
    ok, line = blast.client("E", DATA, socks=client.socks, socks_name="localhost", timeout=600)
    check(ok, f"{label}, TLS: {line}")
    cipher = re.search(r"cipher (\S+)", client.proc.stderr_text())
    usec = int(re.search(r"usec=(\d+)", line).group(1))
    print(f"{label} over TLS ({cipher.group(1) if cipher else '?'}): {usec / 1e6:.1f} s")


def _client_test(arch):
    @harness.timeout(1200)
    def test(t):
        transfers(t, NATIVE, cross_binary(t, arch), f"{arch} client -> native server")
    test.__doc__ = f"alknet connect built for {arch}, under qemu, to a native alknet serve."
    return test


def _server_test(arch):
    @harness.timeout(1200)
    def test(t):
        transfers(t, cross_binary(t, arch), NATIVE, f"native client -> {arch} server")
    test.__doc__ = f"alknet serve built for {arch}, under qemu, for a native alknet connect."
    return test


for _arch in ARCHS:
    for _kind, _make in (("client", _client_test), ("server", _server_test)):
        _f = _make(_arch)
        _f.__name__ = _f.__qualname__ = f"test_{_arch}_{_kind}"
        globals()[_f.__name__] = _f


def test_big_endian_keys(t):
    """A key pair made by the big-endian mips build loads in ssh-keygen (same
    public key and fingerprint), and one made by ssh-keygen loads in it."""
    mips = cross_binary(t, "mips")
    path = t.path("id_mips")
    r = subprocess.run([mips, "keygen", "-f", path, "-C", "mips"], capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0, r.stderr)
    pub = subprocess.run(["ssh-keygen", "-y", "-f", path], capture_output=True, text=True)
    check(pub.returncode == 0, f"ssh-keygen cannot read the mips key: {pub.stderr}")
    with open(path + ".pub") as f:
        check(f.read().split()[:2] == pub.stdout.split()[:2], "public keys differ")
    fp = subprocess.run(["ssh-keygen", "-l", "-f", path + ".pub"], capture_output=True,
                        text=True).stdout.split()[1]
    ours = subprocess.run([mips, "pubkey", "-f", path], capture_output=True, text=True,
                          timeout=60).stdout
    check(fp in ours, f"fingerprint {fp} not in: {ours}")
    theirs = t.path("id_ssh")
    harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", theirs])
    fp2 = subprocess.run(["ssh-keygen", "-l", "-f", theirs + ".pub"], capture_output=True,
                         text=True).stdout.split()[1]
    ours2 = subprocess.run([mips, "pubkey", "-f", theirs], capture_output=True, text=True,
                           timeout=60)
    check(ours2.returncode == 0 and fp2 in ours2.stdout, f"mips pubkey: {ours2.stderr}")
    print(f"mips key {fp} loads in ssh-keygen; ssh-keygen key {fp2} loads in mips alknet")
