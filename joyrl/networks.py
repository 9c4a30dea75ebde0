"""Networks built from a layer spec, as written in ``value_layers`` / ``actor_layers``.

A spec lists the hidden layers; the input size comes from the observation and an
output layer of the requested size is appended::

    value_layers:
      - {layer_type: linear, layer_size: [256], activation: relu}
      - {layer_type: linear, layer_size: [256], activation: relu}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from joyrl.errors import ConfigError

ACTIVATIONS: dict[str, type[nn.Module] | None] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "none": None,
}
LAYER_TYPES = ("linear",)


def check_layer_spec(spec: list[dict[str, Any]], key: str) -> None:
    """Raise ConfigError naming ``key[i]`` for the first malformed layer."""
    if not spec:
        raise ConfigError(
            f"algo_cfg.{key} is empty; give at least one layer, e.g. {{layer_type: linear, layer_size: [64], activation: relu}}"
        )
    for i, layer in enumerate(spec):
        where = f"algo_cfg.{key}[{i}]"
        if not isinstance(layer, dict):
            raise ConfigError(f"{where}: expected a mapping with layer_type, layer_size, activation; got {layer!r}")
        unknown = set(layer) - {"layer_type", "layer_size", "activation"}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; use layer_type, layer_size, activation")
        layer_type = layer.get("layer_type", "linear")
        if layer_type not in LAYER_TYPES:
            raise ConfigError(f"{where}.layer_type: unknown {layer_type!r}; expected one of {', '.join(LAYER_TYPES)}")
        size = layer.get("layer_size")
        if not (
            isinstance(size, list)
            and len(size) == 1
            and isinstance(size[0], int)
            and not isinstance(size[0], bool)
            and size[0] > 0
        ):
            raise ConfigError(f"{where}.layer_size: expected one positive integer in a list, e.g. [256]; got {size!r}")
        activation = layer.get("activation", "relu")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"{where}.activation: unknown {activation!r}; expected one of {', '.join(ACTIVATIONS)}")


def build_body(spec: list[dict[str, Any]], input_size: int, key: str = "value_layers") -> tuple[nn.Sequential, int]:
    """The hidden layers of ``spec`` and the width of their output (for heads: dueling, noisy, categorical)."""
    check_layer_spec(spec, key)
    layers: list[nn.Module] = []
    size = input_size
    for layer in spec:
        width = layer["layer_size"][0]
        layers.append(nn.Linear(size, width))
        activation = ACTIVATIONS[layer.get("activation", "relu")]
        if activation is not None:
            layers.append(activation())
        size = width
    return nn.Sequential(*layers), size


def build_mlp(spec: list[dict[str, Any]], input_size: int, output_size: int, key: str = "value_layers") -> nn.Sequential:
    """Hidden layers from ``spec``, then a linear output layer of ``output_size``."""
    body, size = build_body(spec, input_size, key)
    return nn.Sequential(*body, nn.Linear(size, output_size))


class ObservationTensor:
    """One observation as a (1, *obs) float32 input tensor, through a reused buffer.

    On the CPU the tensor shares the NumPy buffer's memory, so acting allocates nothing
    per step; on a GPU the buffer is copied over.
    """

    def __init__(self, obs_shape: tuple[int, ...], device: torch.device) -> None:
        self.array = np.zeros((1, *obs_shape), dtype=np.float32)
        self.tensor = torch.from_numpy(self.array)
        self.device = device

    def __call__(self, observation: Any) -> torch.Tensor:
        self.array[0] = observation
        return self.tensor if self.device.type == "cpu" else self.tensor.to(self.device, non_blocking=True)
