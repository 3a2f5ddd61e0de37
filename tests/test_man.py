"""The manual page, docs/alknet.1, held to the program: the options of
every `alknet CMD --help` are in its OPTIONS section and nothing else is,
its EXIT STATUS says what --help says, and it renders without a warning.
Also `make install` and `make uninstall`, which install it."""

import os
import re
import stat
import subprocess

import harness
from harness import check

MAN = os.path.join(harness.ROOT, "docs", "alknet.1")


# ---------------------------------------------------------------- --help

def help_text(*cmd):
    status, out, err = harness.alknet([*cmd, "--help"])
    check(status == 0 and out.strip(), f"alknet {' '.join(cmd)} --help: status {status}, {err!r}")
    return out


def help_commands():
    """The commands `alknet --help` lists, from its "usage: alknet CMD" lines."""
    cmds = re.findall(r"^usage: alknet (\w+)", help_text(), re.M)
    check(cmds, "alknet --help lists no command")
    return cmds


# "  -p, --port PORT     help"  or  "      --tls      help"
HELP_OPT = re.compile(r"^  (?:-(\w), |    )--([a-z0-9][a-z0-9-]*)(.*)$")


def help_options(text):
    """{long name: (short letter or None, argument or None)} from the
    "options:" block of a command's --help. The argument is what follows
    the name after one space, up to two spaces or a word with a small
    letter (where the description starts)."""
    opts, block = {}, False
    for line in text.splitlines():
        if line == "options:":
            block = True
            continue
        if not block or line.startswith("        "):  # before, or a wrapped description
            continue
        if not line.strip():
            break
        m = HELP_OPT.match(line)
        check(m, f"cannot read this --help line: {line!r}")
        short, name, rest = m.groups()
        arg = []
        if rest.startswith(" ") and not rest.startswith("  "):
            for word in rest[1:].split(" "):
                if not word or re.search("[a-z]", word):
                    break
                arg.append(word)
        check(name not in opts, f"--{name} is listed twice in --help")
        opts[name] = (short, " ".join(arg) or None)
    check(opts, "--help has no options: block")
    return opts


def help_exit_codes(text):
    """({code: phrase}, [other clauses]) from the "exit codes:" paragraph:
    "exit codes: 0 ok, 1 local failure, ...; with -- COMMAND: ..." """
    body = " ".join(text[text.index("exit codes:") + len("exit codes:"):].split())
    codes_part, *clauses = [p.strip().rstrip(".") for p in body.split("; ")]
    marks = list(re.finditer(r"(?:^|, )(\d+) ", codes_part))
    codes = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        codes[int(m.group(1))] = codes_part[m.end():nxt.start() if nxt else None].strip()
    return codes, clauses


# ---------------------------------------------------------------- the page

ESCAPES = {"aq": "'", "dq": '"', "lq": '"', "rq": '"', "em": "-", "en": "-", "mu": "x"}
ALTERNATING = {"BR", "RB", "BI", "IB", "IR", "RI"}


def deroff(s):
    """Plain text of a roff text fragment: fonts dropped, escapes resolved."""
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    s = re.sub(r"\\\((..)", lambda m: ESCAPES.get(m.group(1), "?"), s)
    for a, b in (("\\-", "-"), ("\\~", " "), ("\\ ", " "), ("\\&", ""), ("\\e", "\\")):
        s = s.replace(a, b)
    return s


def line_text(line):
    """The text a source line contributes ("" for a request without text)."""
    if not line.startswith("."):
        return deroff(line)
    name, _, args = line[1:].partition(" ")
    words = [q if q or not w else w for q, w in re.findall(r'"((?:[^"]|"")*)"|(\S+)', args)]
    if name in ALTERNATING:
        return deroff("".join(words))
    if name in ("B", "I", "SM"):
        return deroff(" ".join(words))
    return ""


