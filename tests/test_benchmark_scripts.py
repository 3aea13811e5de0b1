"""The benchmark scripts run and print their tables (tiny settings; timings are not checked)."""
import os
import subprocess
import sys

from conftest import REPO_ROOT


def run_script(name, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "benchmarks", name), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_op_profile_accounts_for_every_kernel():
    result = run_script("op_profile.py", "--iterations", "1", "--top", "3")
    assert result.returncode == 0, result.stderr
    rows = [line.split(" | ") for line in result.stdout.splitlines() if line.startswith("| ")]
    by_type = [row for row in rows[1:5]]
    assert rows[0][0] == "| op type" and len(by_type) == 4 and "other op types" in by_type[3][0]
    by_work = {row[0][2:]: float(row[1]) for row in rows[6:]}
    assert set(by_work) == {"matmul / conv", "element-wise, reductions, other", "Adam updates"}
    type_total = sum(float(row[1]) for row in by_type)
    assert abs(type_total - sum(by_work.values())) < 0.5  # the same kernels, grouped twice
