"""Training data: the `Dataset` interface, MNIST-style IDX files (the shipped MNIST is in `mnist/`),
the one choice between them (`sources`),
image folders' scans (`image_scan`), and their streaming (`image_folder`, `image_cache`, imported on
their own: they need TensorFlow).

The names below import no TensorFlow.
"""
from infogan.data.dataset import (IMAGE_ORDERS, SORTED_ORDER, TF1_ORDER, ArrayDataset, Dataset,
                                  DatasetError)
from infogan.data.idx import (DEFAULT_FASHION_MNIST_DIR, DEFAULT_MNIST_DIR, FASHION_MNIST, MNIST,
                              MNIST_TEST_IMAGES, MNIST_TEST_LABELS, MNIST_TRAIN_IMAGES,
                              MNIST_TRAIN_LABELS, MNIST_VALIDATION_SIZE, idx_images_to_float,
                              idx_path, load_mnist, load_mnist_test, mnist_dataset, read_idx,
                              training_images_count)
from infogan.data.sources import (IDX_IMAGE_SHAPE, IDX_TITLES, IMAGE_FOLDER, DatasetSource,
                                  count_idx_images, dataset_source, open_dataset, scan_folder)
from infogan.data.image_scan import FolderScan

__all__ = ["IMAGE_ORDERS", "SORTED_ORDER", "TF1_ORDER", "ArrayDataset", "DEFAULT_FASHION_MNIST_DIR", "DEFAULT_MNIST_DIR", "Dataset", "DatasetError",
           "FASHION_MNIST", "MNIST", "MNIST_TEST_IMAGES", "MNIST_TEST_LABELS", "MNIST_TRAIN_IMAGES",
           "MNIST_TRAIN_LABELS", "MNIST_VALIDATION_SIZE", "idx_images_to_float", "idx_path",
           "load_mnist", "load_mnist_test", "mnist_dataset", "read_idx",
           "training_images_count", "IDX_IMAGE_SHAPE", "IDX_TITLES", "IMAGE_FOLDER", "DatasetSource",
           "count_idx_images", "dataset_source", "open_dataset", "scan_folder", "FolderScan"]
