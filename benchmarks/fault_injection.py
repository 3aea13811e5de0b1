"""Interrupts small training runs at random moments, resumes each, and checks that nothing was lost.

Each trial starts `train.py` on a small network and interrupts it: kill -9 at a random moment,
kill -9 while a checkpoint is being written, kill -9 right after an event flush, SIGTERM, SIGINT,
two SIGINTs in quick succession, kill -9 right after the first checkpoint (a run with one
checkpoint), or kill -9 before the first checkpoint. Every other trial gives `--logdir` as a path
relative to the current folder. After each interruption the run is read the way users read it,
with `evaluate` or `sample`, and the checkpoints folder must be left exactly as it was. Every third
trial is interrupted a second time while it resumes. Then it resumes to the end with the
`--resume=...` that the interrupted process printed (or the run's folder where it printed none),
and is compared with one uninterrupted run of the same flags:

- the epoch lines (every epoch's line, from any process, equal to the uninterrupted run's),
- every TensorBoard scalar, as TensorBoard reads the log folder (its default orphan purge),
- duplicate steps TensorBoard would show (per tag),
- temporary files left in the checkpoints folder,
- checkpoints holding NaN or Inf,
- whether evaluate/sample changed anything in the checkpoints folder.

    python benchmarks/fault_injection.py --trials 30

It prints one row per trial, then the summary line, e.g.
`30/30 resumed exactly (epoch lines and scalars equal to the uninterrupted run), 0 duplicate
steps, 0 temporary files left, 0 non-finite checkpoints, 0 runs changed by evaluate/sample`.
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# A small network whose checkpoints (about 40 MB) take long enough to write to be hit mid-write.
FLAGS = ["--generator", "fc:1024,fc:7x7x64,reshape:7:7:64,deconv:4:2:32,deconv:4:2:1:sigmoid",
         "--discriminator", "conv:4:2:32:lrelu,conv:4:2:64:lrelu,fc:64:lrelu",
         "--max_images", "640", "--batch_size", "32", "--epochs", "3", "--plot_every", "7",
         "--checkpoint_every", "4", "--status_every", "0"]
MODES = ("kill -9 at a random moment", "kill -9 during a checkpoint write",
         "kill -9 after an event flush", "SIGTERM", "SIGINT", "two SIGINTs",
         "kill -9 after the first checkpoint", "kill -9 before the first checkpoint")
SECOND_MODES = ("kill -9 at a random moment", "SIGTERM", "two SIGINTs")
TEMPORARY = re.compile(r"(_temp|\.tmp)")


def train(log_dir, cwd, *args):
    """Starts train.py with the trial flags (or with `args` alone when given) in folder `cwd`."""
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "train.py"),
                             *(args or [*FLAGS, "--logdir", log_dir])], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def epoch_lines(text):
    return [line for line in text.splitlines() if line.startswith("epoch ") and " LL " in line]


def wait_for(condition, process, timeout):
    """Polls `condition` until it holds (True) or the process ends / time runs out (False)."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if condition():
            return True
        time.sleep(0.001)
    return False


def events_size(log_dir):
    return sum(os.path.getsize(os.path.join(log_dir, name)) for name in os.listdir(log_dir)
               if name.startswith("events.out")) if os.path.isdir(log_dir) else 0


