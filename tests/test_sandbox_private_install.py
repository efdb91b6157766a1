"""A private Python installation at the unprivileged-user level (issue 24): the import roots, the probe, the hard case.

The hard case: the checker runs as root without bubblewrap, and its Python lives below a folder other users cannot
enter (a pyenv or a virtual environment under /root). The slow tests build it for real: a virtual environment inside
a 0700 folder, whose site-packages holds hard links of the packages gradcheck needs (their files keep their own
modes, so only the 0700 folder keeps other users out), with copies of gradcheck and reference beside it; then they
check correct files (one importing scipy, one starting with ``import matplotlib.pyplot as plt``, a course notebook)
at every level the machine offers and compare the verdicts with the sandbox's.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

from gradcheck.boundary import privileges, sandbox

PROJECT = Path(__file__).parent.parent
SUBMISSIONS = Path(__file__).parent / "submissions"


def cannot_switch_users() -> str | None:
    if os.geteuid() != 0:
        return "the unprivileged-user level needs the checker to run as root"
    if not sandbox._uids_mapped(sandbox.UID_BASE, sandbox.UID_BASE + sandbox.PID_MAX):
        return "the worker's uids are not mapped in this user namespace"
    return None


AS_ROOT = pytest.mark.skipif(cannot_switch_users() is not None, reason=str(cannot_switch_users()))


@pytest.fixture
def public_tmp():
    """A folder other users can enter (pytest's tmp_path is below a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="gradcheck-test-"))
    folder.chmod(0o755)
    if not privileges.others_can_reach(str(folder)):
        shutil.rmtree(folder)
        pytest.skip(f"{tempfile.gettempdir()} is not reachable by other users")
    yield folder
    shutil.rmtree(folder)


# --- which folders ------------------------------------------------------------------------------


def test_a_folder_is_reachable_only_if_others_may_enter_every_folder_above_it_and_list_it(public_tmp):
    deep = public_tmp / "a" / "b" / "c"
    deep.mkdir(parents=True)
    for folder in (public_tmp / "a", public_tmp / "a" / "b", deep):
        folder.chmod(0o755)
    assert privileges.others_can_reach(str(deep))
    (public_tmp / "a").chmod(0o700)
    assert not privileges.others_can_reach(str(deep))
    (public_tmp / "a").chmod(0o711)  # entered, not listed: enough above
    assert privileges.others_can_reach(str(deep))
    deep.chmod(0o711)  # the root itself must be listed
    assert not privileges.others_can_reach(str(deep))
    assert not privileges.others_can_reach(str(public_tmp / "missing"))


def test_climbing_out_of_a_descriptor_stops_below_the_first_folder_others_cannot_enter(public_tmp):
    private, venv = public_tmp / "private", public_tmp / "private" / "venv"
    site = venv / "lib" / "site-packages"
    site.mkdir(parents=True)
    for folder in (venv, venv / "lib", site):
        folder.chmod(0o755)
    private.chmod(0o700)
    assert privileges.exposed_above(str(site)) == str(venv)  # the venv, not the private folder's other files
    venv.chmod(0o700)
    assert privileges.exposed_above(str(site)) == str(venv / "lib")
    (venv / "lib").chmod(0o700)
    assert privileges.exposed_above(str(site)) is None


def test_the_import_roots_are_the_installations_not_the_graders_folders(public_tmp):
    import gradcheck

    roots = privileges.import_roots([str(public_tmp), *sys.path])
    assert str(public_tmp) not in roots and os.getcwd() not in roots
    assert os.path.dirname(os.path.realpath(gradcheck.__file__)) in roots
    site_packages = [p for p in sys.path if os.path.basename(p) == "site-packages" and os.path.isdir(p)]
    assert site_packages and set(site_packages) <= set(roots)


REWRITE = """
import importlib.resources, json, os, sys
root = sys.argv[1]
sys.path.insert(0, root)
import pkgx
link = f"/proc/self/fd/{os.open(root, os.O_PATH | os.O_DIRECTORY)}"
from gradcheck.boundary.privileges import rewrite_import_paths
rewrite_import_paths({root: link})
os.rename(root, root + "-moved")  # from now on only the descriptor leads there
import pkgx.later
spec = pkgx.__spec__
print(json.dumps({
    "link": link, "paths": [sys.path[0], pkgx.__file__, pkgx.__cached__, spec.origin, spec.cached, spec.loader.path,
                            *pkgx.__path__, *spec.submodule_search_locations, pkgx.later.__file__],
    "data": importlib.resources.files("pkgx").joinpath("data.txt").read_text(),
    "lazy": pkgx.later.VALUE,
}))
"""


def test_rewriting_moves_every_path_an_imported_module_keeps_to_the_descriptor(tmp_path):
    package = tmp_path / "root" / "pkgx"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "later.py").write_text("VALUE = 7\n")
    (package / "data.txt").write_text("mpl-data")
    done = subprocess.run([sys.executable, "-c", REWRITE, str(tmp_path / "root")], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(PROJECT)}, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert all(path.startswith(seen["link"] + "/") or path == seen["link"] for path in seen["paths"]), seen
    assert seen["data"] == "mpl-data" and seen["lazy"] == 7  # a data file and a lazy submodule, through the link


