"""Image folders before TensorFlow: the listing, the max_images sample, every file's header and
the channel count, checked once by the preflight (docs/tf1_semantics.md §7). Imports no TensorFlow.

The rows are the files in the TF1 code's listing order (`os.walk`, files as the file system lists
them), or sorted with `--image_order sorted`. `scan_image_folder` returns a `FolderScan`;
`infogan.data.image_folder` streams the images of a scan with tf.data.
"""
import collections
import dataclasses
import os
import random
import sys
from typing import Tuple

from PIL import Image

from infogan.data.dataset import SORTED_ORDER, TF1_ORDER, DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}
MODE_NAMES = {"L": "grayscale", "RGB": "RGB", "RGBA": "RGBA"}
_GRAY_MODES = ("1", "L", "I", "F")  # and "I;16", "I;16B", ... (prefix "I")
_ALPHA_MODES = ("RGBA", "LA", "La", "PA", "RGBa")
_JPEG_END = b"\xff\xd9"


@dataclasses.dataclass(frozen=True)
class FolderScan:
    """An image folder, listed, sampled and header-checked; nothing decoded.

    Attributes:
      name: the dataset's name.
      paths: the readable image files; index i is row i of the dataset.
      width, height: the output size (--scale_dataset).
      mode: the output mode, "L", "RGB" or "RGBA".
      warnings: one line per skipped file, for the log when the folder is opened.
      summary: the log line saying how many images the folder gave and which mode was chosen.
    """
    name: str
    paths: Tuple[str, ...]
    width: int
    height: int
    mode: str
    warnings: Tuple[str, ...]
    summary: str

    @property
    def num_images(self):
        """How many images one epoch has."""
        return len(self.paths)

    @property
    def image_shape(self):
        """(height, width, channels) of the images as they are streamed."""
        return (self.height, self.width, CHANNELS[self.mode])


def print_warning(message):
    """Prints `warning: message` on stderr."""
    print("warning: %s" % message, file=sys.stderr, flush=True)


def find_images(path, order=TF1_ORDER):
    """Image files below `path`, recursively, by case-insensitive extension.

    Args:
      path: the folder.
      order: TF1_ORDER, the TF1 code's: each folder as `os.walk` yields it (top-down), its files
        in the order the file system lists them (so it depends on the file system, and stays the
        same while the folder is unchanged); or SORTED_ORDER: the sorted paths, the same anywhere.

    Returns:
      a list of paths; index i is row i of the dataset.
    """
    found = []
    for folder, _, names in os.walk(path):
        found.extend(os.path.join(folder, name) for name in names
                     if name.lower().endswith(IMAGE_EXTENSIONS))
    return sorted(found) if order == SORTED_ORDER else found


def sample_paths(paths, max_images, seed):
    """A seeded random sample of max_images paths (all of them, in order, when there are fewer).

    Args:
      paths: the folder's files, in the dataset's order (the sample depends on it).
      max_images: None, or how many to keep.
      seed: seeds the sample (Python's `random.Random(seed).sample`).

    Returns:
      a list of paths.
    """
    if max_images is None or len(paths) <= max_images:
        return list(paths)
    return random.Random(seed).sample(paths, max_images)


def natural_mode(mode, info):
    """The mode ("L", "RGB" or "RGBA") an image of Pillow mode `mode` contributes to a folder."""
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in info):
        return "RGBA"
    if mode in _GRAY_MODES or mode.startswith("I;"):
        return "L"
    return "RGB"


def _jpeg_is_complete(path):
    with open(path, "rb") as stream:
        stream.seek(max(0, os.path.getsize(path) - 2))
        return stream.read(2) == _JPEG_END


