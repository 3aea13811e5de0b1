"""Disentanglement over seeds: train on MNIST with several seeds, evaluate after each epoch.

Each seed's run `<workdir>/<setting>/seed<k>` is trained one epoch at a time (resumed from its
epoch-end checkpoint, which is exact) and evaluated after each epoch with
`infogan.tools.evaluate`: the Q network's unsupervised categorical accuracy on the 10000 MNIST
test images (one-to-one by Hungarian matching, and many-to-one), NMI, ARI and the continuous codes'
correlations. Seeds run one after the other, each to --epochs.

The figures (numbers only) go to `<results_dir>/<setting>.json`, a file kept in the repository:
with --commit, each new figure is committed as it comes in. A later call, on this machine or
another, continues from that file: a seed whose epochs are all there is done; a seed whose run is
on this machine goes on from its checkpoint; a seed recorded part-way on another machine is trained
again from its start (its path cannot be continued elsewhere: rounding differs between CPUs), and
its figures are replaced. Each figure records the CPU it was measured on.

Prints, per epoch, the median and range over seeds of the one-to-one accuracy, NMI and ARI, and
the fraction of seeds at >= 90% and >= 95%; then every seed's accuracy; then, per epoch and seed,
the categories that mix digits and the digits that lead no category; then the mean of each
objective over each epoch (--report prints them without training).

    python benchmarks/quality.py --set recipe=paper --set fast=true --epochs 10 --commit
    python benchmarks/quality.py --set recipe=paper --set fast=true --report

--set changes a train.py flag (a field of TrainConfig or ModelConfig) from the default; runs with
different settings live in different folders and files.
"""
import dataclasses
import fcntl
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

from infogan.config import TrainConfig, load_run_config, resumed_config, with_recipe  # noqa: E402
from infogan.model.config import ModelConfig  # noqa: E402

flags.DEFINE_list("seeds", ["1234", "1", "2", "3", "4"], "Seeds (train.py --seed), one run each.")
flags.DEFINE_integer("epochs", 10, "Train and evaluate up to this many epochs.")
flags.DEFINE_string("workdir", "quality_log", "The runs go under <workdir>/<setting>/.")
flags.DEFINE_string("results_dir", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                "quality_results"),
                    "The figures go to <results_dir>/<setting>.json.")
flags.DEFINE_boolean("commit", False, "git-commit the results file after each new figure, so that "
                     "a measurement survives the machine.")
flags.DEFINE_multi_string("set", [], "KEY=VALUE: a train.py flag changed from its default.")
flags.DEFINE_integer("max_images", None, "Train on the first N MNIST images (quick checks).")
flags.DEFINE_boolean("report", False, "Only print the tables of what the results file holds; "
                     "train nothing.")
flags.DEFINE_multi_string("time_to_accuracy", [], "Train nothing; print the time-to-accuracy table "
                          "of this setting (a results file's name without .json, e.g. defaults or "
                          "fast=true,recipe=paper); repeat the flag for several rows.")
flags.DEFINE_list("thresholds", ["0.7", "0.9", "0.95"], "One-to-one accuracies of the time-to-"
                  "accuracy table.")
FLAGS = flags.FLAGS

ACCURACY_LEVELS = (0.9, 0.95)  # the summary's "fraction of seeds at or above" columns
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


def train_to_epoch(run_dir, seed, epoch, train_changes, model_changes):
    """Trains the run in `run_dir` up to `epoch` epochs: resumes it from its newest checkpoint, or
    starts it when it has none."""
    from infogan.training import loop
    if not has_checkpoint(run_dir):
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


def has_checkpoint(run_dir):
    from infogan.training import checkpoints
    return bool(checkpoints.checkpoints_on_disk(os.path.join(run_dir, checkpoints.CHECKPOINT_SUBDIR)))


def epochs_on_disk(run_dir):
    """The whole epochs that the newest checkpoint of the run in `run_dir` trained; 0 when it has
    none (or none that can be read)."""
    from infogan.training import checkpoints
    newest = checkpoints.peek_newest(run_dir)
    if newest is None:
        return 0
    return newest.epochs_completed(load_run_config(run_dir).run.batch_size)


