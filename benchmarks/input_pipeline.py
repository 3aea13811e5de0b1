"""Image-folder input: the streamed tf.data pipeline against the TF1 code's one big array.

Builds folders of N generated 64x64 RGB PNGs (kept in --workdir and reused by later runs), then
measures, each in a fresh process so that peak RSS is its own:

- stream: `open_image_folder` (listing + header check of every file), then one epoch through
  `ImageFolderDataset.batches` (Pillow decode in a parallel tf.data map, batch, prefetch);
- cached: building the `--cache_dir` cache, then one epoch read from it;
- TF1 array: the TF1 code's loader (Pillow decode of every file into a list, `np.stack`,
  `astype(float32) / 255.0`), skipped when its estimated peak exceeds the free memory.

With --train_steps, it also times training iterations fed by the pipeline against the same
batches held in memory, for the default MNIST nets (28x28 gray, batch 64) and the upstream
README's chairs nets (64x64 gray, batch 128), to show whether the pipeline slows training.

    python benchmarks/input_pipeline.py --sizes 2000,20000,200000 --train_steps 2
"""
import collections
import json
import os
import resource
import shutil
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

flags.DEFINE_list("sizes", ["2000", "20000", "200000"], "Numbers of images, one folder each.")
flags.DEFINE_string("workdir", "/tmp/infogan_input_pipeline", "Where the folders and caches go.")
flags.DEFINE_integer("batch_size", 128, "Batch size of the data pass.")
flags.DEFINE_integer("train_steps", 0, "Chairs-net iterations per timed run (3 pairs of runs); the "
                     "default nets run 5x as many, 7 pairs (0: no training timings).")
flags.DEFINE_boolean("cleanup", False, "Delete the generated folders at the end.")
flags.DEFINE_string("worker", None, "Internal: run one measurement and print it as JSON.")
flags.DEFINE_string("folder", None, "Internal: the folder of --worker.")
FLAGS = flags.FLAGS

SIZE = 64
FILES_PER_SUBFOLDER = 1000
BYTES_PER_FILE_ON_DISK = 12 * 1024  # measured ~8 KiB per PNG (4 KiB blocks), with margin
CHAIRS = dict(
    generator="fc:1024,fc:8x8x256,reshape:8:8:256,deconv:4:1:256,deconv:4:2:256,deconv:4:2:128,"
              "deconv:4:2:64,deconv:4:1:1:sigmoid",
    discriminator="conv:4:2:64:lrelu,conv:4:2:128:lrelu,conv:4:2:256:lrelu,conv:4:1:256:lrelu,"
                  "conv:4:1:256:lrelu,fc:1024:lrelu",
    categorical_cardinality=(20, 20, 20), num_continuous=1, style_size=128, continuous_lambda=10.0)


