"""Logging (issue 9): one line per event, `YYYY-MM-DD HH:MM:SS.mmm level
cN text` on stderr with UTC times, -q for errors only, -v/-vv for more, and
--syslog (facility daemon, ident alknet) read back from a /dev/log socket
the test binds in a private mount namespace."""

import datetime
import os
import re
import signal
import socket
import subprocess
import time

import harness
from harness import ALKNET, check

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} (error|warn |info |debug|trace) ")


def lines_of(text):
    return [l for l in text.splitlines() if l.strip()]


def test_stderr_format_and_levels(t):
    """Every stderr line has the one layout, with the time in UTC whatever
    TZ says; -q leaves only errors; -v adds debug lines; -vv names the
    function in each line."""
    outputs = {}
    for flags in ([], ["-q"], ["-v"], ["-vv"]):
        srv, key = t.server_with_key("--allow", "127.0.0.0/8", *flags,
                                     env={"TZ": "EST5"})
        before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        client = t.alknet(srv, key)
        ok, line = t.blast().client("E", "16k", socks=client.socks)
        check(ok, line)
        client.proc.kill()
        srv.proc.signal(signal.SIGUSR1)
        time.sleep(0.3)
        after = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        text = srv.proc.stderr_text()
        for l in lines_of(text):
            m = LINE.match(l)
            check(m, f"{flags}: not in the log layout: {l!r}")
            when = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
            check(before - datetime.timedelta(seconds=2) <= when <= after,
                  f"{flags}: {m.group(1)} is not UTC now ({before:%H:%M:%S}-{after:%H:%M:%S})")
        outputs[" ".join(flags)] = text
    levels = {k: {LINE.match(l).group(2).strip() for l in lines_of(v)} for k, v in outputs.items()}
    check("info" in levels[""] and "debug" not in levels[""], str(levels))
    check(levels["-q"] <= {"error"}, f"-q printed {levels['-q']}:\n{outputs['-q']}")
    check("debug" in levels["-v"] and "trace" not in levels["-v"], str(levels))
    # -vv: "level cN function: text" or "level function: text"
    named = [l for l in lines_of(outputs["-vv"]) if re.match(r"^\S+ \S+ \S+ +(c\d+ )?\w+: ", l)]
    check(len(named) == len(lines_of(outputs["-vv"])), outputs["-vv"])
    print(f"lines per level flag: { {k: len(lines_of(v)) for k, v in outputs.items()} }")


SYSLOG_CATCHER = r"""
import os, socket, subprocess, sys, time
os.makedirs(sys.argv[1] + "/upper", exist_ok=True)
os.makedirs(sys.argv[1] + "/work", exist_ok=True)
subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                f"lowerdir=/dev,upperdir={sys.argv[1]}/upper,workdir={sys.argv[1]}/work",
                "/dev"], check=True)
if os.path.exists("/dev/log"):
    os.unlink("/dev/log")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(0.2)
p = subprocess.Popen(sys.argv[2:])
print("started", flush=True)
out = open(sys.argv[1] + "/syslog.txt", "w")
while True:
    try:
        out.write(s.recv(65536).decode("utf-8", "replace").rstrip("\0\n") + "\n")
        out.flush()
    except socket.timeout:
        if p.poll() is not None:
            break
"""


def test_syslog(t):
    """--syslog: each event is one datagram on /dev/log, facility daemon,
    ident alknet with the pid, the same text as on stderr without its time
    stamp; nothing goes to stderr."""
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           stderr=subprocess.PIPE)
    if probe.returncode != 0:
        raise harness.Skip(f"no mount namespace here: {probe.stderr.decode().strip()}")
    srv = t.server("--allow", "127.0.0.0/8", "--syslog", start=False)
    key = srv.new_client_key()
    d = t.path("ns")
    os.makedirs(d)
    catcher = t.path("catcher.py")
    with open(catcher, "w") as f:
        f.write(SYSLOG_CATCHER)
    proc = t.proc(["unshare", "--mount", "--propagation", "private", "python3", catcher, d,
                   *srv.argv()], name="catcher")
    srv.adopt(proc)
    client = t.alknet(srv, key)
    ok, line = t.blast().client("E", "16k", socks=client.socks)
    check(ok, line)
    client.proc.kill()
    fp = harness.fingerprint(key + ".pub")
    deadline = time.monotonic() + 10
    path = os.path.join(d, "syslog.txt")
    text = ""
    while time.monotonic() < deadline and "closed after" not in text:
        time.sleep(0.1)
        text = open(path).read() if os.path.exists(path) else ""
    proc.signal(signal.SIGTERM)  # reaches the catcher; the server is its child
    subprocess.run(["pkill", "-TERM", "-P", str(proc.pid)])
    proc.p.wait(10)
    text = open(path).read()
    msgs = lines_of(text)
    # <30> = daemon (3) * 8 + info (6); "alknet[PID]: " is the ident; the
    # daemon stamps the time (a stamp from us is allowed, not needed)
    ident = re.compile(r"^<(\d+)>(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?alknet\[\d+\]: (.*)$")
    bodies = []
    for m in msgs:
        g = ident.match(m)
        check(g, f"not a daemon.* alknet[pid] syslog line: {m!r}\n{text}")
        check(int(g.group(1)) >> 3 == 3, f"facility is not daemon: {m!r}")
        check(not LINE.match(g.group(2)), f"a second time stamp in {m!r}")
        bodies.append((int(g.group(1)) & 7, g.group(2)))
    check(any(pri == 6 and f"authenticated with key {fp}" in b for pri, b in bodies), text)
    check(any(pri == 6 and "closed after" in b and "bytes in" in b for pri, b in bodies), text)
    stderr = proc.stderr_text()
    check("alknet" not in stderr and not any(LINE.match(l) for l in lines_of(stderr)),
          f"--syslog also wrote to stderr: {stderr}")
    print(f"{len(msgs)} syslog lines, e.g. {msgs[0]!r}")
