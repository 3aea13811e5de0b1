"""What the commands share: their --help, one-line errors with exit status 2 under the program
name the user typed, a quiet TensorFlow start-up, and the skeleton of their entry points.

TensorFlow 2.21 prints about nine lines of C++ start-up log on stderr when it loads and first
looks for devices (`E0000 ... failed call to cuInit` on a machine without a GPU among them), and no
environment variable silences them. `import_tensorflow` captures file descriptor 2 for exactly that
time and replays what it captured only if loading fails; `--verbosity 0` (or more) shows it. Later
C++ information lines (a `tf.compat.v1.Session` announces its MLIR pass) do honour
TF_CPP_MIN_LOG_LEVEL, which it sets to 1 unless the user set it.
"""
import os
import shlex
import shutil
import sys
import tempfile
import textwrap

from absl import app, flags
from absl import logging as absl_logging

from infogan.config import ConfigError
from infogan.model.architecture import ArchitectureError

FLAGS = flags.FLAGS
USAGE_ERROR = 2
HELP_FLAGS = ("-h", "--help", "-help", "--helpshort", "-?")
HELP_WIDTH = 100


def program_name(default):
    """The command as the user typed it, for messages: `train.py`, `infogan-train`, `python -m
    infogan train` (`infogan/__main__.py` puts that in sys.argv[0]) or `python -m
    infogan.parity`.

    Args:
      default: the name when sys.argv[0] is empty.
    """
    script = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if not script:
        return default
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.abspath(script)
    if not (script.endswith(".py") and path.startswith(package + os.sep)):
        return os.path.basename(script)
    module = os.path.relpath(path[:-len(".py")], os.path.dirname(package)).replace(os.sep, ".")
    if module.endswith(".__main__"):  # python -m infogan.parity
        module = module[:-len(".__main__")]
    return "python -m " + module


def rerun_command(default):
    """How to run this very command again, for a message: `python train.py` for a script,
    else its program name (`infogan-train`, `python -m infogan train`).

    Args:
      default: the program name when sys.argv names none.
    """
    program = program_name(default)
    return "python " + program if program.endswith(".py") else program


def shown_path(path):
    """`path` as a message shows it: relative when it lies under the current folder."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith(os.pardir) else os.path.abspath(path)


def _as_typed(path):
    """How a shell here runs the program at `path`: its bare name when PATH finds that very file,
    else its path."""
    name = os.path.basename(path)
    found = shutil.which(name)
    if found and os.path.abspath(found) == os.path.abspath(path):
        return name
    return shlex.quote(shown_path(path))


def tool(name):
    """How to run `name` (tensorboard) installed beside this Python: bare on PATH, else its path
    (`.venv/bin/tensorboard`); the bare name when it is not installed there."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    return _as_typed(path) if os.path.exists(path) else name


def command(name):
    """How to run the command `name` (train, evaluate, sample) the way this one was started:
    `infogan-evaluate` (or its path) after `infogan-train`, `python -m infogan evaluate` after
    `python train.py` or `python -m infogan train`."""
    program = program_name("")
    if program.startswith("infogan-"):
        script = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "infogan-" + name)
        if os.path.exists(script):
            return _as_typed(script)
    return "%s -m infogan %s" % (_as_typed(sys.executable), name)


def fail(program, message):
    """Prints `<program>: error: <message>` (one line) on stderr and exits with status 2.

    Args:
      program: the command's name when sys.argv names none (see `program_name`).
      message: the problem and its fix.
    """
    print("%s: error: %s" % (program_name(program), " ".join(str(message).split())),
          file=sys.stderr)
    sys.exit(USAGE_ERROR)


def _flag_usage(flag):
    if isinstance(flag, flags.BooleanFlag):
        return "--[no]%s" % flag.name, "on" if flag.default else "off"
    default = flag.default_as_str
    if flag.default is None:
        default = "none"
    elif isinstance(flag.default, list):
        default = " ".join(flag.default) if flag.default else "(none)"
    else:
        default = default.strip("'")
    return "--%s" % flag.name, default


