"""The results of bench/run.py and the one table they are printed as.

Values are kept per (row group, metric, column): a group is a cipher, or
one of the extra groups (long fat link, many streams); a column is a
tunnel kind (OpenSSH, alknet, ...).  A cell shows the median of its
values and [min-max]; "n/a" when the case could not run or the step
failed (the notes under the table say why), "—" when the metric does not
apply (direct has no tunnel processes), and nothing when the column does
not take part in that group.
"""

import statistics

COLUMNS = ["OpenSSH", "alknet", "Dropbear", "shadowsocks", "direct"]
RATIO = "alknet÷OpenSSH"

# The rows of each cipher group: (metric, label, digits)
CIPHER_ROWS = [
    ("up", "upload MB/s", 0),
    ("down", "download MB/s", 0),
    ("cpu_up", "CPU s/GiB upload", 2),
    ("cpu_down", "CPU s/GiB download", 2),
    ("lat", "new stream µs", 0),
    ("start", "start → first stream ms", 1),
    ("rss_c", "idle session RSS client KiB", 0),
    ("rss_s", "idle session RSS server KiB", 0),
    ("stream_c", "per idle stream client KiB", 2),
    ("stream_s", "per idle stream server KiB", 2),
    ("busy_up", "upload MB/s beside them", 0),
]
LFN_ROWS = [
    ("up", "upload MB/s", 1),
    ("down", "download MB/s", 1),
]
MANY_ROWS = [
    ("open", "seconds to open them all", 2),
    ("rss_c", "RSS client MiB", 1),
    ("rss_s", "RSS server MiB", 1),
    ("stream_c", "per stream client KiB", 2),
    ("stream_s", "per stream server KiB", 2),
    ("lat", "new stream ms beside them", 1),
]


class Results:
    def __init__(self):
        self.values = {}  # (group, metric, column) -> [float]
        self.members = {}  # group -> set of columns that take part
        self.failed = set()  # (group, column): the case could not run at all
        self.lost = set()  # (group, metric, column): a step that should have measured it failed
        self.notes = []

    def join(self, group, column):
        self.members.setdefault(group, set()).add(column)

    def add(self, group, metric, column, value):
        self.join(group, column)
        self.values.setdefault((group, metric, column), []).append(value)

    def fail(self, group, column, why=None):
        """The case could not run at all; why goes to the notes."""
        self.join(group, column)
        self.failed.add((group, column))
        if why:
            self.note(f"{column} ({group}): {why}")

    def lose(self, pairs, column):
        """A step failed: its (group, metric) pairs show n/a for column."""
        for group, metric in pairs:
            self.lost.add((group, metric, column))

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def get(self, group, metric, column):
        return self.values.get((group, metric, column), [])


def one_line(error, limit=300):
    """An exception's message on one line (a process's stderr tail joined
    with " | "), cut at `limit` characters."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()] or [repr(error)]
    text = " | ".join(lines)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fmt(v, digits):
    return f"{v:,.{digits}f}"


def cell(values, digits, failed=True):
    if not values:
        return "n/a" if failed else "—"
    mid = _fmt(statistics.median(values), digits)
    if len(values) == 1:
        return mid
    return f"{mid} [{_fmt(min(values), digits)}–{_fmt(max(values), digits)}]"


def ratio(a, b):
    if not a or not b or statistics.median(b) == 0:
        return ""
    return f"{statistics.median(a) / statistics.median(b):.2f}"


def table(res, groups, heads):
    """The table as text.  groups: [(group key, title, rows)]; heads: {column:
    second header line}.  Columns that take part in no group are left out."""
    cols = [c for c in COLUMNS if any(c in res.members.get(g, ()) for g, _, _ in groups)]
    show_ratio = "alknet" in cols and "OpenSSH" in cols
    names = cols[:2] + [RATIO] + cols[2:] if show_ratio and cols[:2] == ["OpenSSH", "alknet"] \
        else cols
    lines = [[""] + names, [""] + [heads.get(c, "") for c in names]]
    for group, title, rows in groups:
        if group not in res.members:
            continue
        lines.append([title])
        for metric, label, digits in rows:
            line = ["  " + label]
            for c in names:
                if c == RATIO:
                    line.append(ratio(res.get(group, metric, "alknet"),
                                      res.get(group, metric, "OpenSSH")))
                elif c not in res.members[group]:
                    line.append("")
                else:
                    failed = (group, c) in res.failed or (group, metric, c) in res.lost
                    line.append(cell(res.get(group, metric, c), digits, failed))
            lines.append(line)
    widths = [max(len(line[i]) for line in lines if len(line) > i and len(line) > 1)
              for i in range(len(names) + 1)]
    out = []
    for n, line in enumerate(lines):
        if len(line) == 1:  # a group title runs across
            out.append(line[0])
            continue
        out.append("  ".join(text.rjust(w) if i else text.ljust(w)
                             for i, (text, w) in enumerate(zip(line, widths))).rstrip())
        if n == 1:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
