"""Ctrl-C and SIGTERM as requests to stop after the current iteration, with a checkpoint."""
import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """While active, SIGINT and SIGTERM set `signal` instead of ending the process; the training
    loop checks it after every iteration. A second signal stops at once (KeyboardInterrupt).

    Outside the main thread (where Python cannot install handlers) it does nothing.
    """

    def __init__(self):
        self.signal = None
        self._previous = {}

    def _handle(self, signum, frame):
        del frame
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum

    @property
    def name(self):
        """"SIGINT (Ctrl-C)" or "SIGTERM", for the message."""
        return "SIGINT (Ctrl-C)" if self.signal == signal.SIGINT else signal.Signals(self.signal).name

    @property
    def exit_status(self):
        """128 + the signal number, as a shell reports a process ended by it."""
        return 128 + int(self.signal)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