# --- the probe ------------------------------------------------------------------------------------


@pytest.fixture
def fresh_probe():
    privileges.import_problem.cache_clear()
    yield
    privileges.import_problem.cache_clear()


def test_a_probe_that_fails_or_hangs_makes_a_reason(monkeypatch, fresh_probe):
    from gradcheck.boundary import process

    monkeypatch.setattr(process, "module_command", lambda *args: [sys.executable, "-c", "raise SystemExit('boom')"])
    assert privileges.import_problem() == "a worker switched to its own uid failed: boom"
    privileges.import_problem.cache_clear()
    monkeypatch.setattr(process, "module_command", lambda *args: [sys.executable, "-c", "import time; time.sleep(30)"])
    monkeypatch.setattr(privileges, "PROBE_TIMEOUT", 0.5)
    assert privileges.import_problem().startswith("a worker switched to its own uid did not answer: Command ")


@AS_ROOT
def test_the_probe_worker_imports_what_this_checker_imports(fresh_probe):
    """Here: whatever the installation's modes (a pyenv under a 0700 /root is the hard case itself)."""
    assert privileges.import_problem() is None
    assert sandbox.why_unavailable("unprivileged-user") is None


# --- the hard case, built for real ---------------------------------------------------------------


def requirement_closure(requirements: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions of ``requirements`` and of everything they require (no extras)."""
    from packaging.requirements import Requirement

    found: dict[str, importlib.metadata.Distribution] = {}
    queue = list(requirements)
    while queue:
        requirement = Requirement(queue.pop())
        key = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if key in found:
            continue
        found[key] = distribution = importlib.metadata.distribution(requirement.name)
        for text in distribution.requires or []:
            marker = Requirement(text).marker
            if marker is None or marker.evaluate({"extra": ""}):
                queue.append(text)
    return list(found.values())


def build_private_install(base: Path) -> dict[str, Path]:
    """``base/private`` (0700): ``venv`` whose site-packages hard-links gradcheck's requirements, ``src`` with copies
    of gradcheck and reference, ``secret.txt`` (world-readable, in the private folder only)."""
    private = base / "private"
    private.mkdir(mode=0o700)
    venv = private / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python*/site-packages"))
    requirements = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]
    for distribution in requirement_closure(requirements):
        for name in distribution.files or []:
            source = Path(distribution.locate_file(name))
            target = site / name
            if source.is_file() and not target.exists() and ".." not in name.parts:
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, target)
                except OSError:  # another file system: a copy keeps the mode too
                    shutil.copy2(source, target)
    for package in ("gradcheck", "reference"):
        shutil.copytree(PROJECT / package, private / "src" / package, ignore=shutil.ignore_patterns("__pycache__"))
    (private / "secret.txt").write_text("the grader's")
    (private / "secret.txt").chmod(0o644)
    return {"python": venv / "bin" / "python", "src": private / "src", "site": site, "venv": venv,
            "private": private}


@pytest.fixture(scope="module")
def private_install(tmp_path_factory):
    reason = cannot_switch_users()
    if reason is not None:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("hard-case")
    install = build_private_install(base)
    empty = base / "no-bwrap"
    empty.mkdir()
    install["no_bwrap"] = empty
    assert not privileges.others_can_reach(str(install["site"]))
    return install


HOST_PATH = "/usr/local/bin:/usr/bin:/bin"


def run_check(install: dict[str, Path], target: Path, level: str, out: Path, *, bwrap: bool) -> tuple[int, str]:
    """``gradcheck check`` by the private venv's Python, bubblewrap on PATH or not; (exit status, stderr)."""
    env = {"PATH": HOST_PATH if bwrap else str(install["no_bwrap"]), "HOME": str(out.parent), "LANG": "C.UTF-8",
           "PYTHONPATH": str(install["src"])}
    done = subprocess.run(
        [str(install["python"]), "-m", "gradcheck.cli", "check", str(target), "--isolation", level,
         "--examples", "3", "--json", str(out), "-q"],
        capture_output=True, text=True, timeout=600, env=env, cwd=str(out.parent), check=False,
    )
    return done.returncode, done.stderr + done.stdout


def verdicts(data: dict) -> tuple:
    return (data["passed"], data["load_error"], data["warnings"],
            sorted((c["function"], c["quantity"], c["status"]) for c in data["checks"]))


NAIVE = "\n".join(line for line in (PROJECT / "reference" / "naive.py").read_text().splitlines()
                  if not line.startswith("from __future__"))
SCIPY_FILE = "from scipy import signal\n" + NAIVE + '''

def conv_forward(A_prev, W, b, hparameters):
    """An FFT correlation per example and output channel."""
    stride, pad = hparameters["stride"], hparameters["pad"]
    A = zero_pad(A_prev, pad)
    n_H = (A.shape[1] - W.shape[0]) // stride + 1
    n_W = (A.shape[2] - W.shape[1]) // stride + 1
    Z = np.zeros((A.shape[0], n_H, n_W, W.shape[3]))
    for i in range(A.shape[0]):
        for c in range(W.shape[3]):
            valid = signal.correlate(A[i], W[:, :, :, c], mode="valid", method="fft")[:, :, 0]
            Z[i, :, :, c] = valid[::stride, ::stride] + b[0, 0, 0, c]
    return Z, (A_prev, W, b, hparameters)
'''
MATPLOTLIB_FILE = "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (5.0, 4.0)\n" + NAIVE
PUBLIC_TESTS = (  # the course's test module, beside the notebook
    "import numpy as np\n\n\ndef zero_pad_test(target):\n"
    "    assert target(np.zeros((1, 1, 1, 1)), 1).shape == (1, 3, 3, 1)\n"
)


def hard_case_file(folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    if name == "course_notebook.ipynb":  # h5py (absent), public_tests (beside it), %matplotlib inline
        (folder / "public_tests.py").write_text(PUBLIC_TESTS)
        shutil.copy(SUBMISSIONS / "notebook_cnn.ipynb", folder / name)
    else:
        (folder / name).write_text({"scipy_fft.py": SCIPY_FILE, "matplotlib_on_top.py": MATPLOTLIB_FILE}[name])
    return folder / name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["scipy_fft.py", "matplotlib_on_top.py", "course_notebook.ipynb"])
def test_a_correct_file_gets_the_sandboxs_verdict_at_every_level_of_a_private_install(private_install, tmp_path,
                                                                                       name):
    target = hard_case_file(tmp_path / "class", name)
    runs = {"auto": False, "unprivileged-user": False, "limits-only": False}  # bubblewrap hidden
    if sandbox.why_unavailable("sandbox") is None:
        runs["sandbox"] = True
    seen = {}
    for level, bwrap in runs.items():
        out = tmp_path / level / "report.json"
        out.parent.mkdir()
        code, text = run_check(private_install, target, level, out, bwrap=bwrap)
        assert code == 0, f"{level}: {text}"
        seen[level] = json.loads(out.read_text())
    baseline = verdicts(seen["sandbox" if "sandbox" in seen else "limits-only"])
    assert baseline[0] is True and baseline[1] is None
    if name == "course_notebook.ipynb":  # of the imports, only h5py (absent from the environment) is skipped
        assert [w.split(": skipped failing import ")[1] for w in baseline[2] if ": skipped failing import " in w] == [
            "(ModuleNotFoundError: No module named 'h5py')"]
    for level, data in seen.items():
        assert verdicts(data) == baseline, level
    assert seen["auto"]["isolation"] == "unprivileged-user"
    reason = seen["auto"]["isolation_reason"]
    assert reason.startswith("chosen by auto: sandbox is not available here (bwrap is not installed); the Python "
                             "installation is not readable by other users: the worker reaches its import roots (")
    roots, tops = reason.split(") through descriptors opened before switching users, and with them what other users "
                               "may read below ")
    src = private_install["src"]
    assert roots.endswith(f"{private_install['site']}, {src / 'gradcheck'}")  # not the reference: no answer key
    assert {str(src), str(private_install["venv"])} <= set(tops.split(", "))  # and the base Python's, if private


LOOKS_AROUND = '''
import os

SECRET = {secret!r}
VENV_FILE = {venv_file!r}


def _readable(path):
    try:
        with open(path) as handle:
            handle.read(1)
        return True
    except OSError:
        return False


def zero_pad(X, pad):
    climbs = [f"/proc/self/fd/{{fd}}" + "/.." * up for fd in os.listdir("/proc/self/fd") for up in range(12)]
    return {{
        "secret": _readable(SECRET) or any(_readable(f"{{c}}/secret.txt") for c in climbs),
        "venv_file": _readable(VENV_FILE),
        "venv_by_climbing": any(_readable(f"{{c}}/pyvenv.cfg") for c in climbs),
    }}
'''
DRIVER = """
import json, sys
import numpy as np
from gradcheck.boundary.isolated import WorkerBackend
with WorkerBackend(sys.argv[1], timeout=10, isolation="unprivileged-user") as backend:
    print(json.dumps(backend.call("zero_pad", (np.zeros((1, 1, 1, 1)), 0)).value))
"""


@pytest.mark.slow
def test_the_worker_reaches_the_import_roots_not_the_private_folder_around_them(private_install, tmp_path):
    target = tmp_path / "looks_around.py"
    target.write_text(LOOKS_AROUND.format(secret=str(private_install["private"] / "secret.txt"),
                                          venv_file=str(private_install["venv"] / "pyvenv.cfg")))
    env = {"PATH": str(private_install["no_bwrap"]), "LANG": "C.UTF-8", "PYTHONPATH": str(private_install["src"])}
    done = subprocess.run([str(private_install["python"]), "-c", DRIVER, str(target)], capture_output=True,
                          text=True, timeout=300, env=env, cwd=str(tmp_path), check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["secret"] is False  # world-readable, but in the private folder: neither by its path nor by climbing
    assert seen["venv_file"] is False  # not by its own path
    assert seen["venv_by_climbing"] is True  # ...but climbing out of site-packages: what the reason discloses


@pytest.mark.slow
def test_an_installation_the_worker_cannot_read_is_refused_or_passed_over(private_install, tmp_path):
    """A package installed with umask 077 (0700 folder, 0600 file): no descriptor helps, so the level cannot be
    offered: ``auto`` as root then has only limits-only, which would run the submission as root, so it exits 2
    and says why and what to do; an explicit request exits 2 too, before anything runs."""
    package = private_install["site"] / "umask077_pkg"
    package.mkdir(mode=0o700)
    (package / "__init__.py").write_text("X = 1\n")
    (package / "__init__.py").chmod(0o600)
    try:
        target = hard_case_file(tmp_path / "class", "matplotlib_on_top.py")
        auto = tmp_path / "auto" / "report.json"
        auto.parent.mkdir()
        code, text = run_check(private_install, target, "auto", auto, bwrap=False)
        assert code == 2 and not auto.exists(), text  # never a silent fallback to running the submission as root
        problem = (
            "a worker switched to its own uid could not import umask077_pkg (PermissionError: [Errno 13] Permission "
            f"denied: '{package}'): part of the Python installation is not readable by other users; make it readable "
            f"(chmod -R o+rX {package}) or install bubblewrap"
        )
        assert "--isolation=auto: as root, the only level available here is limits-only, which would run the " \
               "submission as root (sandbox: bwrap is not installed; " in text, text
        assert f"unprivileged-user: {problem})" in text, text
        assert "ask for limits-only explicitly (--isolation limits-only) for trusted code" in text
        refused = tmp_path / "refused" / "report.json"
        refused.parent.mkdir()
        code, text = run_check(private_install, target, "unprivileged-user", refused, bwrap=False)
        assert code == 2 and not refused.exists()  # refused before anything ran
        assert text == (
            "gradcheck: error: --isolation=unprivileged-user: the unprivileged-user isolation level is not available "
            f"here ({problem})\n"
        )
    finally:
        shutil.rmtree(package)
