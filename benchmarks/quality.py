"""Disentanglement vs training time: train on MNIST with several seeds, evaluate after each epoch.

For every epoch (outer loop) and seed (inner loop, so an interrupted benchmark leaves a balanced
table) it trains one more epoch of the run `<workdir>/<setting>/seed<k>` (resuming it from its
epoch-end checkpoint, which is exact) and runs `infogan.tools.evaluate` on it: the Q network's
unsupervised categorical accuracy on the 10000 MNIST test images (one-to-one by Hungarian
matching, and many-to-one) and the continuous codes' correlations. Results are kept in
`results.json` next to the runs, so a later call with a larger --epochs continues where this one
stopped. Prints a markdown table: accuracy per seed and epoch, cumulative training wall time
(--report prints it without training).

    python benchmarks/quality.py --seeds 1234,1,2 --epochs 10
    python benchmarks/quality.py --seeds 1234,1,2 --epochs 10 --set categorical_lambda=2

--set changes a train.py flag (a field of TrainConfig or ModelConfig) from the default; runs with
different settings live in different folders.
"""
import dataclasses
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

from infogan.config import TrainConfig, resumed_config, with_recipe  # noqa: E402
from infogan.model.config import ModelConfig  # noqa: E402

flags.DEFINE_list("seeds", ["1234", "1", "2"], "Seeds (train.py --seed), one run each.")
flags.DEFINE_integer("epochs", 10, "Train and evaluate up to this many epochs.")
flags.DEFINE_string("workdir", "quality_log",
                    "Runs and results.json go under <workdir>/<setting>/.")
flags.DEFINE_multi_string("set", [], "KEY=VALUE: a train.py flag changed from its default.")
flags.DEFINE_integer("max_images", None, "Train on the first N MNIST images (quick checks).")
flags.DEFINE_boolean("report", False, "Only print the table of what results.json holds; train nothing.")
flags.DEFINE_multi_string("time_to_accuracy", [], "Train nothing; print the time-to-accuracy table "
                          "of this setting (a folder name under --workdir, e.g. defaults or "
                          "fast=true,recipe=paper); repeat the flag for several rows.")
flags.DEFINE_list("thresholds", ["0.7", "0.9", "0.95"], "One-to-one accuracies of the time-to-"
                  "accuracy table.")
FLAGS = flags.FLAGS

RESULTS_FILE = "results.json"
_MODEL_FIELDS = {field.name for field in dataclasses.fields(ModelConfig)}
_SKIPPED_FIELDS = {"model", "resume", "logdir", "seed", "epochs"}


