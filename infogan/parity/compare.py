"""Comparing the TF1 code's numbers with the port's: differences, verdicts, and the printed report.

NumPy only (no model code); `infogan.parity.runner` produces the numbers. Relative differences are
|a - b| / max(|a|, |b|) for scalars, and max|a - b| / max(max|a|, max|b|) for a tensor.
"""
import dataclasses

import numpy as np

from infogan.parity import IMAGE_RACE_LEVELS
from infogan.training.tf1_checkpoint import is_ignored_tf1_name

# Per-iteration values compared, in table order; the first three are shown side by side.
COMPARED_KEYS = ("discriminator_objective", "generator_objective", "mutual_info_objective",
                 "d_step_infogan_loss", "g_step_infogan_loss", "ll_categorical_objective",
                 "ll_continuous_objective", "std_contig")
SHOWN = (("D obj", "discriminator_objective"), ("G obj", "generator_objective"),
         ("MI", "mutual_info_objective"))


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """The parity targets (float32, CPU)."""
    forward: float = 1e-5     # max absolute difference of forward outputs
    objective: float = 1e-4   # relative difference of each logged value, every iteration
    parameter: float = 1e-3   # relative difference of each variable after the run
    image: float = 1.0        # max difference of an image summary's pixels, in 1/255 steps
    image_race: float = IMAGE_RACE_LEVELS  # racy images (`image_warnings`): warnings up to this


def relative_difference(a, b):
    """max|a - b| / max(max|a|, max|b|); 0 when both are all zeros."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    difference = np.max(np.abs(a - b), initial=0.0)
    return 0.0 if difference == 0 else difference / scale


def max_abs_difference(a, b):
    """max|a - b| over all elements."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)), initial=0.0))


@dataclasses.dataclass
class IterationComparison:
    """What a comparison measured.

    Attributes:
      title: what the TF1 side was, and where it started from.
      forward: {output name: max abs difference} ({} when not measured).
      rows: list of IterationRow.
      states: compare_states() of the variables after the run ([] when not measured).
      images: compare_images() of the image summaries ([] when nothing was plotted).
      epoch_lines: (TF1 side's, port's) printed epoch lines, or None when not compared.
    """
    title: str
    forward: dict
    rows: list
    states: list
    images: list = dataclasses.field(default_factory=list)
    epoch_lines: tuple = None


@dataclasses.dataclass
class IterationRow:
    """One iteration of both runs: the values each logged, and their largest differences."""
    iteration: int
    tf1: dict
    port: dict
    max_abs: float
    max_rel: float


def compare_iterations(tf1_records, port_records):
    """Pairs the per-iteration values of both runs over the keys both logged.

    Args:
      tf1_records, port_records: lists of {key: value}, one per iteration.

    Returns:
      list of IterationRow (as many as the shorter list).
    """
    rows = []
    for iteration, (tf1, port) in enumerate(zip(tf1_records, port_records)):
        keys = [key for key in COMPARED_KEYS if key in tf1 and key in port]
        rows.append(IterationRow(
            iteration, tf1, port,
            max((max_abs_difference(tf1[k], port[k]) for k in keys), default=0.0),
            max((relative_difference(tf1[k], port[k]) for k in keys), default=0.0)))
    return rows


def iteration_table(rows, tf1_name="TF1", max_rows=None):
    """The side-by-side table: per iteration D obj, G obj, MI of each run and the differences.

    With more than `max_rows` rows, one line instead: how many iterations, and the worst.
    """
    if max_rows is not None and len(rows) > max_rows:
        worst = max(rows, key=lambda row: row.max_rel)
        return ["%d iterations compared; largest relative difference %.3g (iteration %d)" % (
            len(rows), worst.max_rel, worst.iteration)]
    header = ["iter"]
    for title, _ in SHOWN:
        header += ["%s (%s)" % (title, tf1_name), "%s (port)" % title]
    header += ["max abs diff", "max rel diff"]
    lines = [" ".join("%14s" % h if i else "%4s" % h for i, h in enumerate(header))]
    for row in rows:
        cells = ["%4d" % row.iteration]
        for _, key in SHOWN:
            cells += [_cell(row.tf1.get(key)), _cell(row.port.get(key))]
        cells += ["%14.3g" % row.max_abs, "%14.3g" % row.max_rel]
        lines.append(" ".join(cells))
    return lines