def man_sections():
    """{SH title: [(SS title or None, [source lines])]} in page order."""
    secs, sh = {}, None
    with open(MAN, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith(".SH "):
                sh = deroff(line[4:].strip().strip('"'))
                secs[sh] = [(None, [])]
            elif line.startswith(".SS ") and sh:
                secs[sh].append((deroff(line[4:].strip().strip('"')), []))
            elif sh and not line.startswith('.\\"'):
                secs[sh][-1][1].append(line)
    return secs


def tagged(lines):
    """[(tag source line, body text)] of the .TP paragraphs in lines."""
    items, i = [], 0
    while i < len(lines):
        if lines[i] == ".TP" and i + 1 < len(lines):
            tag, body, i = lines[i + 1], [], i + 2
            while i < len(lines) and lines[i] not in (".TP", ".PP", ".SS", ".IP"):
                body.append(line_text(lines[i]))
                i += 1
            items.append((tag, " ".join(" ".join(body).split())))
        else:
            i += 1
    return items


# "-p, --port PORT" or "--tls", after deroff
MAN_OPT = re.compile(r"^(?:-(\w), )?--([a-z0-9][a-z0-9-]*)(?: (.+))?$")


def subsection_commands(title, cmds):
    """The commands an OPTIONS subsection is about: those its title names,
    or all of them for "every command"."""
    if title == "every command":
        return set(cmds)
    return {c for c in cmds if re.search(rf"\b{c}\b", title)}


def man_options(cmds):
    """{command: {long name: (short, argument)}} from the OPTIONS section."""
    secs = man_sections()
    check("OPTIONS" in secs, "the man page has no OPTIONS section")
    out = {c: {} for c in cmds}
    for title, lines in secs["OPTIONS"]:
        entries = tagged(lines)
        if title is None:
            check(not entries, "options before the first .SS of OPTIONS: put them under a command")
            continue
        which = subsection_commands(title, cmds)
        check(which, f"OPTIONS subsection {title!r} names no command of alknet --help ({cmds})")
        for tag, _ in entries:
            m = MAN_OPT.match(deroff(tag))
            check(m, f"OPTIONS, {title}: {tag!r} is not written as -X, --long ARG")
            short, name, arg = m.groups()
            for c in which:
                check(name not in out[c], f"--{name} is listed twice for {c} in the man page")
                out[c][name] = (short, arg)
    return out


def show(name, short, arg):
    return (f"-{short}, " if short else "") + f"--{name}" + (f" {arg}" if arg else "")


# ---------------------------------------------------------------- tests

def test_man_options_match_help():
    """Every option of `alknet CMD --help` is in the man page, with the same
    short form and argument, under a subsection for CMD; every option there
    is one the command accepts."""
    cmds = help_commands()
    man = man_options(cmds)
    problems = []
    for cmd in cmds:
        helped = help_options(help_text(cmd))
        for name, (short, arg) in helped.items():
            if name not in man[cmd]:
                problems.append(f"{cmd}: {show(name, short, arg)} is missing from docs/alknet.1")
            elif man[cmd][name] != (short, arg):
                problems.append(f"{cmd}: --help says {show(name, short, arg)}, docs/alknet.1 says "
                                f"{show(name, *man[cmd][name])}")
        for name, (short, arg) in man[cmd].items():
            if name not in helped:
                problems.append(f"{cmd}: docs/alknet.1 lists {show(name, short, arg)}, which "
                                f"alknet {cmd} does not accept")
    # and the stale ones really are refused (not just missing from --help)
    for line in problems:
        m = re.match(r"(\w+): docs/alknet.1 lists (?:-\w, )?(--\S+)", line)
        if m:
            status, _, err = harness.alknet([m.group(1), m.group(2), "--help"])
            check(status == 2, f"alknet {m.group(1)} {m.group(2)}: not in --help but status "
                               f"{status} ({err.strip()}): --help is missing it")
    check(not problems, "the man page and --help disagree:\n" + "\n".join(problems))
    secs = man_sections()
    synopsis = " ".join(line_text(x) for x in secs["SYNOPSIS"][0][1])
    described = {deroff(tag).split()[-1] for tag, _ in tagged(secs["COMMANDS"][0][1])}
    for cmd in cmds:
        check(f"alknet {cmd}" in synopsis, f"SYNOPSIS has no 'alknet {cmd}'")
        check(cmd in described, f"COMMANDS does not describe {cmd}")
    print(f"{sum(len(help_options(help_text(c))) for c in cmds)} options of {len(cmds)} "
          "commands, all in the man page")


def test_man_exit_codes_match_help():
    """EXIT STATUS lists the codes every alknet CMD --help lists, each
    with the words each --help gives it (connect's first), and says what
    --help says about -- COMMAND."""
    found = {}
    for cmd in help_commands():
        text = help_text(cmd)
        if "exit codes:" in text:
            found[cmd] = help_exit_codes(text)
    check("connect" in found and "serve" in found,
          f"connect and serve --help should list the exit codes (found: {sorted(found)})")
    codes, clauses = found["connect"]
    check(sorted(codes) == list(range(len(codes))), f"--help exit codes are not 0..N: {codes}")
    secs = man_sections()
    check("EXIT STATUS" in secs, "the man page has no EXIT STATUS section")
    lines = secs["EXIT STATUS"][0][1]
    man = {}
    for tag, body in tagged(lines):
        code = line_text(tag).strip()
        check(code.isdigit(), f"EXIT STATUS: {tag!r} is not an exit code")
        man[int(code)] = body
    check(sorted(man) == sorted(codes),
          f"exit codes: --help has {sorted(codes)}, the man page {sorted(man)}")
    for code, phrase in codes.items():
        check(man[code].lower().startswith(phrase.lower()),
              f"exit code {code}: --help says {phrase!r}, the man page {man[code]!r}")
    for cmd, (other, _) in found.items():
        for code, phrase in other.items():
            check(code in man and phrase.lower() in " ".join(man[code].split()).lower(),
                  f"exit code {code}: alknet {cmd} --help says {phrase!r}, the man page "
                  f"{man.get(code)!r}")
    whole = " ".join(" ".join(line_text(x) for x in lines).split()).lower()
    for clause in clauses:
        check(clause.lower() in whole, f"EXIT STATUS does not say {clause!r} (from --help)")
    print(f"exit codes 0-{max(codes)} and {len(clauses)} more clause(s) agree")


def run_tool(argv, **env):
    full = dict(os.environ, LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat", MANWIDTH="80", **env)
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=60, env=full)
    except FileNotFoundError:
        raise harness.Skip(f"{argv[0]} is not installed (scripts/deps.sh installs it)")
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def test_man_renders_without_warnings():
    """groff -man -ww and man -l format the page without a word on stderr,
    in lines of at most 80 columns, and its version is the program's."""
    status, _, err = run_tool(["groff", "-man", "-Tutf8", "-ww", "-z", MAN])
    check(status == 0 and not err.strip(), f"groff -man -ww: status {status}:\n{err}")
    status, out, err = run_tool(["man", "--warnings=w", "-l", MAN], MAN_DISABLE_SECCOMP="1")
    check(status == 0 and not err.strip(), f"man -l: status {status}:\n{err}")
    for heading in ("NAME", "SYNOPSIS", "OPTIONS", "EXIT STATUS", "FILES", "SEE ALSO"):
        check(re.search(rf"^{heading}$", out, re.M), f"man -l output has no {heading} heading")
    wide = [x for x in out.splitlines() if len(x) > 80]
    check(not wide, "lines wider than 80 columns in man -l output:\n" + "\n".join(wide))
    status, version, _ = harness.alknet(["--version"])
    with open(MAN, encoding="utf-8") as f:
        th = next(x for x in f if x.startswith(".TH "))
    check(status == 0 and f'"alknet {version.split()[1]}"' in th,
          f"the man page's .TH {th.strip()!r} does not carry {version.strip()!r}")
    print(f"{len(out.splitlines())} lines, no warning")


@harness.timeout(60)
def test_make_install_uninstall(t):
    """make install DESTDIR=... PREFIX=/usr puts the binary (0755) and the
    man page (0644) in place; make uninstall removes them. The top-level
    ./alknet is installed as it is (make -o alknet: never rebuilt here)."""
    binary = os.path.join(harness.ROOT, "alknet")
    if not os.path.exists(binary):
        raise harness.Skip("no ./alknet to install (make)")
    dest = t.path("dest")
    make = ["make", "--no-print-directory", "-C", harness.ROOT, "-o", "alknet"]

    def run_make(*args):
        r = subprocess.run(make + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=30)
        out = r.stdout.decode("utf-8", "replace")
        check(r.returncode == 0, f"make {' '.join(args)}: status {r.returncode}\n{out}")
        return out

    out = run_make("-n", "install")
    for path in ("/usr/local/bin/alknet", "/usr/local/share/man/man1/alknet.1"):
        check(path in out, f"make -n install does not install {path} by default:\n{out}")
    run_make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    files = {dest + "/usr/bin/alknet": (0o755, binary),
             dest + "/usr/share/man/man1/alknet.1": (0o644, MAN)}
    for path, (mode, source) in files.items():
        check(os.path.isfile(path), f"make install did not create {path}")
        got = stat.S_IMODE(os.stat(path).st_mode)
        check(got == mode, f"{path} has mode {got:o}, not {mode:o}")
        with open(path, "rb") as a, open(source, "rb") as b:
            check(a.read() == b.read(), f"{path} differs from {source}")
    out = harness.run([dest + "/usr/bin/alknet", "--version"])
    check(out.startswith("alknet "), f"the installed alknet --version printed {out!r}")
    run_make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    for path in files:
        check(not os.path.exists(path), f"make uninstall left {path}")
    print("installed and removed " + ", ".join(p[len(dest):] for p in files))
