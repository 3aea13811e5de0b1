"""The README and docs/: every relative link resolves, they speak only of the software, and the
README's library snippet runs as written."""
import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

PAGES = [os.path.join(REPO_ROOT, "README.md")] + sorted(glob.glob(os.path.join(REPO_ROOT, "docs", "*.md")))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    """GitHub's anchors of a page's headings."""
    with open(path) as stream:
        headings = [line.lstrip("#").strip() for line in stream if line.startswith("#")]
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda path: os.path.relpath(path, REPO_ROOT))
def test_every_relative_link_resolves(page):
    with open(page) as stream:
        text = stream.read()
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        assert os.path.exists(resolved), "%s links to %s, which does not exist" % (page, target)
        if anchor and resolved.endswith(".md"):
            assert anchor in anchors(resolved), "%s links to a missing heading: %s" % (page, target)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: os.path.relpath(path, REPO_ROOT))
def test_pages_speak_only_of_the_software(page):
    with open(page) as stream:
        text = stream.read()
    for pattern in (r"\.\./shared", r"SPEC\.md", r"[Ii]ssue #\d+", r"\b(this|previous|last) session\b"):
        assert not re.search(pattern, text), "%s mentions %s" % (page, pattern)


def test_readme_is_a_front_page():
    with open(PAGES[0]) as stream:
        assert len(stream.read().splitlines()) <= 250


@pytest.mark.slow
def test_library_snippet_of_the_readme_runs(tmp_path):
    with open(PAGES[0]) as stream:
        text = stream.read()
    snippet = re.search(r"## Use it as a library.*?```python\n(.*?)```", text, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", snippet], cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "one-to-one accuracy" in result.stdout
    assert os.path.isdir(tmp_path / "runs" / "first" / "checkpoints")  # under the current folder


@pytest.mark.slow
def test_pip_install_gives_commands_that_work_from_any_folder(tmp_path):
    """`pip install .` (here offline, into a folder on PYTHONPATH, beside this environment's
    TensorFlow) installs the package with its MNIST and the infogan-* commands; a run writes its
    logs under the current folder."""
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                              "--no-build-isolation", "--target", str(target), REPO_ROOT],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    assert os.path.exists(target / "infogan" / "data" / "mnist" / "train-images-idx3-ubyte.gz")
    work = tmp_path / "anywhere"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))
    result = subprocess.run([str(target / "bin" / "infogan-train"), "--epochs", "1", "--max_images",
                             "64", "--batch_size", "32", "--plot_every", "1000"], cwd=str(work),
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    # no TensorFlow start-up lines; the run's last words name the installed commands
    assert result.stderr.startswith("Logs: mnist_log/infogan (")
    evaluate = target / "bin" / "infogan-evaluate"
    assert "  %s --logdir mnist_log/infogan\n" % evaluate in result.stderr
    assert "Saving tensorboard logs to %r" % str(work / "mnist_log" / "infogan") in result.stdout
    assert os.path.isdir(work / "mnist_log" / "infogan" / "checkpoints")
    for command in ("infogan-evaluate", "infogan-sample", "infogan-parity"):
        helped = subprocess.run([str(target / "bin" / command), "--help"], capture_output=True,
                                text=True, timeout=120, env=env)
        assert helped.returncode == 0 and helped.stdout.startswith("usage:"), command


def test_ci_runs_the_readme_test_command_verbatim():
    with open(PAGES[0]) as stream:
        quick_start = stream.read().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick_start, re.S)
    assert len(commands) == 2 and all("\n" not in command for command in commands)
    with open(os.path.join(REPO_ROOT, ".ci", "run")) as stream:
        assert commands[1] in stream.read().splitlines()
