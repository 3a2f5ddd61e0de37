#!/usr/bin/env python3
"""Runs alknet's tests.

    python3 tests/run.py [-k SUBSTR] [--list]

Imports every tests/test_*.py and runs each function named test_* (by module,
then in definition order).  A test takes one argument `t` (harness.T: its
workdir and fixtures) or none.  It fails by raising (assert, harness.Fail,
anything), skips with `raise harness.Skip("why")`, and has a time limit: its
`timeout` attribute (harness.timeout(S) decorator), default 120 s.

Each test runs in a child process of its own, with HOME set to an empty
directory in its workdir; when it ends, passes or hangs, everything it
started is killed.  Its workdir is removed on success
and kept on failure (the path is printed with the failure).  Output: one line
per test (with what a passing test printed, its measurements, indented
below it), then "N skipped", then exactly "N passed, N failed" as the last
line.
Exit status 0 only if nothing failed.
"""

import argparse
import glob
import importlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

DEFAULT_TIMEOUT = 120
RESULT = ".result.json"
OUTPUT = ".output.log"  # the test process's own stdout and stderr


class Interrupted(Exception):
    pass


def discover():
    """[(name, module name, function name, timeout)], and import failures."""
    tests, broken = [], []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        modname = os.path.basename(path)[:-3]
        try:
            mod = importlib.import_module(modname)
        except Exception as e:
            broken.append((modname, f"cannot import: {type(e).__name__}: {e}"))
            continue
        funcs = [f for n, f in vars(mod).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == modname]
        funcs.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in funcs:
            tests.append((f"{modname}.{f.__name__}", modname, f.__name__,
                          getattr(f, "timeout", DEFAULT_TIMEOUT)))
    return tests, broken


# ---------------------------------------------------------------- child side