def make_image(index):
    """A deterministic 64x64 RGB picture: a noisy gradient with three filled ellipses."""
    from PIL import Image, ImageDraw
    rng = np.random.default_rng(index)
    x = np.arange(SIZE)[None, :, None]
    pixels = rng.integers(0, 256, 3) + x * rng.normal(0, 1, 3) + rng.normal(0, 4, (SIZE, SIZE, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        corner = rng.integers(0, 48, 2)
        box = [int(v) for v in np.concatenate([corner, corner + rng.integers(8, 32, 2)])]
        draw.ellipse(box, fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return image


def _write_image(args):
    folder, index = args
    path = os.path.join(folder, "d%04d" % (index // FILES_PER_SUBFOLDER), "%07d.png" % index)
    make_image(index).save(path)


def build_folder(folder, count):
    """Writes `count` PNGs under `folder` (once: a `.complete` marker lets later runs reuse it)."""
    marker = os.path.join(folder, ".complete")
    if os.path.exists(marker):
        return
    from multiprocessing import Pool
    shutil.rmtree(folder, ignore_errors=True)
    for sub in range(-(-count // FILES_PER_SUBFOLDER)):
        os.makedirs(os.path.join(folder, "d%04d" % sub))
    with Pool(os.cpu_count()) as pool:
        pool.map(_write_image, [(folder, i) for i in range(count)], chunksize=500)
    open(marker, "w").close()
    os.sync()  # let writeback finish before anything is timed


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def one_epoch(dataset, batch_size):
    """Images per second of one pass over `dataset` in a seeded random order."""
    order = np.random.RandomState(0).permutation(dataset.num_images).astype(np.int32)
    start, seen = time.perf_counter(), 0
    for batch in dataset.batches(order, batch_size):
        seen += len(batch)
    return seen / (time.perf_counter() - start)


def worker_stream(folder, cache_dir=None):
    """Scan + header check, optional cache build, then one epoch; a dict of timings."""
    import tensorflow as tf  # noqa: F401  (same baseline RSS as training)
    from infogan.data import image_cache
    from infogan.data import image_folder
    quiet = lambda message: None  # noqa: E731
    start = time.perf_counter()
    dataset = image_folder.open_image_folder(folder, SIZE, SIZE, log=quiet)
    result = {"scan_s": time.perf_counter() - start}
    if cache_dir is not None:
        start = time.perf_counter()
        dataset = image_cache.cached(dataset, cache_dir, log=quiet)
        result["cache_build_s"] = time.perf_counter() - start
    result["images_per_s"] = one_epoch(dataset, FLAGS.batch_size)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def tf1_load_folder(folder, width, height):
    """The TF1 code's loader: every image decoded into a list, stacked, then scaled to float32."""
    from PIL import Image
    from infogan.data.image_scan import find_images
    arrays = []
    for path in find_images(folder):
        image = Image.open(path)
        if image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
        arrays.append(np.asarray(image))
    return np.stack(arrays).astype(np.float32) / 255.0


def worker_tf1(folder):
    import tensorflow as tf  # noqa: F401  (same baseline RSS as training)
    start = time.perf_counter()
    images = tf1_load_folder(folder, SIZE, SIZE)
    return {"images_per_s": len(images) / (time.perf_counter() - start), "peak_rss_mb": peak_rss_mb()}


def _train_rates(model_config, dataset, batch_size, steps, repeats):
    """Training iterations fed by `dataset.batches` against the same batches held in memory.

    Runs alternate after a warm-up. Returns medians of wall seconds and of process CPU seconds
    per iteration, the median CPU ratio of adjacent runs (CPU time is little affected by other
    jobs on the machine; wall time is), and the pipeline's own wall time per batch.
    """
    import tensorflow as tf
    from infogan.model.models import build_models, noise_to_tensor
    from infogan.model.noise import create_infogan_noise_sample
    from infogan.training.step import build_optimizers, make_train_iteration
    models = build_models(model_config, dataset.image_shape)
    iteration = make_train_iteration(models, build_optimizers(models, 1e-3, 2e-4))
    noise = create_infogan_noise_sample(model_config.categorical_cardinality,
                                        model_config.num_continuous, model_config.style_size)
    order = np.random.RandomState(0).permutation(dataset.num_images).astype(np.int32)[:batch_size * steps]

    def run(batches):
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            results = iteration(tf.constant(batch), noise_to_tensor(noise(batch_size)),
                                noise_to_tensor(noise(batch_size)))
            results["generator_objective"].numpy()
        return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps

    in_memory = list(dataset.batches(order, batch_size))
    run(in_memory[:3])  # tracing and warm-up
    timings = collections.defaultdict(list)
    for _ in range(repeats):
        start = time.perf_counter()
        list(dataset.batches(order, batch_size))
        timings["pipeline_alone_s"].append((time.perf_counter() - start) / steps)
        for feed, batches in (("streamed", dataset.batches(order, batch_size)), ("in_memory", in_memory)):
            wall, cpu = run(batches)
            timings[feed + "_s"].append(wall)
            timings[feed + "_cpu_s"].append(cpu)
        timings["cpu_ratio"].append(timings["streamed_cpu_s"][-1] / timings["in_memory_cpu_s"][-1])
    return {key: float(np.median(values)) for key, values in timings.items()}


def worker_train(folder):
    """Training-step timings for the default MNIST nets and the chairs nets."""
    from infogan.data import image_folder
    from infogan.model.config import ModelConfig
    quiet = lambda message: None  # noqa: E731
    results = {}
    runs = (("default nets, 28x28x1, batch 64", 28, 64, ModelConfig()),
            ("chairs nets, 64x64x1, batch 128", 64, 128, ModelConfig(**CHAIRS)))
    for name, width, batch_size, model_config in runs:
        dataset = image_folder.open_image_folder(folder, width, width, force_grayscale=True, log=quiet)
        steps, repeats = (5 * FLAGS.train_steps, 7) if width == 28 else (FLAGS.train_steps, 3)
        results[name] = _train_rates(model_config, dataset, batch_size, steps, repeats)
    return results


def measure(kind, folder):
    """Runs `--worker kind` in a fresh process and returns its JSON result."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--folder", folder,
               "--batch_size", str(FLAGS.batch_size), "--train_steps", str(FLAGS.train_steps)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def available_memory_bytes():
    with open("/proc/meminfo") as stream:
        fields = dict(line.split(":", 1) for line in stream)
    return int(fields["MemAvailable"].split()[0]) * 1024


def measure_size(count):
    """All measurements of one folder size, as a dict (None for a skipped one)."""
    folder = os.path.join(FLAGS.workdir, "images_%d" % count)
    print("building %s ..." % folder, file=sys.stderr, flush=True)
    build_folder(folder, count)
    row = {"count": count, "stream": measure("stream", folder)}
    cache_dir = os.path.join(FLAGS.workdir, "cache_%d" % count)
    shutil.rmtree(cache_dir, ignore_errors=True)
    row["cached"] = measure("cached:" + cache_dir, folder)
    shutil.rmtree(cache_dir, ignore_errors=True)
    tf1_peak = count * SIZE * SIZE * 3 * (1 + 1 + 4 + 4)  # list, stack, astype, division
    row["tf1_estimate_gb"] = tf1_peak / 2 ** 30
    row["tf1"] = measure("tf1", folder) if tf1_peak < 0.8 * available_memory_bytes() else None
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def print_table(rows):
    print("| images | scan + header check | streamed | streamed peak RSS | cache build | cached "
          "| cached peak RSS | TF1 one array | TF1 peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        stream, cached, tf1 = row["stream"], row["cached"], row["tf1"]
        tf1_cells = ("%.0f img/s" % tf1["images_per_s"], "%.0f MB" % tf1["peak_rss_mb"]) if tf1 else (
            "not run", "needs ~%.0f GB" % row["tf1_estimate_gb"])
        print("| %d | %.1f s | %.0f img/s | %.0f MB | %.1f s | %.0f img/s | %.0f MB | %s | %s |" % (
            row["count"], stream["scan_s"], stream["images_per_s"], stream["peak_rss_mb"],
            cached["cache_build_s"], cached["images_per_s"], cached["peak_rss_mb"], *tf1_cells))
    if len(rows) > 1:
        for kind in ("stream", "cached"):
            first, last = rows[0][kind]["peak_rss_mb"], rows[-1][kind]["peak_rss_mb"]
            print("%s peak RSS, %d -> %d images: %+.1f%%" % (
                kind, rows[0]["count"], rows[-1]["count"], 100.0 * (last - first) / first))


def print_training(results):
    print("Training iterations fed by the pipeline or from memory (medians of alternating runs):")
    print("| nets | wall s/it, pipeline-fed | wall s/it, in memory | CPU s/it, pipeline-fed "
          "| CPU s/it, in memory | CPU ratio | pipeline alone, s/batch |")
    print("|---|---|---|---|---|---|---|")
    for name, rates in results.items():
        print("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.4f |" % (
            name, rates["streamed_s"], rates["in_memory_s"], rates["streamed_cpu_s"],
            rates["in_memory_cpu_s"], rates["cpu_ratio"], rates["pipeline_alone_s"]))


def run_worker():
    kind, _, argument = FLAGS.worker.partition(":")
    if kind == "stream":
        result = worker_stream(FLAGS.folder)
    elif kind == "cached":
        result = worker_stream(FLAGS.folder, cache_dir=argument)
    elif kind == "tf1":
        result = worker_tf1(FLAGS.folder)
    else:
        result = worker_train(FLAGS.folder)
    print(json.dumps(result))


def main(argv):
    del argv
    if FLAGS.worker:
        return run_worker()
    counts = sorted(int(size) for size in FLAGS.sizes)
    os.makedirs(FLAGS.workdir, exist_ok=True)
    free = shutil.disk_usage(FLAGS.workdir).free
    runnable = [n for n in counts if n * BYTES_PER_FILE_ON_DISK * 2 < free]  # images + cache
    for skipped in sorted(set(counts) - set(runnable)):
        print("skipping %d images: not enough free disk in %s" % (skipped, FLAGS.workdir))
    rows = [measure_size(count) for count in runnable]
    print("%d CPU cores (load average %.1f), batch %d, %dx%d RGB PNGs, one epoch each" % (
        os.cpu_count(), os.getloadavg()[0], FLAGS.batch_size, SIZE, SIZE))
    print_table(rows)
    if FLAGS.train_steps > 0 and runnable:
        print_training(measure("train", os.path.join(FLAGS.workdir, "images_%d" % runnable[0])))
    if FLAGS.cleanup:
        shutil.rmtree(FLAGS.workdir, ignore_errors=True)


if __name__ == "__main__":
    app.run(main)
