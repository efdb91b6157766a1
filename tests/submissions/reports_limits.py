"""Not a layer: zero_pad returns the worker's limits and environment, for the sandbox tests."""

import os
import resource


def zero_pad(X, pad):
    return {
        "as": resource.getrlimit(resource.RLIMIT_AS)[0],
        "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
        "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
        "openblas": os.environ.get("OPENBLAS_NUM_THREADS"),
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "session_leader": os.getsid(0) == os.getpid(),
        "stdin": os.path.realpath("/proc/self/fd/0"),
        "stdout_is_pipe": os.path.realpath("/proc/self/fd/1").startswith("pipe:"),
    }