def _cell(value):
    return "%14s" % "-" if value is None else "%14.8g" % value


def compare_states(tf1_state, port_state):
    """Relative difference of every variable both states hold (conv-EMA Adam slots ignored).

    Returns:
      list of (relative difference, max abs difference, TF1 name), largest first.
    """
    names = [name for name in port_state if name in tf1_state and not is_ignored_tf1_name(name)]
    result = [(relative_difference(tf1_state[n], port_state[n]),
               max_abs_difference(tf1_state[n], port_state[n]), n) for n in names]
    return sorted(result, reverse=True)


def compare_images(tf1_images, port_images):
    """Pixel differences of every image summary either side wrote.

    Args:
      tf1_images, port_images: {step: {tag: uint8 pixels [H, W, C]}}.

    Returns:
      list of (step, tag, max abs pixel difference), sorted; the difference is None where only
      one side has the image or the shapes differ.
    """
    result = []
    for step in sorted(set(tf1_images) | set(port_images)):
        tf1, port = tf1_images.get(step, {}), port_images.get(step, {})
        for tag in sorted(set(tf1) | set(port)):
            if tag in tf1 and tag in port and tf1[tag].shape == port[tag].shape:
                result.append((step, tag, max_abs_difference(tf1[tag], port[tag])))
            else:
                result.append((step, tag, None))
    return result


def image_lines(differences):
    """One line for the image summaries: how many are identical, the steps, the worst."""
    if not differences:
        return []
    steps = sorted({step for step, _, _ in differences})
    identical = sum(1 for _, _, value in differences if value == 0)
    measured = [value for _, _, value in differences if value is not None]
    return ["image summaries at steps %s: %d of %d identical, largest pixel difference %s" % (
        ", ".join(map(str, steps)), identical, len(differences),
        "%.0f/255" % max(measured) if measured else "-")]


def epoch_line_lines(epoch_lines, tf1_name="TF1"):
    """Both sides' epoch lines and whether they are identical."""
    if epoch_lines is None:
        return []
    tf1, port = epoch_lines
    return (["%s:" % tf1_name] + list(tf1) + ["port:"] + list(port)
            + ["epoch lines identical: %s" % ("yes" if tf1 and tf1 == port else "NO")])


def state_lines(differences, top=5):
    """How many variables are identical, then the largest relative differences, one line each."""
    different = [item for item in differences if item[1] > 0]
    lines = ["variables after the run: %d of %d identical%s" % (
        len(differences) - len(different), len(differences),
        "; largest relative differences:" if different else "")]
    for relative, absolute, name in different[:top]:
        lines.append("  %-90s rel %.3g  abs %.3g" % (name, relative, absolute))
    return lines


def forward_lines(differences):
    """One line per forward output: its max absolute difference."""
    lines = ["forward outputs at the start (max abs difference):"]
    lines += ["  %-34s %.3g" % (name, value) for name, value in differences.items()]
    return lines


def verdict(tolerances, forward=None, rows=(), states=(), images=(), epoch_lines=None):
    """The targets missed, as lines (empty when every target is met)."""
    failures = []
    if epoch_lines is not None and (not epoch_lines[0] or epoch_lines[0] != epoch_lines[1]):
        failures.append("epoch lines differ")
    for name, value in (forward or {}).items():
        if value > tolerances.forward:
            failures.append("forward %s: max abs difference %.3g > %g" % (name, value, tolerances.forward))
    for row in rows:
        if row.max_rel > tolerances.objective:
            failures.append("iteration %d: relative difference %.3g > %g" % (
                row.iteration, row.max_rel, tolerances.objective))
    failures += image_failures(tolerances, images)
    for relative, _, name in states:
        if relative > tolerances.parameter:
            failures.append("parameter %s: relative difference %.3g > %g" % (
                name, relative, tolerances.parameter))
    return failures