def parse_settings(assignments):
    """`["k=v", ...]` -> (TrainConfig changes, ModelConfig changes), values typed like the defaults.

    Raises:
      ValueError: an unknown key or a value of the wrong type.
    """
    train_changes, model_changes = {}, {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep:
            raise ValueError("--set %r: expected KEY=VALUE" % assignment)
        defaults = TrainConfig().flat()
        if key == "recipe":
            train_changes[key] = text
            continue
        if key in _SKIPPED_FIELDS or key not in defaults:
            raise ValueError("--set %r: %r is not a flag this benchmark can change" % (assignment, key))
        default = defaults[key]
        if isinstance(default, bool):
            value = {"true": True, "false": False}.get(text.lower())
            if value is None:
                raise ValueError("--set %r: expected true or false" % assignment)
        elif isinstance(default, tuple):
            value = tuple(int(part) for part in text.split(","))
        else:
            value = type(default)(text)
        (model_changes if key in _MODEL_FIELDS else train_changes)[key] = value
    return train_changes, model_changes


def setting_name(assignments):
    """The folder name of a setting: `defaults`, or the sorted assignments joined by `,`."""
    return ",".join(sorted(assignments)).replace("/", "_") or "defaults"


def train_one_more_epoch(run_dir, seed, epoch, train_changes, model_changes):
    """Trains the run in `run_dir` up to `epoch` epochs, resuming it from its newest checkpoint.

    A run folder left without any checkpoint (killed in its first minutes) is moved aside.
    """
    from infogan.training import checkpoints
    from infogan.training import loop
    has_checkpoint = os.path.exists(os.path.join(run_dir, checkpoints.CHECKPOINT_SUBDIR, "checkpoint"))
    if os.path.exists(run_dir) and not has_checkpoint:
        os.rename(run_dir, "%s.abandoned-%d" % (run_dir, time.time()))
    if not has_checkpoint:
        config = TrainConfig(model=dataclasses.replace(ModelConfig(), **model_changes), seed=seed,
                             epochs=epoch, logdir=run_dir, progress_bar=False, status_every=0,
                             max_images=FLAGS.max_images, **train_changes)
        if "recipe" in train_changes:  # the recipe's values, but for the settings given
            config = with_recipe(config, train_changes["recipe"],
                                 keep=set(train_changes) | set(model_changes))
    else:
        config = resumed_config(run_dir, epochs=epoch)
    try:
        loop.train(config)
    except loop.RunComplete:
        pass  # trained up to `epoch` by an earlier call that stopped before its evaluation


def measure(run_dir):
    """Evaluates the newest checkpoint of a run; returns the figures kept in results.json."""
    from infogan.tools import evaluate
    results = evaluate.evaluate(run_dir)
    return {"one_to_one": results["one_to_one"], "many_to_one": results["many_to_one"],
            "nmi": results["nmi"], "ari": results["ari"],
            "continuous_correlations": [float(c) for c in results.get("continuous_correlations", [])],
            "confusion": results["confusion"].tolist()}


def load_results(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save_results(path, results):
    with open(path + ".tmp", "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)  # a kill never leaves a half-written file


def print_table(results, seeds, epochs):
    """Markdown: one row per epoch; per seed one-to-one % and cumulative training minutes."""
    print("| epoch | " + " | ".join("seed %s: 1-to-1 / many-to-1 / train min" % s for s in seeds)
          + " | seeds >= 95% |")
    print("|---|" + "---|" * len(seeds) + "---|")
    for epoch in range(1, epochs + 1):
        cells, reached = [], 0
        for seed in seeds:
            entry = results.get(str(seed), {}).get(str(epoch))
            if entry is None:
                cells.append("not run")
                continue
            reached += entry["one_to_one"] >= 0.95
            cells.append("%.1f%% / %.1f%% / %.1f" % (100 * entry["one_to_one"],
                                                   100 * entry["many_to_one"],
                                                   entry["train_seconds"] / 60))
        if any(cell != "not run" for cell in cells):
            print("| %d | %s | %d |" % (epoch, " | ".join(cells), reached))


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def epochs_to_reach(seed_results, threshold):
    """(epoch, cumulative training CPU seconds) of the first epoch at or above `threshold`, or
    None."""
    cpu_seconds = 0.0
    for epoch in sorted(seed_results, key=int):
        cpu_seconds += seed_results[epoch]["epoch_cpu_seconds"]
        if seed_results[epoch]["one_to_one"] >= threshold:
            return int(epoch), cpu_seconds
    return None


def _spread(values, digits):
    if not values:
        return "-"
    text = "%%.%df" % digits
    return "%s (%s-%s)" % (text % (sum(values) / len(values)), text % min(values), text % max(values))


def time_to_accuracy_table(workdir, settings, thresholds):
    """Markdown: per setting, its seeds and how many epochs each ran; per threshold, how many
    seeds reached it, then the epochs and the CPU minutes of training it took (mean (min-max) over
    those seeds), and the best run's. CPU time (user + system of the training process) does not
    depend on what else the machine ran."""
    lines = ["| setting | seeds | epochs run | CPU min/epoch (median) | " + " | ".join(
        "%.0f%%: reached / epochs / CPU minutes / best" % (100 * t) for t in thresholds) + " |",
        "|---|---|---|---|" + "---|" * len(thresholds)]
    for setting in settings:
        results = load_results(os.path.join(workdir, setting, RESULTS_FILE))
        epoch_minutes = sorted(entry["epoch_cpu_seconds"] / 60 for seed in results.values()
                               for entry in seed.values())
        runs = sorted(len(seed) for seed in results.values()) or [0]
        cells = [setting, str(len(results)),
                 "%d" % runs[0] if runs[0] == runs[-1] else "%d-%d" % (runs[0], runs[-1]),
                 "%.1f" % epoch_minutes[len(epoch_minutes) // 2] if epoch_minutes else "-"]
        for threshold in thresholds:
            reached = [hit for hit in (epochs_to_reach(seed, threshold) for seed in results.values()) if hit]
            best = min(reached, key=lambda hit: hit[1]) if reached else None
            cells.append("%d/%d / %s / %s / %s" % (
                len(reached), len(results), _spread([e for e, _ in reached], 1),
                _spread([s / 60 for _, s in reached], 1),
                "epoch %d, %.1f CPU min" % (best[0], best[1] / 60) if best else "-"))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv):
    del argv
    absl_logging.set_verbosity(absl_logging.WARNING)
    if FLAGS.time_to_accuracy:
        print("\n".join(time_to_accuracy_table(FLAGS.workdir, FLAGS.time_to_accuracy,
                                               [float(t) for t in FLAGS.thresholds])))
        return
    try:
        train_changes, model_changes = parse_settings(FLAGS.set)
        seeds = [int(seed) for seed in FLAGS.seeds]
    except ValueError as error:
        sys.exit("quality: error: %s" % error)
    # as infogan-train does, before TensorFlow loads
    TrainConfig(**train_changes).execution.policy().prepare_process()
    setting_dir = os.path.join(FLAGS.workdir, setting_name(FLAGS.set))
    os.makedirs(setting_dir, exist_ok=True)
    results_path = os.path.join(setting_dir, RESULTS_FILE)
    results = load_results(results_path)
    for epoch in range(1, 0 if FLAGS.report else FLAGS.epochs + 1):
        for seed in seeds:
            seed_results = results.setdefault(str(seed), {})
            if str(epoch) in seed_results:
                continue
            if epoch > 1 and str(epoch - 1) not in seed_results:
                continue  # its previous epoch failed; nothing to resume from
            run_dir = os.path.join(setting_dir, "seed%d" % seed)
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            train_one_more_epoch(run_dir, seed, epoch, train_changes, model_changes)
            seconds = time.perf_counter() - start
            entry = measure(run_dir)
            previous = seed_results.get(str(epoch - 1), {}).get("train_seconds", 0.0)
            entry.update(train_seconds=previous + seconds, epoch_seconds=seconds,
                         epoch_cpu_seconds=_cpu_seconds() - cpu_start)
            seed_results[str(epoch)] = entry
            save_results(results_path, results)
            print("seed %d epoch %d: one-to-one %.2f%%, many-to-one %.2f%%, %.0f s" % (
                seed, epoch, 100 * entry["one_to_one"], 100 * entry["many_to_one"], seconds),
                flush=True)
    if not FLAGS.report:
        print("setting: %s; peak RSS of this process %.2f GB" % (
            setting_name(FLAGS.set), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))
    print_table(results, seeds, FLAGS.epochs)


if __name__ == "__main__":
    app.run(main)
