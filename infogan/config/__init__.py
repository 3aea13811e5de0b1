"""The training configuration and its checks. Imports no TensorFlow.

- `parts`: `TrainConfig` and its parts (`model`, `data`, `run`, `execution`), whose fields carry
  their flag's metadata (`infogan.model.options`);
- `recipes`: named sets of flag values;
- `checks` and `preflight`: every check that needs no TensorFlow, run once by `preflight`;
- `run_file`: a run's config.json.
"""
from infogan.config.checks import (BYTES_PER_VALUE, COPIES_PER_WEIGHT, LOCK_FILE, MEMORY_PARTS,
                                   MNIST_SHAPE, check_batch_size, check_can_create,
                                   check_compilation, check_data_paths, check_image_shape,
                                   check_log_folder, check_memory, check_new_log_dir,
                                   check_tf1_checkpoint,
                                   folder_entries, physical_memory, training_memory,
                                   unwritable_reason, validate_architectures, validate_numbers)
from infogan.config.errors import ConfigError
from infogan.config.parts import (ALLREDUCE_PRECISIONS, DISTRIBUTION_STRATEGIES, MAX_CPU_DEVICES,
                                  PARTS, PRECISIONS, DataConfig, ExecutionConfig, RunConfig,
                                  TrainConfig, config_fields, flag_names, resumable_names)
from infogan.config.preflight import CheckedData, Preflighted, check_data, preflight, preflighted
from infogan.config.recipes import RECIPES, with_recipe
from infogan.config.run_file import (CONFIG_FILE, config_from_json, config_to_json,
                                     load_run_config, resumed_config, save_run_config)
from infogan.data import DEFAULT_FASHION_MNIST_DIR, DEFAULT_MNIST_DIR
from infogan.model.config import ModelConfig

__all__ = [
    "ALLREDUCE_PRECISIONS", "BYTES_PER_VALUE", "CONFIG_FILE", "CheckedData", "COPIES_PER_WEIGHT", "ConfigError",
    "DEFAULT_FASHION_MNIST_DIR", "DEFAULT_MNIST_DIR", "DISTRIBUTION_STRATEGIES", "DataConfig",
    "ExecutionConfig", "LOCK_FILE", "MAX_CPU_DEVICES", "MEMORY_PARTS", "MNIST_SHAPE",
    "ModelConfig", "PARTS", "PRECISIONS", "Preflighted", "RECIPES", "RunConfig", "TrainConfig",
    "check_batch_size", "check_can_create", "check_compilation", "check_data", "check_data_paths",
    "check_image_shape",
    "check_log_folder", "check_memory", "check_new_log_dir",
    "check_tf1_checkpoint", "config_fields", "config_from_json", "config_to_json", "flag_names",
    "folder_entries", "load_run_config", "physical_memory", "preflight", "preflighted",
    "resumable_names", "resumed_config", "save_run_config", "training_memory", "unwritable_reason",
    "validate_architectures", "validate_numbers", "with_recipe"]