def help_text(usage, description, groups, defaults=None):
    """The --help page: usage, description, then each group's flags with defaults.

    Args:
      usage: the usage line(s).
      description: a paragraph saying what the command does.
      groups: list of (title, [flag names]).
      defaults: {flag name: the default to show} where the command's own default differs from the
        flag's (a shared flag that the command sets otherwise).

    Returns:
      the page, as one string.
    """
    defaults = defaults or {}
    lines = [usage, ""] + textwrap.wrap(description, HELP_WIDTH) + [""]
    for title, names in groups:
        lines.append(title + ":")
        for name in names:
            flag = FLAGS[name]
            usage_text, default = _flag_usage(flag)
            default = defaults.get(name, default)
            lines.append("  %s (default: %s)" % (usage_text, default))
            lines += textwrap.wrap(flag.help, HELP_WIDTH, initial_indent="      ",
                                   subsequent_indent="      ")
        lines.append("")
    lines.append("Also: --verbosity N shows TensorFlow's own log lines (0: info and up).")
    return "\n".join(lines)


def parse(argv, program, page, rewrite=None):
    """Parses flags for app.run: -h/--help print `page` (exit 0); a bad flag is one error line
    (exit 2). `rewrite` may turn the argument list into absl's form first."""
    if any(argument in HELP_FLAGS for argument in argv[1:]):
        try:
            print(page())
        except BrokenPipeError:  # `| head`
            pass
        sys.exit(0)
    try:
        return FLAGS(rewrite(argv) if rewrite else argv)
    except flags.Error as error:
        fail(program, error)


def begin(argv, program):
    """What every command's main does first: refuses stray arguments (exit 2) and, unless
    --verbosity is given, keeps TensorFlow's Python information lines out of the output."""
    if len(argv) > 1:
        fail(program, "unexpected arguments %s" % " ".join(argv[1:]))
    if not FLAGS["verbosity"].present:
        absl_logging.set_verbosity(absl_logging.WARNING)


def run_command(program, define_flags, help_page, body, rewrite=None):
    """Runs a command that reports bad input as a ConfigError or ArchitectureError: defines its
    flags, parses them (--help, one-line errors), then calls `body()`; such an error becomes one
    error line, exit status 2.

    Args:
      program: the command's name when sys.argv names none.
      define_flags: defines the command's flags.
      help_page: returns its --help page.
      body: does the work (flags parsed, FLAGS set); what it returns is the exit status (None: 0).
      rewrite: turns the argument list into absl's form before parsing (see `parse`).
    """
    def main(argv):
        begin(argv, program)
        try:
            return body()
        except (ConfigError, ArchitectureError) as error:
            fail(program, error)

    define_flags()
    app.run(main, flags_parser=lambda argv: parse(argv, program, help_page, rewrite))


def show_tensorflow_logs():
    """Whether the user asked for TensorFlow's log lines (--verbosity given)."""
    return "verbosity" in FLAGS and FLAGS["verbosity"].present


def import_tensorflow(show_logs=False):
    """Imports TensorFlow and lets it find its devices with its C++ start-up log held back.

    Args:
      show_logs: let the log through.

    Raises:
      whatever the import raises, after printing the captured log.
    """
    if show_logs or "tensorflow" in sys.modules:
        import tensorflow as tf
        tf.config.list_physical_devices()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # read when TensorFlow loads
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# CPU instructions that make a reduced-precision product faster than float32.
_FAST_PRODUCT_FLAGS = {"mixed_bfloat16": ("avx512_bf16", "amx_bf16"),
                       "mixed_float16": ("avx512_fp16", "amx_fp16")}


def warn_about_precision(precision):
    """Warns (one line) when mixed precision will be slower than float32: no GPU, and a CPU
    without instructions for the reduced-precision products (TensorFlow then emulates them)."""
    if precision not in _FAST_PRODUCT_FLAGS:
        return
    import tensorflow as tf
    if tf.config.list_physical_devices("GPU"):
        return
    try:
        with open("/proc/cpuinfo") as stream:
            cpu_flags = set(stream.read().split())
    except OSError:
        return
    if not cpu_flags.intersection(_FAST_PRODUCT_FLAGS[precision]):
        print("warning: --precision %s: this CPU has none of %s, so its products are emulated and "
              "slower than float32 (see docs/performance.md)" % (
                  precision, ", ".join(_FAST_PRODUCT_FLAGS[precision])), file=sys.stderr)
