"""The images the TF1 code plotted, drawn with the same NumPy calls (docs/tf1_semantics.md §7, §9).

`categorical_variations` and `continuous_variations` return, per plotted set, a grid of images
[rows = samples, columns = the swept code]. `image_strip` lays images side by side as the TF1
TensorBoard strips did; `save_grid_figure` writes a whole grid as one Matplotlib PNG.
"""
import re

import numpy as np

from infogan.model.noise import NoiseLayout

ROW_SIZE = 10          # images per strip
CONTINUOUS_VARIATIONS = 3  # strips per continuous code
SWEEP = (-2.0, 2.0)    # range swept by a continuous code
# save_grid_figure draws 72 pixels a row (0.9 inch at 80 dpi); Matplotlib's Agg draws at most
# 65536 pixels high.
MAX_GRID_ROWS = 900
STRIP_ZOOM, STRIP_GUTTER = 2, 3


def image_strip(images, zoom=STRIP_ZOOM, gutter=STRIP_GUTTER):
    """Images in [0, 1] side by side on white, `gutter` pixels apart, zoomed by nearest neighbour.

    Args:
      images: [n, H, W, C] floats in [0, 1], C = 1 or 3.

    Returns:
      uint8 RGB array [H * zoom, (n * (W + gutter) - gutter) * zoom, 3].
    """
    count, height, width, channels = images.shape
    pixels = (images * 255).astype(np.uint8)  # truncation, as the TF1 code did
    if channels == 1:
        pixels = np.repeat(pixels, 3, axis=3)
    strip = np.full((height, count * (width + gutter) - gutter, 3), 255, np.uint8)
    for index in range(count):
        left = index * (width + gutter)
        strip[:, left:left + width] = pixels[index]
    return strip.repeat(zoom, axis=0).repeat(zoom, axis=1)


def categorical_variations(generate, layout, row_size=ROW_SIZE):
    """For each categorical code, its categories over the same `row_size` noise samples.

    NumPy draws: continuous+style noise for row_size rows, then categorical noise for row_size rows.

    Args:
      generate: noise [n, z] (float64) -> images [n, H, W, C] in [0, 1].
      layout: the noise's model.noise.NoiseLayout.

    Returns:
      list of (names, grid): names[i] is TF1's name of category i's strip, grid is
      [row_size samples, cardinality categories, H, W, C].
    """
    continuous = layout.draw_continuous(row_size)
    categorical = layout.draw_categories(row_size)
    several = len(layout.categorical_cardinality) > 1
    sets = []
    for code, cardinality in enumerate(layout.categorical_cardinality):
        names, columns = [], []
        for category in range(cardinality):
            modified = [sample.copy() for sample in categorical]
            modified[code][:] = category
            columns.append(generate(layout.encode(modified, continuous)))
            names.append("categorical variable %d-%d" % (code, category) if several
                         else "category %d" % category)
        sets.append((names, np.stack(columns, axis=1)))
    return sets


def continuous_variations(generate, layout, row_size=ROW_SIZE, variations=CONTINUOUS_VARIATIONS):
    """For each continuous code, `variations` samples with that code swept over [-2, 2].

    NumPy draws: categorical noise for `variations` rows, then continuous+style noise.

    Args:
      generate: noise [n, z] (float64) -> images [n, H, W, C] in [0, 1].
      layout: the noise's model.noise.NoiseLayout.

    Returns:
      list of (names, grid): names[k] is TF1's name of sample k's strip, grid is
      [variations samples, row_size sweep values, H, W, C].
    """
    categorical = layout.draw_categories(variations)
    fixed = layout.draw_continuous(variations)
    sweep = np.linspace(SWEEP[0], SWEEP[1], row_size)
    sets = []
    for code in range(layout.num_continuous):
        names, rows = [], []
        for sample in range(variations):
            continuous = fixed[sample:sample + 1].repeat(row_size, axis=0)
            continuous[:, code] = sweep  # the continuous codes lead draw_continuous's columns
            categories = [c[sample:sample + 1].repeat(row_size, axis=0) for c in categorical]
            rows.append(generate(layout.encode(categories, continuous)))
            names.append("continuous variable %d, variation %d" % (code, sample))
        sets.append((names, np.stack(rows, axis=0)))
    return sets


def sweep_labels(count=ROW_SIZE):
    """Column labels of a continuous sweep: the code's values over SWEEP."""
    return ["%.2f" % value for value in np.linspace(SWEEP[0], SWEEP[1], count)]


def variation_sets(generate, model_config, variations=CONTINUOUS_VARIATIONS):
    """Every plotted set of an InfoGAN, categorical codes first, drawn as `categorical_variations`
    and `continuous_variations` draw.

    Returns:
      list of dicts: kind ("categorical_j" / "continuous_j"), title, grid [rows = samples,
      columns = the swept code], column_labels, and strips: the TF1 strips as (name, images).
    """
    layout = NoiseLayout.of(model_config)
    sets = []
    for code, (names, grid) in enumerate(categorical_variations(generate, layout)):
        sets.append(dict(kind="categorical_%d" % code, title="categorical code %d" % code, grid=grid,
                         column_labels=[str(c) for c in range(grid.shape[1])],
                         strips=[(name, grid[:, c]) for c, name in enumerate(names)]))
    for code, (names, grid) in enumerate(continuous_variations(generate, layout,
                                                               variations=variations)):
        sets.append(dict(kind="continuous_%d" % code, title="continuous code %d" % code, grid=grid,
                         column_labels=sweep_labels(grid.shape[1]),
                         strips=[(name, grid[k]) for k, name in enumerate(names)]))
    return sets


def tf1_image_tag(name, index=None):
    """The tag TF1's `tf.summary.image(name, ...)` gave: invalid characters -> '_', then '/image'
    (max_outputs=1) or '/image/<index>'."""
    tag = re.sub(r"[^-/\w.]", "_", name) + "/image"
    return tag if index is None else "%s/%d" % (tag, index)


def save_grid_figure(path, grid, title, column_labels=None, row_label="sample"):
    """Writes a grid of images [rows, columns, H, W, C] as one PNG with Matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows, columns = grid.shape[:2]
    figure, axes = pyplot.subplots(rows, columns, figsize=(columns * 0.9, rows * 0.9 + 0.6),
                                   squeeze=False)
    for row in range(rows):
        for column in range(columns):
            axis = axes[row][column]
            image = grid[row, column]
            axis.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray",
                        vmin=0.0, vmax=1.0, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0 and column_labels is not None:
                axis.set_title(column_labels[column], fontsize=7)
            if column == 0:
                axis.set_ylabel("%s %d" % (row_label, row), fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.savefig(path, dpi=80, bbox_inches="tight")
    pyplot.close(figure)
