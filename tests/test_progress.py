"""Console progress: a bar on a terminal (epoch, speed, time left, the epoch's running means), a
plain status line every few minutes otherwise."""
import io

import numpy as np

from infogan.training.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def history(d_values, g_values):
    return {"discriminator_objective": [np.float32(v) for v in d_values],
            "generator_objective": [np.float32(v) for v in g_values],
            "infogan_loss": [np.float32(1.5)] * 2 * len(d_values)}


def test_bar_shows_epoch_speed_time_left_and_the_epoch_means():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(num_batches=4, epochs=3, terminal=True, stream=stream, clock=clock)
    d, g = [], []
    for batch in range(4):
        clock.now += 0.5  # 2 iterations per second
        d.append(-1.0 - batch)
        g.append(-2.0)
        progress.update(iteration=batch + 1, epoch=0, batches_done=batch + 1, history=history(d, g))
    progress.finish_line()
    updates = stream.getvalue().split("\r\x1b[2K")[1:]
    assert updates[0].startswith("epoch 0 of 3 [") and "1/4 2.00 it/s 0:02 left" in updates[0]
    # The last update shows the means the epoch line prints: mean(-1, -2, -3, -4) = -2.50.
    assert updates[-1].rstrip("\n").endswith("4/4 2.00 it/s 0:00 left, D LL -2.50, G LL -2.00, "
                                              "infogan loss 1.50")


def test_status_lines_when_not_a_terminal():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(num_batches=100, epochs=5, terminal=False, status_every=60, stream=stream,
                        clock=clock)
    for iteration in range(1, 201):
        clock.now += 1.0
        progress.update(iteration, epoch=iteration // 100, batches_done=iteration % 100 or 100,
                        history=history([-1.0], [-2.0]))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # at 60, 120 and 180 seconds
    assert lines[0] == ("iteration 60 (epoch 0 of 5, batch 60/100): 1.00 it/s, D LL -1.00, "
                        "G LL -2.00, infogan loss 1.50")
    assert not any(line.startswith("epoch") for line in lines)  # never mistaken for epoch lines
    quiet = io.StringIO()
    silent = Progress(num_batches=10, epochs=1, terminal=False, status_every=0, stream=quiet,
                      clock=clock)
    for iteration in range(10):
        clock.now += 100
        silent.update(iteration, 0, iteration + 1, history([-1.0], [-2.0]))
    assert quiet.getvalue() == ""