def interrupt(process, log_dir, mode, rng):
    """Interrupts the run as `mode` says (most modes after its first checkpoint).

    Returns:
      what was observed at the moment of the interruption, for the report.
    """
    folder = os.path.join(log_dir, "checkpoints")
    if mode == "kill -9 before the first checkpoint":
        started = wait_for(lambda: events_size(log_dir) > 0, process, 300)
        process.kill()
        written = os.path.isdir(folder) and any(n.endswith(".index") for n in os.listdir(folder))
        return "after a checkpoint" if written else ("before any" if started else "not started")
    if not wait_for(lambda: os.path.exists(os.path.join(folder, "checkpoint")), process, 300):
        return "ended before its first checkpoint"
    if mode == "kill -9 after the first checkpoint":
        process.kill()
        return "%d checkpoint(s)" % sum(name.endswith(".index") for name in os.listdir(folder))
    if mode == "kill -9 during a checkpoint write":
        writing = wait_for(lambda: any("_temp" in name for name in os.listdir(folder)), process, 60)
        process.kill()
        return "mid-write" if writing else "no write seen"
    if mode == "kill -9 after an event flush":
        size = events_size(log_dir)
        flushed = wait_for(lambda: events_size(log_dir) > size, process, 60)
        process.kill()
        return "after a flush" if flushed else "no flush seen"
    time.sleep(rng.uniform(0.0, 4.0))
    if process.poll() is not None:
        return "ended first"
    if mode == "kill -9 at a random moment":
        process.kill()
    elif mode == "SIGTERM":
        process.send_signal(signal.SIGTERM)
    else:
        process.send_signal(signal.SIGINT)
        if mode == "two SIGINTs":
            time.sleep(rng.uniform(0.0, 0.3))
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
    return "running"


def checkpoint_files(log_dir):
    """{name: (size, mtime)} of the checkpoints folder."""
    folder = os.path.join(log_dir, "checkpoints")
    if not os.path.isdir(folder):
        return {}
    return {name: (os.path.getsize(os.path.join(folder, name)),
                   os.path.getmtime(os.path.join(folder, name))) for name in os.listdir(folder)}


def read_run(log_arg, cwd, work_dir, use_evaluate):
    """Runs `evaluate` or `sample` on the run as a user would.

    Returns:
      (exit status, whether the checkpoints folder is exactly as it was before).
    """
    log_dir = os.path.join(cwd, log_arg)
    before = checkpoint_files(log_dir)
    if use_evaluate:
        args = ["evaluate", "--logdir", log_arg]
    else:
        args = ["sample", "--logdir", log_arg, "--num", "8",
                "--out", os.path.join(work_dir, "sample.png")]
    result = subprocess.run([sys.executable, "-m", "infogan", *args], capture_output=True,
                            text=True, timeout=600, cwd=cwd,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    no_checkpoint = "no checkpoint in" in result.stderr
    return (0 if no_checkpoint else result.returncode), checkpoint_files(log_dir) == before


def tensorboard_scalars(log_dir):
    """{tag: {step: value}} as TensorBoard shows the folder."""
    from infogan.training.summaries import read_logs
    by_tag = {}
    for step, values in read_logs(log_dir)[0].items():
        for tag, value in values.items():
            by_tag.setdefault(tag, {})[step] = value
    return by_tag


def non_finite_checkpoints(log_dir):
    import tensorflow as tf
    from infogan.training.checkpoints import checkpoints_on_disk
    bad = 0
    for path in checkpoints_on_disk(os.path.join(log_dir, "checkpoints")):
        reader = tf.train.load_checkpoint(path)
        for name, dtype in reader.get_variable_to_dtype_map().items():
            if dtype.is_floating and not np.all(np.isfinite(reader.get_tensor(name))):
                bad += 1
                break
    return bad


def resume_arguments(stderr, log_arg):
    """The --resume=... of the command an interrupted run printed, else one for its folder."""
    printed = re.findall(r"Resume with: .* (--resume=\S+)$", stderr, re.MULTILINE)
    return printed[-1] if printed else "--resume=%s" % log_arg


def trial(number, mode, work_dir, reference, rng):
    """One run interrupted once or twice and resumed; returns a dict of what it found."""
    relative = number % 2 == 1
    name = "trial%02d" % number
    log_arg, cwd = (name, work_dir) if relative else (os.path.join(work_dir, name), ROOT)
    log_dir = os.path.join(cwd, log_arg)
    process = train(log_arg, cwd)
    seen = [interrupt(process, log_dir, mode, rng)]
    out, err = process.communicate(timeout=600)
    outputs, statuses = [out], [process.returncode]
    reads = [read_run(log_arg, cwd, work_dir, number % 4 < 2)]
    resume = resume_arguments(err, log_arg)
    if number % 3 == 0:
        second = SECOND_MODES[(number // 3) % len(SECOND_MODES)]
        process = train(log_arg, cwd, resume)
        seen.append(interrupt(process, log_dir, second, rng))
        out, err = process.communicate(timeout=600)
        outputs.append(out)
        statuses.append(process.returncode)
        reads.append(read_run(log_arg, cwd, work_dir, number % 4 >= 2))
        resume = resume_arguments(err, log_arg)
    resumed = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), resume],
                             cwd=cwd, capture_output=True, text=True, timeout=600)
    complete = "is complete" in resumed.stderr
    ok_status = resumed.returncode == 0 or complete
    lines = [line for text in outputs + [resumed.stdout] for line in epoch_lines(text)]
    by_epoch = {int(line.split()[1]): line for line in lines}
    lines_ok = (all(line == reference["lines"][int(line.split()[1])] for line in lines)
                and sorted(by_epoch) == list(range(len(reference["lines"]))))
    from infogan.training.summaries import count_duplicate_steps
    duplicates = count_duplicate_steps(log_dir)
    scalars_ok = tensorboard_scalars(log_dir) == reference["scalars"]
    temporary = [name for name in os.listdir(os.path.join(log_dir, "checkpoints"))
                 if TEMPORARY.search(name)]
    reads_ok = all(status == 0 and untouched for status, untouched in reads)
    return dict(number=number, mode=mode + ("; resumed, then %s" % second if number % 3 == 0 else ""),
                path="relative" if relative else "absolute", seen=", ".join(seen),
                statuses="/".join(map(str, statuses)), resume_status=resumed.returncode,
                exact=ok_status and lines_ok and scalars_ok and reads_ok, lines_ok=lines_ok,
                scalars_ok=scalars_ok, duplicates=duplicates, temporary=len(temporary),
                non_finite=non_finite_checkpoints(log_dir), reads_ok=reads_ok,
                error=(resumed.stderr.strip().splitlines() or [""])[-1] if not ok_status else "")


