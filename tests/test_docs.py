"""The user documentation's commands, run against the binary under test.

Every page in docs/ is Markdown.  A fenced block whose info string is
`sh run` is runnable; a plain `sh` block is illustrative and is not run.
A block whose info string is `output`, right after a runnable block, is what
that block prints: each of its non-blank lines must match a line of the
block's output (stdout and stderr together), in order, where `...` stands
for any text.

How a page runs (test_page_*, one test per page with runnable blocks):

- All its runnable blocks, in order, in ONE bash session (`set -eu`), so
  variables and background processes carry over from block to block.  A
  command that fails ends the session: the test fails and names the block
  (file:line) with its output.  After a block that starts something in the
  background (a line ending in `&`), the session pauses 1 s, as a reader
  would before typing the next command.
- In a sandbox of its own (`unshare -nm` as root, else `unshare -rnm`: a
  network and mount namespace, with a user namespace when not root), so
  the fixed ports the pages use (2222, 1080, 8080, ...) are
  free, and nothing can leave the machine: the only interface is loopback.
  In there, /etc/hosts maps example.com to 203.0.113.80, an address on the
  sandbox's loopback where a small web server answers with a page titled
  "Example Domain", so `curl ... http://example.com/` works as it would on
  the Internet.  The default destination policy allows 203.0.113.80
  (TEST-NET-3 is not "internal"), so the pages need no --allow for it.
- HOME is a fresh empty directory; PATH starts with a directory holding
  `alknet` (runs harness.ALKNET, the binary under test), `python3` (this
  interpreter) and a stand-in `ssh`.  SERVER=127.0.0.1: getting-started.md
  explains the convention (the reader sets SERVER to the server's address;
  commands meant for the server run there).  The stand-in `ssh "$SERVER"
  CMD` runs CMD here, in $HOME, which is what it does on a real server.
- When the page is done (or fails, or times out), every process it started
  is killed: the session's process group and every descendant.

test_alknet_command_lines checks every `alknet ...` command line in every
fenced block of every page, runnable or not (systemd units, ProxyCommand
strings included): the subcommand exists and each option is one that
`alknet SUBCOMMAND --help` lists, with its value when it takes one.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import harness
from harness import ALKNET, check

DOCS = os.path.join(harness.ROOT, "docs")
SUBCOMMANDS = ("connect", "serve", "keygen", "pubkey")
EXAMPLE_ADDR = "203.0.113.80"
PAGE = b"""<!doctype html>
<html>
<head><title>Example Domain</title></head>
<body><h1>Example Domain</h1>
<p>This domain is for use in documentation examples.</p></body>
</html>
"""


# ------------------------------------------------------------------ parsing the pages

def fenced_blocks(path):
    """[(line number of the opening fence, info string, text)] of a Markdown
    file; fences may be indented (inside lists), the text is dedented by the
    fence's indentation."""
    blocks, cur = [], None
    with open(path) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines, 1):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if cur is None:
            if stripped.startswith("```"):
                cur = (i, stripped[3:].strip(), indent, [])
        elif stripped.startswith("```") and not stripped[3:].strip():
            blocks.append((cur[0], cur[1], "\n".join(cur[3]) + "\n"))
            cur = None
        else:
            cur[3].append(line[cur[2]:] if line[:cur[2]].strip() == "" else line)
    if cur is not None:
        raise harness.Fail(f"{path}:{cur[0]}: fenced block never closed")
    return blocks


def runnable(path):
    """[(line, text, expected output or None)] for the `sh run` blocks."""
    out = []
    for line, info, text in fenced_blocks(path):
        if info == "sh run":
            out.append([line, text, None])
        elif info == "output":
            check(out and out[-1][2] is None,
                  f"{path}:{line}: an output block must follow a `sh run` block")
            out[-1][2] = (line, text)
    return out


def pages():
    return sorted(os.path.join(DOCS, p) for p in os.listdir(DOCS) if p.endswith(".md"))


# ------------------------------------------------------------------ the sandbox

