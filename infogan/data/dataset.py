"""The `Dataset` interface of the training loop, and datasets held in memory as one array.

Imports no TensorFlow, so flags can be checked against the data before TensorFlow loads.
"""

# The row order of an image folder (`--image_order`): the TF1 code's listing, or sorted paths.
TF1_ORDER, SORTED_ORDER = "tf1", "sorted"
IMAGE_ORDERS = (TF1_ORDER, SORTED_ORDER)


class DatasetError(ValueError):
    """A dataset that cannot be used; the message says what is wrong and how to fix it."""


class Dataset:
    """Training images of one shape, read in the order of a permutation.

    Attributes:
      name: "mnist", "fashion_mnist", or an image folder's base name.
      num_images: how many images one epoch has.
      image_shape: (height, width, channels).
    """

    def __init__(self, name, num_images, image_shape):
        self.name, self.num_images, self.image_shape = name, num_images, tuple(image_shape)

    @property
    def shape(self):
        """(num_images, height, width, channels), as an array of all images would have."""
        return (self.num_images,) + self.image_shape

    def batches(self, permutation, batch_size):
        """Yields the images `permutation[start:start + batch_size]` for start = 0, batch_size, ...

        Args:
          permutation: integer array of image indices (one epoch's order).
          batch_size: images per batch; the last batch may be shorter.

        Returns:
          an iterator of float32 arrays [b, height, width, channels] in [0, 1].
        """
        raise NotImplementedError


class ArrayDataset(Dataset):
    """A dataset held in memory as one float32 array [N, H, W, C] (MNIST-sized data)."""

    def __init__(self, name, images):
        super().__init__(name, images.shape[0], images.shape[1:])
        self.images = images

    def batches(self, permutation, batch_size):
        """See `Dataset.batches`: `images[permutation[start:start + batch_size]]`, as TF1 sliced."""
        for start in range(0, len(permutation), batch_size):
            yield self.images[permutation[start:start + batch_size]]
