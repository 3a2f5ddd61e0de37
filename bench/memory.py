#!/usr/bin/env python3
"""Memory and stream set-up cost of alknet, measured on loopback.

    python3 bench/memory.py [--conns 100] [--streams 1000]

What it does:
  1. starts `alknet serve` and reads its resident memory (VmRSS) idle;
  2. connects --conns `alknet connect` clients, each authenticated and idle,
     and reads the server's RSS again: the difference per connection is the
     cost of an idle SSH connection on the server;
  3. through one more client, opens --streams SOCKS streams to the reserved
     alknet-echo (each sends one byte, gets it back, then stays open and
     idle), timing how long it takes to have them all open, then reads the
     RSS of that client and of the server: the growth per stream is the cost
     of an idle stream on each side.
RSS is read from /proc/PID/status, in KiB; the kernel's socket buffers are
not in it. No thresholds: it reports. Needs ./alknet (or $ALKNET).
"""

import argparse
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402


rss = harness.rss_kib


def settle(pid, seconds=0.5):
    time.sleep(seconds)
    return rss(pid)


def open_echo_streams(port, n):
    """n SOCKS streams to alknet-echo, each checked with one byte; returns
    the sockets (kept open) and the seconds it took."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * n + 256)), hard))
    req = b"\x05\x01\x00\x05\x01\x00\x03\x0balknet-echo" + struct.pack(">H", 7)
    start = time.monotonic()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req)
        socks.append(s)
    for s in socks:
        got = b""
        while len(got) < 12:
            part = s.recv(12 - len(got))
            if not part:
                raise SystemExit("a stream was refused")
            got += part
        if got[1] != 0:
            raise SystemExit(f"SOCKS reply {got[1]}")
        s.sendall(b"x")
    for s in socks:
        if s.recv(1) != b"x":
            raise SystemExit("echo failed")
    return socks, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--streams", type=int, default=1000)
    args = ap.parse_args()
    with harness.Workdir("memory") as wd:
        srv = harness.Server(wd, "--max-startups", str(args.conns + 10), start=False)
        key = srv.new_client_key()
        srv.start()
        base = settle(srv.proc.pid)
        clients = [harness.Client(wd, srv, key, name=f"idle{i}") for i in range(args.conns)]
        for c in clients:
            c.proc.wait_for("authenticated as")
        with_conns = settle(srv.proc.pid)
        probe = harness.Client(wd, srv, key, name="streams")
        probe.proc.wait_for("authenticated as")
        srv_before, cl_before = settle(srv.proc.pid), rss(probe.proc.pid)
        socks, took = open_echo_streams(probe.socks, args.streams)
        srv_after, cl_after = settle(srv.proc.pid), rss(probe.proc.pid)
        per_conn = (with_conns - base) / args.conns
        print(f"alknet serve idle:                     {base} KiB RSS")
        print(f"  + {args.conns} idle authenticated connections: {with_conns} KiB "
              f"({per_conn:.1f} KiB each)")
        print(f"{args.streams} streams to alknet-echo opened and checked in {took * 1000:.0f} ms "
              f"({took * 1e6 / args.streams:.0f} us each)")
        print(f"  server: {srv_before} -> {srv_after} KiB "
              f"({(srv_after - srv_before) * 1024 / args.streams:.0f} bytes per idle stream)")
        print(f"  client: {cl_before} -> {cl_after} KiB "
              f"({(cl_after - cl_before) * 1024 / args.streams:.0f} bytes per idle stream)")
        for s in socks:
            s.close()


if __name__ == "__main__":
    main()
