"""What the commands share: their --help, one-line errors with exit status 2, and a quiet
TensorFlow start-up.

TensorFlow 2.21 prints about nine lines of C++ start-up log on stderr when it loads and first
looks for devices (`E0000 ... failed call to cuInit` on a machine without a GPU among them), and no
environment variable silences them. `import_tensorflow` captures file descriptor 2 for exactly that
time and replays what it captured only if loading fails; `--verbosity 0` (or more) shows it.
"""
import os
import sys
import tempfile
import textwrap

from absl import flags

FLAGS = flags.FLAGS
USAGE_ERROR = 2
HELP_FLAGS = ("-h", "--help", "-help", "--helpshort", "-?")
HELP_WIDTH = 100


def fail(program, message):
    """Prints `<program>: error: <message>` (one line) on stderr and exits with status 2."""
    print("%s: error: %s" % (program, " ".join(str(message).split())), file=sys.stderr)
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


def help_text(usage, description, groups):
    """The --help page: usage, description, then each group's flags with defaults.

    Args:
      usage: the usage line(s).
      description: a paragraph saying what the command does.
      groups: list of (title, [flag names]).
    """
    lines = [usage, ""] + textwrap.wrap(description, HELP_WIDTH) + [""]
    for title, names in groups:
        lines.append(title + ":")
        for name in names:
            flag = FLAGS[name]
            usage_text, default = _flag_usage(flag)
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
