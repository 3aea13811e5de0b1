"""The benchmark scripts run and print their tables (tiny settings; timings are not checked).

quality.py: its --set parsing, and a tiny run that it continues when asked for more.
"""
import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT


def run_script(name, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "benchmarks", name), *args],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("implementation", ["tf1", "port_fast"])
def test_op_profile_accounts_for_every_kernel(implementation):
    result = run_script("op_profile.py", "--iterations", "1", "--top", "3", "--implementation",
                        implementation)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(implementation + ", batch 64")
    rows = [line.split(" | ") for line in result.stdout.splitlines() if line.startswith("| ")]
    by_type = rows[1:5]
    assert rows[0][0] == "| op type" and len(by_type) == 4 and "other op types" in by_type[3][0]
    by_work = {row[0][2:]: float(row[1]) for row in rows[6:]}
    assert set(by_work) == {"matmul / conv", "element-wise, reductions, other", "Adam updates"}
    type_total = sum(float(row[1]) for row in by_type)
    assert abs(type_total - sum(by_work.values())) < 0.5  # the same kernels, grouped twice
    assert by_work["matmul / conv"] > 0
    # Kernels only, not the executor events that contain them: at most every core busy all along.
    header = result.stdout.splitlines()[0]
    wall, kernel = (float(header.split(part)[1].split()[0]) for part in ("wall time ", "kernel time "))
    assert kernel <= wall * os.cpu_count() * 1.05, header


QUALITY_SCRIPT = os.path.join(REPO_ROOT, "benchmarks", "quality.py")


