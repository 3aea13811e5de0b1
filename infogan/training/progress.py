"""Training progress on the console: a bar on a terminal, a plain status line every few minutes
otherwise (a log file, `nohup`, CI).

Both show the epoch (numbered from 0, as the epoch lines), the position in it, the speed of this process (so the time left is right
after a resume too) and the epoch's running means of the objectives: the bar's last update shows
the means that the epoch line then prints. Status lines start with "iteration", never "epoch", so
they never look like the TF1 epoch lines.
"""
import sys
import time

import numpy as np

BAR_WIDTH = 24
LABELS = (("discriminator_objective", "D LL"), ("generator_objective", "G LL"),
          ("infogan_loss", "infogan loss"))


def _duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return "%d:%02d:%02d" % (hours, rest // 60, rest % 60) if hours else "%d:%02d" % divmod(rest, 60)


def _means(history):
    return ", ".join("%s %.2f" % (label, np.mean(np.float32(history[key])))
                     for key, label in LABELS if history.get(key))


class Progress:
    """Reports progress after every iteration.

    Args:
      num_batches: batches per epoch.
      epochs: the run's epoch count.
      terminal: draw a bar (True) or print status lines (False); None: whether `stream` is a tty.
      status_every: seconds between status lines (0: none).
      stream: where to write (stdout).
      clock: a time function (tests).
    """

    def __init__(self, num_batches, epochs, terminal=None, status_every=120, stream=None,
                 clock=time.monotonic):
        self.stream = stream or sys.stdout
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.num_batches, self.epochs, self.status_every = num_batches, epochs, status_every
        self.clock = clock
        self._started = self._last_status = clock()
        self._done_here = 0  # iterations run by this process, for its speed
        self._bar_shown = False

    def update(self, iteration, epoch, batches_done, history):
        """After an iteration: `iteration` iterations done in all, `batches_done` of `epoch`."""
        self._done_here += 1
        now = self.clock()
        rate = self._done_here / max(now - self._started, 1e-9)
        if self.terminal:
            self._draw_bar(epoch, batches_done, rate, history)
        elif self.status_every and now - self._last_status >= self.status_every:
            self._last_status = now
            self.stream.write("iteration %d (epoch %d of %d, batch %d/%d): %.2f it/s, %s\n" % (
                iteration, epoch, self.epochs, batches_done, self.num_batches, rate,
                _means(history)))
            self.stream.flush()

    def _draw_bar(self, epoch, batches_done, rate, history):
        filled = int(BAR_WIDTH * batches_done / self.num_batches)
        bar = "=" * filled + (">" if filled < BAR_WIDTH else "") + "." * (BAR_WIDTH - filled - 1)
        left = (self.num_batches - batches_done) / rate if rate > 0 else 0.0
        self.stream.write("\r\x1b[2Kepoch %d of %d [%s] %d/%d %.2f it/s %s left, %s" % (
            epoch, self.epochs, bar, batches_done, self.num_batches, rate, _duration(left),
            _means(history)))
        self.stream.flush()
        self._bar_shown = True

    def finish_line(self):
        """Ends the bar's line, before anything else is printed."""
        if self._bar_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_shown = False
