"""Ctrl-C and SIGTERM as requests to stop after the current iteration, with a checkpoint."""
import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """SIGINT and SIGTERM while a run starts and while it trains.

    While the run starts (device set-up, data, models), a signal stops it at once: the handler
    raises KeyboardInterrupt, and `signal` says which came. Once `defer` is called (training is
    about to begin), a signal only sets `signal`, which the training loop checks after every
    iteration, so that it stops with a checkpoint; a second signal then stops at once
    (KeyboardInterrupt).

    Outside the main thread (where Python cannot install handlers) it does nothing.
    """

    def __init__(self):
        self.signal = None
        self.deferred = False
        self._previous = {}

    def _handle(self, signum, frame):
        del frame
        first = self.signal is None
        if first:
            self.signal = signum
        if not (first and self.deferred):
            raise KeyboardInterrupt

    def defer(self):
        """From now on, a first signal waits for the training loop to act on it."""
        self.deferred = True

    @property
    def name(self):
        """"SIGINT (Ctrl-C)" or "SIGTERM", for the message."""
        if self.signal in (None, signal.SIGINT):
            return "SIGINT (Ctrl-C)"
        return signal.Signals(self.signal).name

    @property
    def signum(self):
        """The signal that came (SIGINT for a KeyboardInterrupt without one: Ctrl-C where no
        handler was installed)."""
        return int(self.signal or signal.SIGINT)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
