"""The command line's bound on a TensorFlow call that waits for other machines (multi-worker
start-up, a TPU's system): after the timeout, one error line and exit status 2.

Such a call waits in C++ holding Python's lock, so no thread or Python signal handler of this
process can act while it blocks. A separate process therefore watches the time: it prints the line
and sends SIGINT, whose number is the exit status of bad input (2), to a C-level handler that is
libc's `_exit` itself. This ends the process, so only a command may use it, never the library.
"""
import contextlib
import ctypes
import os
import signal
import subprocess
import sys

_WATCHDOG = """
import os, signal, sys, time
parent, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
time.sleep(seconds)
print(message, file=sys.stderr, flush=True)
os.kill(parent, signal.SIGINT)
time.sleep(10)
try:
    os.kill(parent, signal.SIGKILL)
except ProcessLookupError:
    pass
"""


@contextlib.contextmanager
def _exit_status_2_on_sigint():
    """While inside, SIGINT ends the process at once with exit status 2, even while a C++ call
    holds Python's lock (libc's _exit is the handler: it receives the signal number, 2)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    python_handler = signal.getsignal(signal.SIGINT)
    libc.signal(signal.SIGINT, ctypes.cast(libc._exit, ctypes.c_void_p))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, python_handler)  # Python's own C handler again


def exit_after(program):
    """A wait guard for `placement.make_placement` / `loop.train` that ends this process.

    Args:
      program: the name the error line starts with (`train.py`).

    Returns:
      guard(seconds, message): a context manager; if what it wraps has not returned after
      `seconds`, `<program>: error: <message>` is printed on stderr and the process ends with
      exit status 2.
    """
    @contextlib.contextmanager
    def guard(seconds, message):
        watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()),
                                     str(seconds), "%s: error: %s" % (program, message)])
        try:
            with _exit_status_2_on_sigint():
                yield
        finally:
            watchdog.kill()
            watchdog.wait()
    return guard
