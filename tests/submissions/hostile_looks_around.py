"""Hostile submission: zero_pad reports what it can see and do (files, user, environment, working folder).

Not a layer; the sandbox tests compare what it sees with what each isolation level promises.
"""

import os

PROBES = []  # set by the tests


def _writable(folder):
    try:
        with open(os.path.join(folder, ".gradcheck-probe"), "w") as handle:
            handle.write("x")
    except OSError:
        return False
    os.remove(os.path.join(folder, ".gradcheck-probe"))
    return True


def zero_pad(X, pad):
    return {
        "visible": {path: os.path.exists(path) for path in PROBES},
        "uid": os.getuid(),
        "groups": os.getgroups(),
        "cwd": os.getcwd(),
        "cwd_writable": _writable(os.getcwd()),
        "root_writable": _writable("/"),
        "env": sorted(os.environ),
        "home": os.environ.get("HOME"),
        "pid": os.getpid(),
    }