def main():
    from infogan.cli.common import import_tensorflow
    import_tensorflow()  # quietly
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="kill-and-resume trials")
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    parser.add_argument("--workdir", default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work_dir = args.workdir or tempfile.mkdtemp(prefix="infogan_faults_")
    os.makedirs(work_dir, exist_ok=True)
    start = time.time()
    process = train(os.path.join(work_dir, "uninterrupted"), ROOT)
    out, err = process.communicate(timeout=900)
    if process.returncode != 0:
        sys.exit("the uninterrupted run failed:\n%s" % err[-2000:])
    reference = {"lines": epoch_lines(out),
                 "scalars": tensorboard_scalars(os.path.join(work_dir, "uninterrupted"))}
    print("flags: %s" % " ".join(FLAGS))
    print("| trial | interruptions | --logdir | observed | exits | resume exit | epoch lines | "
          "scalars | duplicate steps | temp files | non-finite ckpts | evaluate/sample left it |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for number in range(args.trials):
        result = trial(number, MODES[number % len(MODES)], work_dir, reference, rng)
        results.append(result)
        print("| %(number)d | %(mode)s | %(path)s | %(seen)s | %(statuses)s | "
              "%(resume_status)s | %(lines_ok)s | %(scalars_ok)s | %(duplicates)d | %(temporary)d | "
              "%(non_finite)d | %(reads_ok)s |" % result + (" %s" % result["error"] if result["error"] else ""),
              flush=True)
    exact = sum(result["exact"] for result in results)
    print("%d/%d resumed exactly (epoch lines and scalars equal to the uninterrupted run), %d duplicate "
          "steps, %d temporary files left, %d non-finite checkpoints, %d runs changed by "
          "evaluate/sample (%.0f s)" % (
              exact, len(results), sum(r["duplicates"] for r in results),
              sum(r["temporary"] for r in results), sum(r["non_finite"] for r in results),
              sum(not r["reads_ok"] for r in results), time.time() - start))
    if args.workdir is None:
        shutil.rmtree(work_dir, ignore_errors=True)
    sys.exit(0 if exact == len(results) else 1)


if __name__ == "__main__":
    main()