def inspect_image(path):
    """Checks a file's integrity cheaply and returns its natural mode ("L", "RGB" or "RGBA").

    PNG chunks and CRCs are verified without decompressing (Pillow's `verify`); a JPEG that
    lacks its end marker (truncated) is decoded in full to decide.

    Raises:
      DatasetError: the file is not a readable image; the message gives the reason.
    """
    try:
        with Image.open(path) as image:
            mode, info, image_format, size = image.mode, dict(image.info), image.format, image.size
            image.verify()
        if min(size) <= 0:
            raise ValueError("empty image of size %dx%d" % size)
        if image_format == "JPEG" and not _jpeg_is_complete(path):
            with Image.open(path) as image:
                image.load()
    except Exception as error:  # Pillow raises many types for broken files; all mean "unusable"
        raise DatasetError("%s: %s" % (type(error).__name__, error)) from None
    return natural_mode(mode, info)


def choose_mode(mode_counts, force_grayscale):
    """The output mode of a folder and the reason, for the log.

    Args:
      mode_counts: {natural mode: number of images}.
      force_grayscale: the flag; it wins over the images' modes.

    Returns:
      (mode, reason): the majority's mode (ties go to more channels), or "L" with the flag.
    """
    if force_grayscale:
        return "L", "--force_grayscale"
    mode = max(mode_counts, key=lambda m: (mode_counts[m], CHANNELS[m]))
    return mode, "all images" if len(mode_counts) == 1 else "the majority; the others are converted"


def check_images(paths):
    """Header-checks every file and drops the broken ones.

    Returns:
      (good paths, Counter of their natural modes, one warning line per broken file).
    """
    good, modes, warnings = [], collections.Counter(), []
    for path in paths:
        try:
            modes[inspect_image(path)] += 1
        except DatasetError as error:
            warnings.append("skipping %s, which is not a readable image (%s)" % (path, error))
            continue
        good.append(path)
    return good, modes, warnings


def describe(path, modes, mode, reason, skipped):
    """The log line saying how many images a folder gave and which channel count was chosen."""
    kinds = ", ".join("%d %s" % (count, MODE_NAMES[m]) for m, count in sorted(
        modes.items(), key=lambda item: (-item[1], item[0])))
    channels = CHANNELS[mode]
    line = "Image folder %s: %d images (%s)" % (path, sum(modes.values()), kinds)
    if skipped:
        line += ", %d skipped" % skipped
    return line + "; using %d channel%s (%s): %s" % (
        channels, "" if channels == 1 else "s", MODE_NAMES[mode], reason)


def scan_image_folder(path, width, height, max_images=None, force_grayscale=False, seed=0,
                      name=None, order=TF1_ORDER, warn=print_warning):
    """Lists, samples and header-checks an image folder; prints nothing unless none is readable.

    Args:
      path: the folder; searched recursively for .png/.jpg/.jpeg files (any case).
      width, height: --scale_dataset.
      max_images: None, or the size of a random sample of the file list (in `order`).
      force_grayscale: one output channel whatever the files hold.
      seed: seeds the max_images sample.
      name: the dataset's name (default: the folder's base name).
      order: the row order, TF1_ORDER or SORTED_ORDER (see `find_images`).
      warn: where the warnings about broken files go when none is readable (otherwise the scan
        keeps them for whoever opens the folder).

    Returns:
      FolderScan.

    Raises:
      DatasetError: no such folder, no images in it, or none of them readable.
    """
    if not os.path.isdir(path):
        raise DatasetError("dataset folder %s does not exist; pass --dataset an existing folder of "
                           ".png/.jpg images (or --dataset fashion_mnist)" % path)
    found = find_images(path, order)
    if not found:
        raise DatasetError("dataset folder %s holds no .png/.jpg/.jpeg images (searched recursively)"
                           % path)
    candidates = sample_paths(found, max_images, seed)
    paths, modes, warnings = check_images(candidates)
    if not paths:
        for warning in warnings:
            warn(warning)
        raise DatasetError("none of the %d image files in %s is readable (e.g. %s); see the warnings "
                           "above" % (len(candidates), path, candidates[0]))
    mode, reason = choose_mode(modes, force_grayscale)
    return FolderScan(name=name or os.path.basename(os.path.normpath(path)), paths=tuple(paths),
                      width=width, height=height, mode=mode, warnings=tuple(warnings),
                      summary=describe(path, modes, mode, reason, len(candidates) - len(paths)))