def recorded_epochs(seed_results):
    """The number of epochs recorded one after the other from epoch 1."""
    epoch = 0
    while str(epoch + 1) in seed_results:
        epoch += 1
    return epoch


def set_aside(run_dir):
    if os.path.exists(run_dir):
        os.rename(run_dir, "%s.set-aside-%d" % (run_dir, time.time()))


def advance_seed(seed, seed_results, target, setting_dir, changes, record):
    """Trains and evaluates one seed epoch by epoch up to `target`, calling `record(epoch)` after
    each new figure. A seed recorded further than its run on this machine got is started again."""
    run_dir = os.path.join(setting_dir, "seed%d" % seed)
    done = recorded_epochs(seed_results)
    if done >= target:
        return
    on_disk = epochs_on_disk(run_dir)
    if on_disk < done:
        print("seed %d: epochs 1-%d were measured on another machine (%s) and its run here has %d; "
              "training it again from its start, replacing them%s" % (
                  seed, done, seed_results[str(done)].get("cpu", "unknown CPU"), on_disk,
                  " (the run here is set aside)" if os.path.exists(run_dir) else ""), flush=True)
        seed_results.clear()
        done = 0
        set_aside(run_dir)
    if done == 0 and not has_checkpoint(run_dir):
        set_aside(run_dir)  # killed in its first minutes: nothing to resume from
    for epoch in range(done + 1, target + 1):
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        train_to_epoch(run_dir, seed, epoch, *changes)
        seconds = time.perf_counter() - start
        entry = measure(run_dir)
        previous = seed_results.get(str(epoch - 1), {})
        objectives, last_step = epoch_objectives(run_dir, previous.get("last_step", -1))
        entry.update(train_seconds=previous.get("train_seconds", 0.0) + seconds,
                     epoch_seconds=seconds, epoch_cpu_seconds=_cpu_seconds() - cpu_start,
                     cpu=cpu_name(), objectives=objectives, last_step=last_step)
        seed_results[str(epoch)] = entry
        record(seed, epoch, entry)


def epoch_objectives(run_dir, after_step):
    """The mean of each scalar the run logged to TensorBoard (D's, G's and the MI objectives...)
    over its iterations after `after_step`, and the last iteration logged.

    Returns:
      ({tag: mean}, last step), or ({}, after_step) when nothing was logged after it.
    """
    import glob
    import tensorflow as tf
    values = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            if event.step <= after_step:
                continue
            for value in event.summary.value:
                if value.HasField("tensor") and not value.tensor.string_val:
                    values[value.tag, event.step] = float(tf.make_ndarray(value.tensor))
                elif value.HasField("simple_value"):
                    values[value.tag, event.step] = value.simple_value
    by_tag = {}
    for (tag, _), number in values.items():  # a step logged twice (before a resume) counts once
        by_tag.setdefault(tag, []).append(number)
    last = max((step for _, step in values), default=after_step)
    return {tag: sum(numbers) / len(numbers) for tag, numbers in sorted(by_tag.items())}, last


def cpu_name():
    """The CPU's model name and its 16-bit matrix features, as lscpu names them."""
    name, flags_seen = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() == "flags":
                    flags_seen = set(value.split())
                    break
    except OSError:
        pass
    features = [flag for flag in ("amx_bf16", "avx512_bf16") if flag in flags_seen]
    return "%s, %d cores%s" % (name, os.cpu_count(), (" (%s)" % ", ".join(features)) if features else "")


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


def record_seed(path, seed, seed_results):
    """Writes one seed's figures into the results file and keeps the other seeds' as the file has
    them now: another quality.py may be running other seeds of the same setting. The results
    folder is locked meanwhile."""
    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        results = load_results(path)
        results[str(seed)] = seed_results
        save_results(path, results)
    finally:
        os.close(folder)  # and the lock with it


def seed_table(results, seeds, epochs):
    """Markdown lines: one row per epoch; per seed, one-to-one / many-to-one % and cumulative
    training minutes."""
    lines = ["| epoch | " + " | ".join("seed %s: 1-to-1 / many-to-1 / train min" % s for s in seeds)
             + " |", "|---|" + "---|" * len(seeds)]
    for epoch in range(1, epochs + 1):
        entries = [results.get(str(seed), {}).get(str(epoch)) for seed in seeds]
        if any(entries):
            lines.append("| %d | %s |" % (epoch, " | ".join(
                "not run" if entry is None else "%.1f%% / %.1f%% / %.1f" % (
                    100 * entry["one_to_one"], 100 * entry["many_to_one"],
                    entry["train_seconds"] / 60) for entry in entries)))
    return lines


