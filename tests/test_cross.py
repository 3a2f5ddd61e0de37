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
    kind = subprocess.run(["file", "-b", binary], capture_output=True, text=True).stdout.strip()
    print(f"{arch}: {out.stdout.strip()}; {os.path.getsize(binary)} bytes; {kind}")
    check("statically linked" in kind, f"{binary} is not static: {kind}")
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
    for cipher, tls in [(c, False) for c in CIPHERS] + [(None, True)]:
        client = start_client(t, client_bin, srv, key, *(("-c", cipher) if cipher else ()),
                              tls=tls)
        how = "TLS" if tls else cipher
        ok, line = blast.client("E", DATA, socks=client.socks, socks_name="localhost",
                                timeout=600)
        check(ok, f"{label}, {how}: {line}")
        used = re.search(r"cipher (\S+)", client.proc.stderr_text())
        check(used and (tls or used.group(1) == cipher), f"{how}: cipher {used}, asked {cipher}")
        usec = int(re.search(r"usec=(\d+)", line).group(1))
        how = f"over TLS ({used.group(1)})" if tls else cipher
        print(f"{label} {how}: {DATA >> 20} MiB each way in {usec / 1e6:.1f} s")
        client.proc.kill()


def _transfer_test(arch, kind):
    """test_ARCH_client: the cross build as connect, to a native serve;
    test_ARCH_server: the cross build as serve, for a native connect."""
    @harness.timeout(1200)
    def test(t):
        cross = cross_binary(t, arch)
        if kind == "client":
            transfers(t, NATIVE, cross, f"{arch} client -> native server")
        else:
            transfers(t, cross, NATIVE, f"native client -> {arch} server")
    test.__name__ = test.__qualname__ = f"test_{arch}_{kind}"
    test.__doc__ = f"alknet built for {arch}, under qemu, as the {kind} of a native alknet."
    return test


for _arch in ARCHS:
    for _kind in ("client", "server"):
        _f = _transfer_test(_arch, _kind)
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