def image_failures(tolerances, images):
    """The image summaries beyond `tolerances.image`, or written by one side only, as lines."""
    failures = []
    for step, tag, value in images:
        if value is None:
            failures.append("image %s at step %d: only one side wrote it" % (tag, step))
        elif value > tolerances.image:
            failures.append("image %s at step %d: pixel difference %.0f > %g" % (
                tag, step, value, tolerances.image))
    return failures


def image_warnings(comparison, tolerances):
    """The image differences that are warnings, not failures, in a comparison of racy images.

    The TF1 code's plots read its conv batch norm's moving averages with no order against their
    update (docs/tf1_semantics.md §3), so its images may change from run to run. They are warnings
    when every other target is met and each difference is within `tolerances.image_race`.

    Returns:
      the image failures' lines when they are warnings, else [].
    """
    images = image_failures(tolerances, comparison.images)
    others = verdict(tolerances, comparison.forward, comparison.rows, comparison.states,
                     epoch_lines=comparison.epoch_lines)
    within_race = all(value is not None and value <= tolerances.image_race
                      for _, _, value in comparison.images)
    return images if images and within_race and not others else []


def summary_line(comparison, tolerances):
    """One line: each target, met or not, with the largest measured difference."""
    measured = []
    if comparison.forward:
        measured.append(("forward (abs)", max(comparison.forward.values()), tolerances.forward))
    measured.append(("objectives (rel)", max((row.max_rel for row in comparison.rows), default=0.0),
                     tolerances.objective))
    if comparison.states:
        measured.append(("parameters (rel)", comparison.states[0][0], tolerances.parameter))
    pixels = [value for _, _, value in comparison.images if value is not None]
    if pixels:
        measured.append(("images (pixel levels)", max(pixels), tolerances.image))
    return "largest differences: " + ", ".join(
        "%s %.3g (<= %g %s)" % (name, worst, bound, "met" if worst <= bound else "NOT MET")
        for name, worst, bound in measured)


def report_lines(comparison, description, tolerances, max_failures=10, max_rows=None,
                 racy_images=False):
    """The whole printed report.

    Args:
      comparison: IterationComparison.
      description: one line saying what was compared (networks, batch size...).
      max_rows: print the per-iteration table up to this many rows, else its summary.
      racy_images: the TF1 side's images may race (see `image_warnings`): image differences
        within the race's size are warnings when every other target is met.

    Returns:
      (lines, True when every target is met).
    """
    lines = ["TF1 side: %s" % comparison.title, description]
    if comparison.forward:
        lines += forward_lines(comparison.forward)
    lines += epoch_line_lines(comparison.epoch_lines)
    lines += iteration_table(comparison.rows, max_rows=max_rows)
    lines += image_lines(comparison.images)
    if comparison.states:
        lines += state_lines(comparison.states)
    failures = verdict(tolerances, comparison.forward, comparison.rows, comparison.states,
                       comparison.images, comparison.epoch_lines)
    warnings = image_warnings(comparison, tolerances) if racy_images else []
    failures = [failure for failure in failures if failure not in warnings]
    lines.append(summary_line(comparison, tolerances))
    lines += ["WARNING: %s" % warning for warning in warnings[:max_failures]]
    if len(warnings) > max_failures:
        lines.append("WARNING: ... and %d more" % (len(warnings) - max_failures))
    if warnings:
        lines.append("WARNING: every other target is met; the TF1 code's plots race with its conv "
                     "batch norm's moving-average update, so its images can differ by up to %g "
                     "levels between runs: run the TF1 side on a quiet machine to compare images"
                     % tolerances.image_race)
    lines += ["BEYOND TOLERANCE: %s" % failure for failure in failures[:max_failures]]
    if len(failures) > max_failures:
        lines.append("BEYOND TOLERANCE: ... and %d more" % (len(failures) - max_failures))
    return lines, not failures