def _median_range(values, scale, digits):
    text = "%%.%df" % digits
    return "%s (%s-%s)" % tuple(text % (scale * v) for v in (
        statistics.median(values), min(values), max(values)))


def summary_table(results, seeds, epochs):
    """Markdown lines: per epoch, over the seeds measured there, the median (min-max) of the
    one-to-one accuracy, NMI and ARI, and how many seeds reached each of ACCURACY_LEVELS."""
    lines = ["| epoch | seeds | one-to-one % median (min-max) | NMI | ARI | " + " | ".join(
        ">= %g%%" % (100 * level) for level in ACCURACY_LEVELS) + " |",
        "|---|---|---|---|---|" + "---|" * len(ACCURACY_LEVELS)]
    for epoch in range(1, epochs + 1):
        entries = [results[str(seed)][str(epoch)] for seed in seeds
                   if str(epoch) in results.get(str(seed), {})]
        if not entries:
            continue
        accuracies = [entry["one_to_one"] for entry in entries]
        lines.append("| %d | %d | %s | %s | %s | %s |" % (
            epoch, len(entries), _median_range(accuracies, 100, 1),
            _median_range([entry["nmi"] for entry in entries], 1, 3),
            _median_range([entry["ari"] for entry in entries], 1, 3),
            " | ".join("%d/%d" % (sum(a >= level for a in accuracies), len(entries))
                       for level in ACCURACY_LEVELS)))
    return lines


def objectives_table(results, seeds, epochs):
    """Markdown lines: per epoch, the median over seeds of each objective's mean over the epoch."""
    tags = sorted({tag for seed in seeds for entry in results.get(str(seed), {}).values()
                   for tag in entry.get("objectives", {})})
    if not tags:
        return []
    lines = ["| epoch | " + " | ".join(tags) + " |", "|---|" + "---|" * len(tags)]
    for epoch in range(1, epochs + 1):
        entries = [results[str(seed)][str(epoch)].get("objectives", {}) for seed in seeds
                   if str(epoch) in results.get(str(seed), {})]
        if entries:
            lines.append("| %d | %s |" % (epoch, " | ".join(
                "%.3f" % statistics.median([entry[tag] for entry in entries if tag in entry])
                if any(tag in entry for entry in entries) else "-" for tag in tags)))
    return ["Mean of each objective over the epoch, median over seeds:"] + lines


def category_structure(counts):
    """One cell: the categories that mix digits (each digit at least a fifth of the category) and
    the digits that lead no category, e.g. `4/9, 7/9; no 9`."""
    from infogan.tools.metrics import shared_categories, unmatched_labels
    mixed = ", ".join("/".join(str(label) for label, _ in labels)
                      for _, labels in shared_categories(counts))
    missing = unmatched_labels(counts)
    parts = [mixed] if mixed else []
    parts += ["no " + " ".join(str(label) for label in missing)] if missing else []
    return "; ".join(parts) or "one digit each"


def category_table(results, seeds, epochs):
    """Markdown lines: one row per epoch; per seed, which digits its categories mix and which
    digits lead no category (`category_structure`): when a run's structure forms."""
    lines = ["| epoch | " + " | ".join("seed %s: mixed categories; digits without one" % s
                                       for s in seeds) + " |", "|---|" + "---|" * len(seeds)]
    for epoch in range(1, epochs + 1):
        entries = [results.get(str(seed), {}).get(str(epoch)) for seed in seeds]
        if any(entries):
            lines.append("| %d | %s |" % (epoch, " | ".join(
                "not run" if entry is None else category_structure(entry["confusion"])
                for entry in entries)))
    return lines


