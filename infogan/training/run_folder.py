"""A run's log folder: created new (never reused), locked while a process trains in it, cleaned of
what an interrupted checkpoint write left, and checked for room before training.

The lock is an advisory `flock` on `<log dir>/.lock`: the kernel releases it when its process
ends, however it ends (kill -9 included), so a killed run never blocks the next resume.
"""
import errno
import fcntl
import os
import shutil

from infogan.config import CONFIG_FILE, ConfigError

LOCK_FILE = ".lock"
CHECKPOINT_SUBDIR = "checkpoints"
_TEMPORARY_MARKERS = ("_temp", ".tmp")  # ckpt-N_temp/ folders, checkpoint.tmp<id> state files


class RunLock:
    """An exclusive lock on a log folder, held until `release` (or the process's end).

    Raises:
      ConfigError: another live process holds it.
    """

    def __init__(self, log_dir):
        self.path = os.path.join(log_dir, LOCK_FILE)
        try:
            self._file = open(self.path, "a+")
        except OSError as error:
            raise ConfigError("cannot write in the log folder %s (%s); pass a --logdir you can "
                              "write to" % (log_dir, error.strerror)) from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            owner = self._file.read().strip() or "unknown"
            self._file.close()
            raise ConfigError("the run in %s is in use by another training process (pid %s); wait "
                              "for it to end or stop it, then try again" % (log_dir, owner)) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write("%d\n" % os.getpid())
        self._file.flush()

    def release(self):
        """Releases the lock (the file stays; an unlocked file blocks nothing)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()


def _entries(log_dir):
    return [name for name in os.listdir(log_dir) if name != LOCK_FILE]


def check_new_log_dir(path):
    """Refuses a --logdir that cannot become a new run's folder, without creating anything.

    Raises:
      ConfigError: the path is a file, holds files, lies under a file, or cannot be created.
    """
    if os.path.isfile(path):
        raise ConfigError("--logdir %s is a file; pass a folder (new or empty)" % path)
    if os.path.isdir(path):
        if _entries(path):
            raise ConfigError("log folder %s already holds files; pass a new --logdir so nothing "
                              "is overwritten (or --resume=%s to continue a run there)" % (path, path))
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError("log folder %s is not writable; pass a --logdir you can write to" % path)
        return
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ConfigError("--logdir %s cannot be created: %s is a file" % (path, parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError("--logdir %s cannot be created: %s is not writable; pass a --logdir you "
                          "can write to" % (path, parent))


def create_locked(config):
    """Creates the new, empty log folder of a run and locks it.

    The default folder is `<log root>/<dataset>_log/<infogan|gan>`, else the first free of
    `...-0`, `...-1`, ... (made with an atomic mkdir, so two runs never share one). A --logdir
    must be new or empty, which is checked again once it is locked.

    Returns:
      (log folder, RunLock).

    Raises:
      ConfigError: the folder cannot be created, holds files, or is in use.
    """
    try:
        if config.logdir is not None:
            check_new_log_dir(config.logdir)
            os.makedirs(config.logdir, exist_ok=True)
            lock = RunLock(config.logdir)
            if _entries(config.logdir):  # another process got there first
                lock.release()
                check_new_log_dir(config.logdir)
            return config.logdir, lock
        base = os.path.join(config.log_root_dir, "%s_log" % config.dataset_name,
                            "infogan" if config.model.infogan else "gan")
        os.makedirs(os.path.dirname(base), exist_ok=True)
        candidate, suffix = base, 0
        while True:
            try:
                os.mkdir(candidate)
                return candidate, RunLock(candidate)
            except FileExistsError:
                candidate, suffix = "%s-%d" % (base, suffix), suffix + 1
    except OSError as error:
        where = config.logdir or config.log_root_dir
        raise ConfigError("cannot create the log folder under %s (%s); pass a --logdir you can "
                          "write to" % (where, error.strerror or error)) from None


def remove_interrupted_writes(log_dir):
    """Deletes what interrupted checkpoint writes left in `<log_dir>/checkpoints` (call it while
    holding the lock). Returns the names removed."""
    folder = os.path.join(log_dir, CHECKPOINT_SUBDIR)
    removed = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if any(marker in name for marker in _TEMPORARY_MARKERS):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:  # a file, or a link: removed itself, never what it points to
                os.remove(path)
            removed.append(name)
    return removed


def check_room(log_dir, checkpoint_bytes, copies):
    """Refuses to start when the disk cannot hold `copies` checkpoints of `checkpoint_bytes`.

    Raises:
      ConfigError: naming what is needed, what is free, and where.
    """
    free = shutil.disk_usage(log_dir).free
    needed = checkpoint_bytes * copies
    if free < needed:
        raise ConfigError(
            "the disk of %s has %.0f MB free, but this run's checkpoints need about %.0f MB (%d of "
            "%.0f MB each); free some space or pass a --logdir on another disk" % (
                log_dir, free / 2**20, needed / 2**20, copies, checkpoint_bytes / 2**20))


def is_disk_full(error):
    """True when an OSError or a TensorFlow error says the device is out of space."""
    return getattr(error, "errno", None) == errno.ENOSPC or "No space left" in str(error)


def latest_run(log_root, dataset_name, infogan=True):
    """The most recently written default run folder `<log_root>/<dataset>_log/<infogan|gan>[-k]`.

    Raises:
      ConfigError: there is none to resume.
    """
    parent = os.path.join(log_root, "%s_log" % dataset_name)
    base = "infogan" if infogan else "gan"
    runs = [os.path.join(parent, name) for name in (os.listdir(parent) if os.path.isdir(parent) else [])
            if (name == base or name.startswith(base + "-"))
            and os.path.exists(os.path.join(parent, name, CONFIG_FILE))]
    if not runs:
        raise ConfigError("no run to resume under %s; pass --resume=LOGDIR" % parent)
    return max(runs, key=lambda run: os.path.getmtime(os.path.join(run, CHECKPOINT_SUBDIR))
               if os.path.isdir(os.path.join(run, CHECKPOINT_SUBDIR)) else 0.0)