@functools.lru_cache(maxsize=None)  # its absl flags can be defined once per process
def load_script():
    spec = importlib.util.spec_from_file_location("quality_benchmark", QUALITY_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_are_typed_like_the_defaults():
    quality = load_script()
    train, model = quality.parse_settings(["categorical_lambda=2", "fix_std=false",
                                           "discriminator_lr=1e-4", "categorical_cardinality=10,10"])
    assert train == {"discriminator_lr": 1e-4}
    assert model == {"categorical_lambda": 2.0, "fix_std": False, "categorical_cardinality": (10, 10)}
    assert quality.setting_name([]) == "defaults"
    assert quality.setting_name(["b=1", "a=2"]) == "a=2,b=1"
    for bad in (["categorical_lambda"], ["nonsense=1"], ["seed=3"], ["fix_std=maybe"],
                ["batch_size=big"]):
        with pytest.raises(ValueError):
            quality.parse_settings(bad)


# Small networks for 28x28 images: most of a tiny run's time is then TensorFlow's start.
SMALL_NETWORKS = {"generator": "fc:16,fc:7x7x4,reshape:7:7:4,deconv:4:2:4,deconv:4:2:1:sigmoid",
                  "discriminator": "conv:4:2:4:lrelu,conv:4:2:8:lrelu,fc:8:lrelu"}
TINY_SETTING = "batch_size=32,discriminator=%(discriminator)s,generator=%(generator)s," \
               "plot_every=1000" % SMALL_NETWORKS


def run_quality(folder, epochs, *extra, machine="here"):
    """quality.py on small networks, its runs in `folder`/`machine`, its results in
    `folder`/results."""
    networks = [item for key, value in sorted(SMALL_NETWORKS.items())
                for item in ("--set", "%s=%s" % (key, value))]
    return run_script("quality.py", "--seeds", "7", "--epochs", str(epochs), "--max_images", "64",
                      "--set", "batch_size=32", "--set", "plot_every=1000", *networks,
                      "--workdir", os.path.join(folder, machine),
                      "--results_dir", os.path.join(folder, "results"), *extra)


def table_lines(output):
    return [line for line in output.splitlines() if line.startswith("| ")]


@pytest.mark.slow
def test_tiny_run_then_continued_here_then_on_another_machine(tmp_path):
    first = run_quality(str(tmp_path), 1)
    assert first.returncode == 0, first.stderr
    shutil.copytree(tmp_path / "here", tmp_path / "elsewhere")  # a copy of the run after epoch 1
    assert "seed 7 epoch 1: one-to-one" in first.stdout
    results_path = tmp_path / "results" / (TINY_SETTING + ".json")
    epoch1 = json.loads(results_path.read_text())["7"]["1"]
    assert 0.1 <= epoch1["one_to_one"] <= epoch1["many_to_one"] <= 1.0
    assert sum(map(sum, epoch1["confusion"])) == 10000 and epoch1["cpu"]
    assert epoch1["last_step"] == 1 and "discriminator_objective" in epoch1["objectives"]  # 2 batches

    second = run_quality(str(tmp_path), 2)  # epoch 1 is kept, epoch 2 resumes the run
    assert second.returncode == 0, second.stderr
    assert "seed 7 epoch 1" not in second.stdout and "seed 7 epoch 2: one-to-one" in second.stdout
    results = json.loads(results_path.read_text())["7"]
    assert results["1"] == epoch1 and results["2"]["train_seconds"] > epoch1["train_seconds"]
    second_epoch2 = results["2"]["one_to_one"]
    assert results["2"]["last_step"] == 3 and "Mean of each objective" in second.stdout
    table = table_lines(second.stdout)
    assert table[0].startswith("| epoch | seeds | one-to-one % median (min-max) | NMI | ARI | >= 90%")
    assert table[1].startswith("| 1 | 1 | %.1f (" % (100 * epoch1["one_to_one"]))
    assert table[2].startswith("| 2 | 1 | ") and table[3].startswith("| epoch | seed 7: ")
    assert table[4].startswith("| 1 | ") and table[5].startswith("| 2 | ")
    assert table[6].startswith("| epoch | seed 7: mixed categories; digits without one |")
    assert len(table) == 12 and table[9].startswith("| epoch | discriminator_objective | ")
    assert "seed 7 after epoch 2 (%.1f%%): " % (100 * results["2"]["one_to_one"]) in second.stdout

    report = run_quality(str(tmp_path), 5, "--report")  # prints what is there, trains nothing
    assert report.returncode == 0, report.stderr
    assert table_lines(report.stdout) == table
    assert json.loads(results_path.read_text())["7"] == results

    third = run_quality(str(tmp_path), 3)  # a run resumed twice is still found to be here
    assert third.returncode == 0, third.stderr
    assert "another machine" not in third.stdout and "seed 7 epoch 2" not in third.stdout
    results = json.loads(results_path.read_text())["7"]
    assert results["2"]["one_to_one"] == second_epoch2 and results["3"]["last_step"] == 5

    # Another machine: the results file came with the repository, its run is behind them (1
    # epoch there, 3 recorded). A seed that is done stays; one to be continued is trained again
    # from its start, the run there set aside.
    assert "seed 7 epoch" not in run_quality(str(tmp_path), 2, machine="elsewhere").stdout
    moved = run_quality(str(tmp_path), 4, machine="elsewhere")
    assert moved.returncode == 0, moved.stderr
    assert "epochs 1-3 were measured on another machine" in moved.stdout
    assert "its run here has 1" in moved.stdout and "set aside" in moved.stdout
    assert all("seed 7 epoch %d: one-to-one" % epoch in moved.stdout for epoch in range(1, 5))
    assert set(json.loads(results_path.read_text())["7"]) == {"1", "2", "3", "4"}
    setting_dir = tmp_path / "elsewhere" / TINY_SETTING
    assert any(name.startswith("seed7.set-aside-") for name in os.listdir(setting_dir))
    quality = load_script()  # epochs on disk: from the newest checkpoint, 0 where there is none
    assert quality.epochs_on_disk(str(setting_dir / "seed7")) == 4
    assert quality.epochs_on_disk(str(tmp_path / "nowhere")) == 0


def test_recording_a_seed_keeps_the_seeds_another_process_recorded(tmp_path):
    quality = load_script()
    path = str(tmp_path / "setting.json")
    mine = {"1": {"one_to_one": 0.5}}
    quality.record_seed(path, 7, mine)
    quality.save_results(path, dict(quality.load_results(path), **{"3": {"1": {"one_to_one": 0.6}}}))
    mine["2"] = {"one_to_one": 0.7}  # this process's next epoch; its copy of the file lacks seed 3
    quality.record_seed(path, 7, mine)
    assert quality.load_results(path) == {"7": mine, "3": {"1": {"one_to_one": 0.6}}}


def test_the_summary_gives_median_range_and_fractions_over_seeds():
    quality = load_script()
    entry = lambda accuracy: {"one_to_one": accuracy, "nmi": accuracy - 0.1, "ari": accuracy - 0.2}  # noqa: E731
    results = {"1": {"1": entry(0.5), "2": entry(0.96)}, "2": {"1": entry(0.7), "2": entry(0.91)},
               "3": {"1": entry(0.6)}}
    lines = quality.summary_table(results, [1, 2, 3], 3)
    assert lines[2] == "| 1 | 3 | 60.0 (50.0-70.0) | 0.500 (0.400-0.600) | 0.400 (0.300-0.500) | 0/3 | 0/3 |"
    assert lines[3] == "| 2 | 2 | 93.5 (91.0-96.0) | 0.835 (0.810-0.860) | 0.735 (0.710-0.760) | 2/2 | 1/2 |"
    assert len(lines) == 4  # epoch 3: nothing measured


def test_the_category_table_says_which_digits_share_and_which_have_none():
    import numpy as np
    quality = load_script()
    clean = np.eye(10, dtype=np.int64) * 100
    merged = clean.copy()
    merged[4, 9], merged[9, 9], merged[9, 1] = 80, 0, 90  # 9s with the 4s; a second category of 1s
    results = {"1": {"1": {"confusion": merged.tolist()}, "2": {"confusion": clean.tolist()}}}
    lines = quality.category_table(results, [1, 2], 3)
    assert lines[2] == "| 1 | 4/9; no 9 | not run |"
    assert lines[3] == "| 2 | one digit each | not run |" and len(lines) == 4


@pytest.mark.slow
def test_throughput_times_each_row_in_its_own_process():
    result = run_script("throughput.py", "--batch_size", "8", "--iterations", "1", "--repeats", "1",
                        "--warmup", "1", "--rows", "port --fast")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == ["| TF1 reference (compat.v1 graph)",
                                                          "| port --fast"]
    assert rows[1].endswith("| 1.00x |") and "CPU vs TF1" in rows[0]  # wall and CPU ratios


@pytest.mark.slow
def test_kernels_times_every_product_in_both_precisions():
    result = run_script("kernels.py", "--batch_size", "2", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "product-form filter gradient checked" in lines[0]
    rows = [line.split(" | ") for line in lines if line.startswith("| ") and "---" not in line]
    products = [row for row in rows if len(row) == 6][1:]
    assert len(products) == 3 * 3 + 2 * 4  # fc and conv layers' products, conv product forms
    assert all(row[5].endswith("x |") and float(row[3]) > 0 for row in products)
    summary = [row[0][2:] for row in rows if len(row) == 4][1:]
    assert summary == ["matmul forward", "matmul input gradient", "matmul weight gradient",
                       "conv forward", "conv input gradient", "conv filter gradient"]


@pytest.mark.slow
def test_scaling_prints_the_efficiency_the_speed_up_and_the_allreduce_volume():
    result = run_script("scaling.py", "--batch_size", "8", "--iterations", "1", "--repeats", "1",
                        "--warmup", "1", "--allreduce_repeats", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("| port, mirrored on 2 logical CPU devices |") for line in lines)
    assert any(line.startswith("mirrored efficiency: ") for line in lines)
    assert any(line.startswith("| port, 2 workers x 1 thread (multi_worker_mirrored") for line in lines)
    assert any(line.startswith("2-worker speed-up: ") for line in lines)
    assert any(line.startswith("one all-reduce of ") and "between the 2 local workers" in line
               for line in lines)
    volume = [line for line in lines if line.startswith("all-reduce volume per iteration: ")]
    assert volume and "D update" in volume[0] and "MI update" in volume[0]


def test_time_to_accuracy_table_counts_epochs_and_cpu_minutes(tmp_path):
    quality = load_script()
    runs = {"1": {"1": {"one_to_one": 0.5, "epoch_cpu_seconds": 60},
                  "2": {"one_to_one": 0.92, "epoch_cpu_seconds": 90}},
            "2": {"1": {"one_to_one": 0.75, "epoch_cpu_seconds": 120}}}
    (tmp_path / "a=1,b=2.json").write_text(json.dumps(runs))
    header, _, row = quality.time_to_accuracy_table(str(tmp_path), ["a=1,b=2"], [0.7, 0.9, 0.95])
    cells = row.strip("| ").split(" | ")
    assert cells[:4] == ["a=1,b=2", "2", "1-2", "1.5"]  # median of 1, 1.5 and 2 minutes an epoch
    assert cells[4] == "2/2 / 1.5 (1.0-2.0) / 2.2 (2.0-2.5) / epoch 1, 2.0 CPU min"
    assert cells[5] == "1/2 / 2.0 (2.0-2.0) / 2.5 (2.5-2.5) / epoch 2, 2.5 CPU min"
    assert cells[6] == "0/2 / - / - / -" and "95%" in header