def shared_category_lines(results, seeds):
    """Per seed, at its last recorded epoch: the categories that mix digits (each digit at least a
    fifth of the category), from the confusion matrix, and the digits that lead no category."""
    from infogan.tools.metrics import shared_categories, unmatched_labels
    lines = []
    for seed in seeds:
        seed_results = results.get(str(seed), {})
        if not seed_results:
            continue
        epoch = max(seed_results, key=int)
        entry = seed_results[epoch]
        mixed = shared_categories(entry["confusion"])
        missing = unmatched_labels(entry["confusion"])
        lines.append("seed %s after epoch %s (%.1f%%): %s%s" % (
            seed, epoch, 100 * entry["one_to_one"], "; ".join(
                "category %d holds %s" % (category, ", ".join("%d %ds" % (count, label)
                                                              for label, count in labels))
                for category, labels in mixed) or "every category is mostly one digit",
            "; no category leads with %s" % ", ".join("%ds" % label for label in missing)
            if missing else ""))
    return lines


def commit_results(path, message):
    """Commits the results file alone (other staged changes stay staged); warns on failure."""
    folder = os.path.dirname(os.path.abspath(path))
    for command in (["git", "add", "--", path], ["git", "commit", "-q", "-m", message, "--", path]):
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            print("quality: warning: %s failed: %s" % (" ".join(command[:2]),
                                                       (done.stderr or done.stdout).strip()),
                  file=sys.stderr, flush=True)
            return


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


def time_to_accuracy_table(results_dir, settings, thresholds):
    """Markdown: per setting, its seeds and how many epochs each ran; per threshold, how many
    seeds reached it, then the epochs and the CPU minutes of training it took (mean (min-max) over
    those seeds), and the best run's. CPU time (user + system of the training process) does not
    depend on what else the machine ran."""
    lines = ["| setting | seeds | epochs run | CPU min/epoch (median) | " + " | ".join(
        "%.0f%%: reached / epochs / CPU minutes / best" % (100 * t) for t in thresholds) + " |",
        "|---|---|---|---|" + "---|" * len(thresholds)]
    for setting in settings:
        results = load_results(os.path.join(results_dir, setting + ".json"))
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
        print("\n".join(time_to_accuracy_table(FLAGS.results_dir, FLAGS.time_to_accuracy,
                                               [float(t) for t in FLAGS.thresholds])))
        return
    try:
        train_changes, model_changes = parse_settings(FLAGS.set)
        seeds = [int(seed) for seed in FLAGS.seeds]
    except ValueError as error:
        sys.exit("quality: error: %s" % error)
    setting = setting_name(FLAGS.set)
    results_path = os.path.join(FLAGS.results_dir, setting + ".json")
    results = load_results(results_path)
    if not FLAGS.report:
        # as infogan-train does, before TensorFlow loads
        TrainConfig(**train_changes).execution.policy().prepare_process()
        setting_dir = os.path.join(FLAGS.workdir, setting)
        os.makedirs(setting_dir, exist_ok=True)
        os.makedirs(FLAGS.results_dir, exist_ok=True)

        def record(seed, epoch, entry):
            record_seed(results_path, seed, results[str(seed)])
            line = "%s, seed %d epoch %d: one-to-one %.2f%%, many-to-one %.2f%%, NMI %.3f, %.0f s" % (
                setting, seed, epoch, 100 * entry["one_to_one"], 100 * entry["many_to_one"],
                entry["nmi"], entry["epoch_seconds"])
            print(line, flush=True)
            if FLAGS.commit:
                commit_results(results_path, "quality: " + line)

        from infogan.training.loop import TrainingStopped
        try:
            for seed in seeds:
                advance_seed(seed, results.setdefault(str(seed), {}), FLAGS.epochs, setting_dir,
                             (train_changes, model_changes), record)
        except TrainingStopped as stopped:
            print("quality: %s\nThe same command continues from there." % stopped, file=sys.stderr)
            sys.exit(130)
        print("setting: %s; peak RSS of this process %.2f GB" % (
            setting, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))
        results = load_results(results_path)  # with what other processes recorded meanwhile
    print("\n".join(summary_table(results, seeds, FLAGS.epochs)))
    print()
    print("\n".join(seed_table(results, seeds, FLAGS.epochs)))
    print()
    print("\n".join(category_table(results, seeds, FLAGS.epochs)))
    print()
    print("\n".join(shared_category_lines(results, seeds)))
    print()
    print("\n".join(objectives_table(results, seeds, FLAGS.epochs)))


if __name__ == "__main__":
    app.run(main)
