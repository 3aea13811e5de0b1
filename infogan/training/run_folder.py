"""A run's log folder: created new (never reused), locked while a process trains in it, cleaned of
what an interrupted checkpoint write left, and checked for room before training.

The lock is an advisory `flock` on the log folder: the kernel releases it when its process ends,
however it ends (kill -9 included), so a killed run never blocks the next resume.
"""
import errno
import fcntl
import os
import shutil

from infogan.config import CONFIG_FILE, LOCK_FILE, ConfigError, check_new_log_dir, folder_entries

CHECKPOINT_SUBDIR = "checkpoints"
_TEMPORARY_MARKERS = ("_temp", ".tmp")  # ckpt-N_temp/ folders, checkpoint.tmp<id> state files


class RunLock:
    """An exclusive lock on a log folder, held until `release` (or the process's end).

    The lock is a `flock` on the folder itself, which cannot be removed or replaced while the run
    lives in it; `<log dir>/.lock` only tells other processes who holds it. That file is replaced,
    never written through, so a `.lock` that is a link changes nothing it points to.

    Raises:
      ConfigError: another live process holds it, or the folder cannot be opened or written.
    """

    def __init__(self, log_dir):
        self.path = os.path.join(log_dir, LOCK_FILE)
        try:
            self._fd = os.open(log_dir, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            raise ConfigError("cannot open the log folder %s (%s); pass the folder of a run you "
                              "can read and write" % (log_dir, error.strerror)) from None
        try:
            locked_file = _flock(self._fd, self.path)
        except BlockingIOError:
            os.close(self._fd)
            raise ConfigError("the run in %s is in use by another training process (pid %s); wait "
                              "for it to end or stop it, then try again" % (
                                  log_dir, _lock_owner(self.path))) from None
        except OSError as error:
            os.close(self._fd)
            raise ConfigError("cannot lock the log folder %s (%s); pass a --logdir on a local "
                              "file system" % (log_dir, error.strerror)) from None
        try:
            if not locked_file:
                _write_owner(self.path)
        except OSError as error:
            self.release()
            raise ConfigError("cannot write in the log folder %s (%s); pass a --logdir you can "
                              "write to (a read-only run can be evaluated and sampled, not "
                              "trained)" % (log_dir, error.strerror)) from None

    def release(self):
        """Releases the lock (the .lock file stays; it blocks nothing)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()


def _flock(folder_fd, lock_path):
    """Locks the folder; where its file system cannot lock a folder (NFS emulates flock with
    locks that need a file open for writing), locks the .lock file instead, never through a link.

    Returns:
      True when the .lock file is what is locked (it then already holds this process's id).

    Raises:
      BlockingIOError: another process holds the lock. OSError: neither can be locked.
    """
    try:
        fcntl.flock(folder_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        raise
    except OSError:
        pass
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    os.dup2(fd, folder_fd)  # the lock is held (and released) through the folder's descriptor
    os.close(fd)
    fcntl.flock(folder_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.ftruncate(folder_fd, 0)  # the locked file itself holds the owner: it is not replaced
    os.write(folder_fd, b"%d\n" % os.getpid())
    return True


def _write_owner(path):
    """Writes this process's id to `path` through a new file renamed over it."""
    temporary = "%s.%d" % (path, os.getpid())
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, b"%d\n" % os.getpid())
    finally:
        os.close(fd)
    os.replace(temporary, path)


def _lock_owner(path):
    """The process id written in a .lock file (not followed if it is a link), or "unknown"."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return "unknown"
    try:
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    return text if text.isdigit() else "unknown"


def create_locked(config):
    """Creates the new, empty log folder of a run and locks it.

    The default folder is `<log root>/<dataset>_log/<infogan|gan>`, else the first free of
    `...-0`, `...-1`, ... (made with an atomic mkdir, so two runs never share one). A --logdir
    must be new or empty (`preflight` checked it); once it is locked, files that appeared since
    refuse it.

    Returns:
      (log folder, RunLock).

    Raises:
      ConfigError: the folder cannot be created, holds files, or is in use.
    """
    try:
        if config.run.logdir is not None:
            os.makedirs(config.run.logdir, exist_ok=True)
            lock = RunLock(config.run.logdir)
            if folder_entries(config.run.logdir):  # another process got there first
                lock.release()
                check_new_log_dir(config.run.logdir)
            return config.run.logdir, lock
        base = os.path.join(config.run.log_root_dir, "%s_log" % config.data.source.name,
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
        where = config.run.logdir or config.run.log_root_dir
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
