#!/usr/bin/env python3
"""alknet's SOCKS client side by side with OpenSSH's `ssh -D`, in one run.

    python3 bench/bench.py [--cipher C]... [--rounds N] [--bytes 512M]

What it does, for each cipher (default: chacha20-poly1305@openssh.com,
aes128-gcm@openssh.com, aes256-gcm@openssh.com): starts one private OpenSSH
sshd on loopback with only that cipher allowed, and against it two SOCKS5
front ends, both connected at once:

    OpenSSH  ssh -N -c CIPHER -D 127.0.0.1:PORT ...
    alknet   alknet connect USER@127.0.0.1 -p SSHD_PORT -i KEY
                    --host-key SHA256:... -c CIPHER -D 127.0.0.1:PORT

Then it moves --bytes through each with blast (one TCP stream, every byte
checked): upload (blast mode U) and download (mode D), alternating OpenSSH,
alknet, OpenSSH, alknet ... for --rounds rounds, so that changes in machine
load fall on both alike.

How to read the table:
  upload / download MB/s   payload throughput, 10^6 bytes per second, as
                           blast timed it; higher is better.
  upload / download CPU s/GiB
                           CPU seconds (user + system, from /proc/PID/stat in
                           whole clock ticks) that the SOCKS client process
                           (ssh, or alknet) spent per GiB moved; lower is
                           better.  sshd and blast are not counted.  Ticks
                           are usually 10 ms: keep --bytes large.
  each cell                median [min-max] over the rounds.
  alknet/OpenSSH           ratio of the medians: above 1 means alknet moved
                           more MB/s, or spent more CPU per GiB.
Everything shares one machine: sshd, the client under test and both ends of
blast compete for the same cores, so absolute numbers are lower than across
a network; compare the columns with each other, not with other machines.
There are no thresholds: the script reports, it does not judge.  If $ALKNET
(default ./alknet) is missing or does not start, its column shows n/a.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
import harness  # noqa: E402

CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
IMPLS = ["OpenSSH", "alknet"]
METRICS = [  # (key, label, digits)
    ("up", "upload MB/s", 0),
    ("down", "download MB/s", 0),
    ("up_cpu", "upload CPU s/GiB", 2),
    ("down_cpu", "download CPU s/GiB", 2),
]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_bytes(text):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def version_line(argv):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=10, text=True)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "not available"


def start_ssh(wd, sshd, key, cipher):
    port = harness.free_port()
    proc = harness.Proc(wd, sshd.ssh_argv(key, "-N", "-c", cipher, "-D", f"127.0.0.1:{port}"),
                        name="ssh")
    harness.wait_port(port, proc=proc)
    return proc, port


def start_alknet(wd, sshd, key, cipher):
    """Returns (proc, port), or (None, reason) if alknet is missing or fails."""
    if not os.access(harness.ALKNET, os.X_OK):
        return None, f"{harness.ALKNET} not found"
    port = harness.free_port()
    proc = harness.Proc(wd, [harness.ALKNET, "connect", f"{sshd.user}@127.0.0.1",
                             "-p", sshd.port, "-i", key, "--host-key", sshd.host_fingerprint,
                             "-c", cipher, "-D", f"127.0.0.1:{port}"], name="alknet")
    try:
        harness.wait_port(port, timeout=15, proc=proc)
    except harness.Fail as e:
        proc.kill()
        return None, str(e)
    return proc, port


def measure(wd, blast, proc, port, mode, nbytes):
    """One blast run through a SOCKS port: (MB/s, CPU s/GiB of proc)."""
    before = proc.cpu_ticks()
    ok, line = harness.blast_client(wd, "127.0.0.1", blast.port, mode, nbytes, socks=port,
                                    timeout=60 + nbytes // (5 << 20))
    ticks = proc.cpu_ticks() - before
    if not ok:
        raise harness.Fail(f"blast {mode} through {proc.name}: {line}\n{proc.stderr_tail(10)}")
    usec = int(line.split("usec=")[1].split()[0])
    return nbytes / max(usec, 1), ticks / CLK_TCK / (nbytes / (1 << 30))


def bench_cipher(cipher, rounds, nbytes):
    """{impl: {metric: [values]}} for one cipher; an impl that fails gets a reason string."""
    results = {impl: {key: [] for key, _, _ in METRICS} for impl in IMPLS}
    wd = harness.Workdir("bench")
    try:
        sshd = harness.Sshd(wd, {"Ciphers": cipher})
        key = sshd.new_client_key()
        blast = harness.Blast(wd)
        tunnels = {"OpenSSH": start_ssh(wd, sshd, key, cipher),
                   "alknet": start_alknet(wd, sshd, key, cipher)}
        for impl, (proc, port) in tunnels.items():
            if proc is None:
                results[impl] = port  # the reason
                say(f"{cipher}: {impl} n/a: {port}")
                continue
            try:  # warm up: the first stream also proves the tunnel works
                measure(wd, blast, proc, port, "E", 1 << 20)
            except harness.Fail as e:
                results[impl] = str(e)
                say(f"{cipher}: {impl} n/a: {e}")
        for r in range(rounds):
            for impl in IMPLS:
                if isinstance(results[impl], str):
                    continue
                proc, port = tunnels[impl]
                try:
                    up, up_cpu = measure(wd, blast, proc, port, "U", nbytes)
                    down, down_cpu = measure(wd, blast, proc, port, "D", nbytes)
                except harness.Fail as e:
                    if impl == "OpenSSH":
                        raise
                    results[impl] = str(e)
                    say(f"{cipher}: {impl} n/a: {e}")
                    continue
                for k, v in (("up", up), ("down", down), ("up_cpu", up_cpu),
                             ("down_cpu", down_cpu)):
                    results[impl][k].append(v)
                say(f"{cipher} round {r + 1}/{rounds} {impl}: up {up:.0f} MB/s, "
                    f"down {down:.0f} MB/s, CPU {up_cpu:.2f} / {down_cpu:.2f} s/GiB")
    finally:
        wd.close()
    return results


def cell(values, digits):
    if isinstance(values, str) or not values:
        return "n/a"
    f = f"{{:.{digits}f}}"
    return f"{f.format(statistics.median(values))} [{f.format(min(values))}-{f.format(max(values))}]"


def ratio(a, b):
    if isinstance(a, str) or isinstance(b, str) or not a or not b:
        return "n/a"
    base = statistics.median(b)
    return f"{statistics.median(a) / base:.2f}" if base else "n/a"


def print_table(all_results):
    rows = [("cipher", "metric", "OpenSSH", "alknet", "alknet/OpenSSH")]
    for cipher, results in all_results.items():
        for i, (key, label, digits) in enumerate(METRICS):
            get = {impl: (results[impl] if isinstance(results[impl], str) else results[impl][key])
                   for impl in IMPLS}
            rows.append((cipher if i == 0 else "", label, cell(get["OpenSSH"], digits),
                         cell(get["alknet"], digits), ratio(get["alknet"], get["OpenSSH"])))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main():
    ap = argparse.ArgumentParser(description="alknet vs OpenSSH ssh -D throughput and CPU.")
    ap.add_argument("--cipher", action="append", choices=CIPHERS,
                    help="cipher to measure (repeatable; default: all three)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per cipher (default 3)")
    ap.add_argument("--bytes", default="512M", help="bytes per transfer, k/M/G suffix (default 512M)")
    args = ap.parse_args()
    nbytes = parse_bytes(args.bytes)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    harness.ensure_blast()
    print(f"bench: {args.bytes} per transfer, {args.rounds} round(s), "
          f"{os.cpu_count()} CPUs, loopback")
    print(f"OpenSSH: {version_line(['ssh', '-V'])}")
    print(f"alknet:  {version_line([harness.ALKNET, '--version'])} ({harness.ALKNET})")
    all_results = {}
    try:
        for cipher in args.cipher or CIPHERS:
            all_results[cipher] = bench_cipher(cipher, args.rounds, nbytes)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    print()
    print_table(all_results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