# root needs no user namespace (and may not make one: a chrooted process
# cannot); anyone else gets root inside one
UNSHARE = ["unshare", "-nm"] if os.geteuid() == 0 else ["unshare", "-rnm"]


def sandbox_ok():
    try:
        r = subprocess.run(UNSHARE + ["true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and shutil.which("ip") is not None


def shell_quote(s):
    return shlex.quote(str(s))


def write_exec(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def make_tools(wd):
    """bin/ (alknet, python3, the stand-in ssh), www/, hosts, resolv.conf."""
    bindir = os.path.join(wd, "bin")
    os.makedirs(bindir, exist_ok=True)
    write_exec(os.path.join(bindir, "alknet"),
               f"#!/bin/sh\nexec {shell_quote(ALKNET)} \"$@\"\n")
    write_exec(os.path.join(bindir, "python3"),
               f"#!/bin/sh\nexec {shell_quote(sys.executable)} \"$@\"\n")
    write_exec(os.path.join(bindir, "ssh"), """#!/bin/sh
# Stand-in for ssh in tests/test_docs.py: the "server" is this machine, so
# `ssh $SERVER CMD` (or USER@$SERVER) runs CMD here, in $HOME, as sshd would.
case "$1" in
    "$SERVER"|*@"$SERVER") shift ;;
    *) echo "test stand-in ssh: only 'ssh \\$SERVER COMMAND' works here, not: $*" >&2; exit 255 ;;
esac
[ $# -gt 0 ] || { echo "test stand-in ssh: give a command" >&2; exit 255; }
cd && exec sh -c "$*"
""")
    www = os.path.join(wd, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "wb") as f:
        f.write(PAGE)
    with open(os.path.join(wd, "hosts"), "w") as f:
        f.write(f"127.0.0.1 localhost\n::1 localhost ip6-localhost\n"
                f"{EXAMPLE_ADDR} example.com www.example.com\n")
    with open(os.path.join(wd, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    return bindir


def page_script(wd, path, blocks, out):
    """The bash script that runs a page's blocks in order."""
    bindir = make_tools(wd)
    home = os.path.join(wd, "home")
    os.makedirs(home, exist_ok=True)
    q = shell_quote
    s = [
        "set -eu",
        "exec 4>" + q(os.path.join(out, "trace")),
        "BASH_XTRACEFD=4",
        "set -x",
        # the sandbox: loopback up, example.com on it, our hosts and resolv.conf
        "ip link set lo up",
        f"ip addr add {EXAMPLE_ADDR}/32 dev lo",
        f"mount --bind {q(os.path.join(wd, 'hosts'))} /etc/hosts",
        f"mount --bind {q(os.path.join(wd, 'resolv.conf'))} /etc/resolv.conf",
        f"export HOME={q(home)} PATH={q(bindir)}:\"$PATH\" SERVER=127.0.0.1",
        f"{q(sys.executable)} -m http.server 80 --bind {EXAMPLE_ADDR} "
        f"--directory {q(os.path.join(wd, 'www'))} >{q(os.path.join(out, 'web.log'))} 2>&1 &",
        f"for i in $(seq 100); do (exec 3<>/dev/tcp/{EXAMPLE_ADDR}/80) 2>/dev/null && break; "
        "sleep 0.1; done",
        'cd "$HOME"',
    ]
    for n, (line, text, _) in enumerate(blocks):
        s.append(f"# ---- block {n}: {os.path.relpath(path, harness.ROOT)}:{line}")
        s.append(f"echo {n} >{q(os.path.join(out, 'at'))}")
        s.append(f"exec >{q(os.path.join(out, f'{n}.out'))} 2>&1")
        s.append(text.rstrip("\n"))
        if any(l.rstrip().endswith("&") and not l.rstrip().endswith("&&")
               for l in text.splitlines()):
            s.append("sleep 1")
    s.append(f"echo done >{q(os.path.join(out, 'at'))}")
    return "\n".join(s) + "\n"


def kill_tree(pid):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in harness.descendants(pid) + [pid]:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        time.sleep(0.3)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def matches(expected, actual):
    """Each non-blank expected line matches an actual line, in order; `...`
    is any text.  Returns None or the first expected line not found."""
    lines = actual.splitlines()
    at = 0
    for want in expected.splitlines():
        if not want.strip():
            continue
        rx = re.compile(".*".join(re.escape(p) for p in want.strip().split("...")))
        while at < len(lines) and not rx.search(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


def run_page(t, name, limit=90):
    """Runs docs/NAME's runnable blocks (see the module docstring)."""
    path = os.path.join(DOCS, name)
    blocks = runnable(path)
    check(blocks, f"{name} has no `sh run` block")
    if not sandbox_ok():
        raise harness.Skip(f"needs `{' '.join(UNSHARE)}` (network and mount namespaces) and ip(8)")
    wd = t.path("page")
    out = os.path.join(wd, "out")
    os.makedirs(out)
    script = os.path.join(wd, "page.sh")
    with open(script, "w") as f:
        f.write(page_script(wd, path, blocks, out))
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("all_proxy", "http_proxy", "https_proxy", "no_proxy")}
    p = subprocess.Popen(UNSHARE + ["bash", script], cwd=wd, env=env,
                         stdin=subprocess.DEVNULL, stdout=open(os.path.join(out, "session"), "wb"),
                         stderr=subprocess.STDOUT, start_new_session=True)
    t.workdir.on_close(lambda: kill_tree(p.pid))
    try:
        status = p.wait(limit)
    except subprocess.TimeoutExpired:
        status = None
    finally:
        kill_tree(p.pid)
        p.wait()
    at = read(os.path.join(out, "at")).strip()
    if at != "done" or status != 0:
        where = ""
        if at.isdigit():
            line, text, _ = blocks[int(at)]
            where = (f"the block at docs/{name}:{line} "
                     + ("timed out" if status is None else f"failed (exit {status})")
                     + f":\n{text}--- its output:\n" + read(os.path.join(out, f"{at}.out"))[-3000:])
        trace = "\n".join(read(os.path.join(out, "trace")).splitlines()[-8:])
        raise harness.Fail(f"docs/{name}: {where or 'the session failed before the first block'}"
                           f"\n--- last commands:\n{trace}\n{read(os.path.join(out, 'session'))}")
    for n, (line, text, expected) in enumerate(blocks):
        if expected is None:
            continue
        got = read(os.path.join(out, f"{n}.out"))
        missing = matches(expected[1], got)
        check(missing is None,
              f"docs/{name}:{line}: its output lacks {missing!r} (expected at line "
              f"{expected[0]}):\n--- block:\n{text}--- output:\n{got[-3000:]}")
    print(f"docs/{name}: {len(blocks)} blocks ran, "
          f"{sum(1 for b in blocks if b[2])} outputs matched")


# ------------------------------------------------------------------ the pages

@harness.timeout(150)
def test_page_getting_started(t):
    run_page(t, "getting-started.md")


@harness.timeout(150)
def test_page_client(t):
    run_page(t, "client.md")


@harness.timeout(150)
def test_page_server(t):
    run_page(t, "server.md")


@harness.timeout(150)
def test_page_troubleshooting(t):
    run_page(t, "troubleshooting.md")


@harness.timeout(150)
def test_page_security(t):
    run_page(t, "security.md")


def test_every_page_is_linked_and_runnable_pages_are_tested():
    """index.md links every page; every page with `sh run` blocks has a test."""
    with open(os.path.join(DOCS, "index.md")) as f:
        index = f.read()
    tested = {re.sub(r"^test_page_", "", n).replace("_", "-") + ".md"
              for n in globals() if n.startswith("test_page_")}
    for path in pages():
        name = os.path.basename(path)
        if name != "index.md":
            check(f"({name})" in index, f"docs/index.md does not link {name}")
        if runnable(path):
            check(name in tested, f"docs/{name} has `sh run` blocks but no test_page_ runs them")


# ------------------------------------------------------------------ options in every block

def help_options(sub):
    """{option: takes a value} from `alknet SUB --help`, short and long."""
    status, out, err = harness.alknet([sub, "--help"])
    check(status == 0, f"alknet {sub} --help: exit {status}: {err}")
    opts = {}
    rx = re.compile(r"^\s+(?:-(\w), )?--([\w-]+)( \S)?")
    for line in out.splitlines():
        m = rx.match(line)
        if m:
            takes = bool(m.group(3))  # one space then a metavariable
            opts["--" + m.group(2)] = takes
            if m.group(1):
                opts["-" + m.group(1)] = takes
    check("--help" in opts and len(opts) > 3, f"cannot parse alknet {sub} --help:\n{out}")
    return opts


CMD = re.compile(r"(?:^|(?<=[\s;|&(`\"'=])|(?<=bin/))alknet(\s+)(connect|serve|keygen|pubkey|--help|--version)\b(.*)$")
STOP = {"|", "||", "&", "&&", ";", ")", "`", ">", ">>", "<", "2>", "2>>", "2>&1", "\\"}


def command_lines(text):
    """Each `alknet SUB args...` in a block's text, continuation lines joined:
    [(line offset, sub, argument string)]."""
    joined, starts, buf, first = [], [], "", None
    for i, line in enumerate(text.splitlines()):
        if first is None:
            first = i
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        joined.append(buf + line)
        starts.append(first)
        buf, first = "", None
    found = []
    for off, line in zip(starts, joined):
        code = re.sub(r"(^|\s)#.*$", "", line)  # shell comments
        for m in CMD.finditer(code):
            start = m.start()
            rest = m.group(3)
            quote = code[start - 1] if start > 0 and code[start - 1] in "'\"" else None
            if quote and quote in rest:
                rest = rest[:rest.index(quote)]
            found.append((off, m.group(2), rest))
    return found


def check_args(sub, args, opts):
    """None, or what is wrong with the options in args."""
    try:
        lex = shlex.shlex(args, posix=True, punctuation_chars="|&;()<>")
        lex.whitespace_split = True
        tokens = list(lex)
    except ValueError as e:
        return f"cannot split: {e}"
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in STOP or tok[0] in "|&;()<>" or re.match(r"^\d?>", tok):
            return None
        if tok == "--":
            return None if sub == "connect" else "-- is only for connect"
        if tok.startswith("--"):
            name = tok.split("=", 1)[0]
            if name not in opts:
                return f"unknown option {name}"
            if opts[name] and "=" not in tok:
                if i + 1 >= len(tokens):
                    return f"{name} needs a value"
                i += 1
        elif tok.startswith("-") and len(tok) > 1:
            for j, ch in enumerate(tok[1:], 1):
                if "-" + ch not in opts:
                    return f"unknown option -{ch} in {tok}"
                if opts["-" + ch]:
                    if j == len(tok) - 1:
                        if i + 1 >= len(tokens):
                            return f"-{ch} needs a value"
                        i += 1
                    break  # the rest of the token is the value
        i += 1
    return None


def test_alknet_command_lines():
    """Every alknet command line in every fenced block of docs/*.md uses a
    real subcommand and only options that subcommand's --help lists."""
    opts = {sub: help_options(sub) for sub in SUBCOMMANDS}
    seen, bad = 0, []
    for path in pages():
        rel = os.path.relpath(path, harness.ROOT)
        for line, info, text in fenced_blocks(path):
            if info == "output":
                continue
            for off, sub, args in command_lines(text):
                where = f"{rel}:{line + 1 + off}"
                seen += 1
                if sub in ("--help", "--version", "-h"):
                    continue
                if sub not in opts:
                    bad.append(f"{where}: alknet {sub}: no such subcommand")
                    continue
                why = check_args(sub, args, opts[sub])
                if why:
                    bad.append(f"{where}: alknet {sub}{args}: {why}")
    check(not bad, "options the binary does not accept:\n" + "\n".join(bad))
    check(seen > 30, f"only {seen} alknet command lines found in docs/")
    print(f"{seen} alknet command lines checked")