def describe(exc):
    """One readable reason for a failure, with the test's line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.path.basename(f.filename).startswith("test_")]
    where = f" [{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}]" if frames else ""
    if isinstance(exc, AssertionError):
        return (str(exc) or "assertion failed") + where
    return f"{type(exc).__name__}: {exc}{where}"


def run_child(modname, funcname, wd):
    """Runs one test in this process; writes the outcome to wd/.result.json."""
    def on_term(signum, frame):
        raise Interrupted("stopped by the runner (time limit)")
    signal.signal(signal.SIGTERM, on_term)
    workdir = harness.Workdir(path=wd)
    result = {"status": "FAIL", "reason": "did not finish"}
    try:
        fn = getattr(importlib.import_module(modname), funcname)
        t = harness.T(workdir, f"{modname}.{funcname}")
        if inspect.signature(fn).parameters:
            fn(t)
        else:
            fn()
        result = {"status": "PASS"}
    except harness.Skip as e:
        result = {"status": "SKIP", "reason": str(e)}
    except BaseException as e:
        traceback.print_exc()
        result = {"status": "FAIL", "reason": describe(e)}
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        workdir.stop_all()
        with open(os.path.join(wd, RESULT), "w") as f:
            json.dump(result, f)
    return 0


# ---------------------------------------------------------------- runner side

def become_subreaper():
    """Orphans of a test (daemons, setsid'd sshd sessions) become our children,
    so that nothing a test started can outlive it.  Linux only."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def kill_leftovers(root_pid):
    """SIGKILLs every descendant of root_pid and reaps our zombies."""
    for _ in range(5):
        pids = harness.descendants(root_pid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
        reap()
    reap()


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def failure_details(wd):
    """Last lines of the stderr of every process the test started, and of
    the test's own output (tracebacks)."""
    out = []
    files = sorted(glob.glob(os.path.join(wd, "**", "*.stderr"), recursive=True))
    for path in files + [os.path.join(wd, OUTPUT)]:
        text = harness._tail(path, 20)
        if text.strip():
            out.append(f"  --- {os.path.relpath(path, wd)} (last lines)")
            out.extend("  | " + line for line in text.splitlines())
    return out


def sanitizer_report(wd):
    """A sanitizer report in any process's stderr fails the test, even when
    the test's own checks passed (the process may have been killed after)."""
    for path in sorted(glob.glob(os.path.join(wd, "**", "*.stderr"), recursive=True)):
        with open(path, "rb") as f:
            line = harness.sanitizer_line(f.read().decode("utf-8", "replace"))
        if line:
            return f"sanitizer report in {os.path.relpath(path, wd)}: {line}"
    return None


def run_one(name, modname, funcname, limit):
    """Runs one test in a child process; returns (status, seconds, lines to print)."""
    wd = tempfile.mkdtemp(prefix=f"alknet-{funcname}-")
    # a HOME of its own: nothing in the developer's ~/.alknet (keys, config)
    # reaches a test, and a test that writes there writes into its workdir
    home = os.path.join(wd, "home")
    os.mkdir(home)
    env = dict(os.environ, HOME=home)
    start = time.monotonic()
    timed_out = interrupted = False
    with open(os.path.join(wd, OUTPUT), "wb") as log:
        child = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", modname, funcname, wd],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=harness.ROOT, env=env)
        try:
            try:
                child.wait(limit)
            except subprocess.TimeoutExpired:
                timed_out = True
                child.terminate()  # lets the test's own cleanup run
                try:
                    child.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if child.poll() is None:
                for pid in harness.descendants(child.pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                child.kill()
                child.wait()
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            kill_leftovers(os.getpid())
    if interrupted:
        shutil.rmtree(wd, ignore_errors=True)
        raise KeyboardInterrupt
    elapsed = time.monotonic() - start
    try:
        with open(os.path.join(wd, RESULT)) as f:
            result = json.load(f)
    except (OSError, ValueError):
        result = {"status": "FAIL",
                  "reason": f"test process exited with status {child.returncode}, no result"}
    if timed_out:
        result = {"status": "FAIL", "reason": f"timed out after {limit}s"}
    report = sanitizer_report(wd)
    if report and result["status"] != "FAIL":
        result = {"status": "FAIL", "reason": report}
    status = result["status"]
    if status == "PASS":
        lines = [f"PASS {name} ({elapsed:.1f}s)"]
        try:  # what the test printed (its measurements), at most 10 lines
            with open(os.path.join(wd, OUTPUT), errors="replace") as f:
                lines += ["  " + x.rstrip() for x in f.read().splitlines()[-10:] if x.strip()]
        except OSError:
            pass
    elif status == "SKIP":
        lines = [f"SKIP {name}: {result['reason']}"]
    else:
        lines = [f"FAIL {name} ({elapsed:.1f}s): {result['reason']}"]
        lines += failure_details(wd)
        lines.append(f"  workdir kept: {wd}")
    if status != "FAIL":
        shutil.rmtree(wd, ignore_errors=True)
    return status, lines


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        return run_child(*sys.argv[2:])
    ap = argparse.ArgumentParser(description="Runs alknet's tests (tests/test_*.py).")
    ap.add_argument("-k", metavar="SUBSTR", help="only tests whose name contains SUBSTR")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    args = ap.parse_args()

    tests, broken = discover()
    if args.k:
        tests = [x for x in tests if args.k in x[0]]
        broken = [x for x in broken if args.k in x[0]]
    if args.list:
        for name, _, _, limit in tests:
            print(f"{name} (timeout {limit}s)")
        return 0

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    become_subreaper()
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for modname, reason in broken:
        print(f"FAIL {modname}: {reason}", flush=True)
        counts["FAIL"] += 1
    try:
        try:
            harness.ensure_blast()
        except Exception as e:
            print(f"note: cannot build blast: {e}", flush=True)
        for name, modname, funcname, limit in tests:
            status, lines = run_one(name, modname, funcname, limit)
            counts[status] += 1
            print("\n".join(lines), flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        kill_leftovers(os.getpid())
        counts["FAIL"] += 1
    print(f"{counts['SKIP']} skipped")
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed", flush=True)
    return 0 if counts["FAIL"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
