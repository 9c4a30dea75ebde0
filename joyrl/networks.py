"""Networks built from a layer spec, as written in ``value_layers`` / ``actor_layers``.

A spec lists the hidden layers; the input size comes from the observation and an
output layer of the requested size is appended::

    value_layers:
      - {layer_type: linear, layer_size: [256], activation: relu}
      - {layer_type: linear, layer_size: [256], activation: relu}

For image observations (C, H, W), ``conv2d`` layers come first; the features are
flattened before the first linear layer (or at the end, when every layer is a conv2d).
The Nature-DQN CNN on (4, 84, 84) Atari frames::

    value_layers:
      - {layer_type: conv2d, layer_size: [32], kernel_size: 8, stride: 4, activation: relu}
      - {layer_type: conv2d, layer_size: [64], kernel_size: 4, stride: 2, activation: relu}
      - {layer_type: conv2d, layer_size: [64], kernel_size: 3, stride: 1, activation: relu}
      - {layer_type: linear, layer_size: [512], activation: relu}

``layer_size`` is the number of output features (linear) or channels (conv2d);
``stride`` defaults to 1 and ``padding`` (zeros on every side) to 0.
"""

from __future__ import annotations

import math
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
# The fields each layer type takes; optional: activation (default relu), stride (1), padding (0).
LAYER_FIELDS: dict[str, tuple[str, ...]] = {
    "linear": ("layer_type", "layer_size", "activation"),
    "conv2d": ("layer_type", "layer_size", "kernel_size", "stride", "padding", "activation"),
}
LAYER_TYPES = tuple(LAYER_FIELDS)


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def check_layer_spec(spec: list[dict[str, Any]], key: str) -> None:
    """Raise ConfigError naming ``key[i]`` for the first malformed layer."""
    if not spec:
        raise ConfigError(
            f"algo_cfg.{key} is empty; give at least one layer, e.g. {{layer_type: linear, layer_size: [64], activation: relu}}"
        )
    seen_linear = False
    for i, layer in enumerate(spec):
        where = f"algo_cfg.{key}[{i}]"
        if not isinstance(layer, dict):
            raise ConfigError(f"{where}: expected a mapping with layer_type, layer_size, activation; got {layer!r}")
        layer_type = layer.get("layer_type", "linear")
        if layer_type not in LAYER_TYPES:
            raise ConfigError(f"{where}.layer_type: unknown {layer_type!r}; expected one of {', '.join(LAYER_TYPES)}")
        fields = LAYER_FIELDS[layer_type]
        unknown = set(layer) - set(fields)
        if unknown:
            raise ConfigError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; a {layer_type} layer takes {', '.join(fields)}"
            )
        if layer_type == "conv2d" and seen_linear:
            raise ConfigError(f"{where}.layer_type: conv2d after a linear layer; put the conv2d layers first")
        seen_linear = seen_linear or layer_type == "linear"
        size = layer.get("layer_size")
        if not (isinstance(size, list) and len(size) == 1 and _is_int(size[0], 1)):
            raise ConfigError(f"{where}.layer_size: expected one positive integer in a list, e.g. [256]; got {size!r}")
        if layer_type == "conv2d":
            for field, minimum, default in (("kernel_size", 1, None), ("stride", 1, 1), ("padding", 0, 0)):
                value = layer.get(field, default)
                if not _is_int(value, minimum):
                    kind = "a positive integer" if minimum else "an integer >= 0"
                    raise ConfigError(f"{where}.{field}: expected {kind}, e.g. {default or 3}; got {value!r}")
        activation = layer.get("activation", "relu")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"{where}.activation: unknown {activation!r}; expected one of {', '.join(ACTIVATIONS)}")


class ScaleUint8(nn.Module):
    """uint8 inputs (pixels, bytes) in [0, 255] as float32 in [0, 1], so memories can keep the bytes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32) / 255.0


def build_body(
    spec: list[dict[str, Any]],
    input_size: int | tuple[int, ...],
    key: str = "value_layers",
    input_dtype: Any = np.float32,
) -> tuple[nn.Sequential, int]:
    """The hidden layers of ``spec`` and the width of their output (for heads: dueling, noisy, categorical).

    ``input_size`` is the width of a flat observation, or the observation's shape: (C, H, W) for
    conv2d layers; a shape of more than one axis is flattened before the first linear layer, and
    so are the conv2d features. A uint8 ``input_dtype`` puts ``ScaleUint8`` in front.
    """
    check_layer_spec(spec, key)
    layers: list[nn.Module] = [ScaleUint8()] if np.dtype(input_dtype) == np.uint8 else []
    shape = (input_size,) if isinstance(input_size, int) else tuple(input_size)
    for i, layer in enumerate(spec):
        width = layer["layer_size"][0]
        if layer.get("layer_type", "linear") == "conv2d":
            kernel, stride, padding = layer["kernel_size"], layer.get("stride", 1), layer.get("padding", 0)
            feature_map = _conv_output_size(shape, kernel, stride, padding, f"algo_cfg.{key}[{i}]", input_size)
            layers.append(nn.Conv2d(shape[0], width, kernel, stride, padding))
            shape = (width, *feature_map)
        else:
            if len(shape) > 1:
                layers.append(nn.Flatten())
                shape = (math.prod(shape),)
            layers.append(nn.Linear(shape[0], width))
            shape = (width,)
        activation = ACTIVATIONS[layer.get("activation", "relu")]
        if activation is not None:
            layers.append(activation())
    if len(shape) > 1:
        layers.append(nn.Flatten())
    return nn.Sequential(*layers), math.prod(shape)


def build_mlp(
    spec: list[dict[str, Any]],
    input_size: int | tuple[int, ...],
    output_size: int,
    key: str = "value_layers",
    input_dtype: Any = np.float32,
) -> nn.Sequential:
    """Hidden layers from ``spec`` (see ``build_body``), then a linear output layer of ``output_size``."""
    body, size = build_body(spec, input_size, key, input_dtype)
    return nn.Sequential(*body, nn.Linear(size, output_size))


def _conv_output_size(
    shape: tuple[int, ...], kernel: int, stride: int, padding: int, where: str, input_size: int | tuple[int, ...]
) -> tuple[int, int]:
    """Height and width after a conv2d layer on ``shape`` = (C, H, W); ConfigError when it does not apply."""
    if len(shape) != 3:
        observed = f"a flat vector of {input_size}" if isinstance(input_size, int) else f"shape {tuple(input_size)}"
        raise ConfigError(f"{where}: conv2d needs image observations shaped (C, H, W); the network's input is {observed}")
    _, height, width = shape
    out_height, out_width = ((size + 2 * padding - kernel) // stride + 1 for size in (height, width))
    if out_height < 1 or out_width < 1:
        raise ConfigError(
            f"{where}: a {kernel}x{kernel} kernel does not fit the {height}x{width} feature map it gets from the "
            f"{tuple(input_size)} observation; use a smaller kernel_size or stride, or fewer conv2d layers"
        )
    return out_height, out_width


class ObservationTensor:
    """One observation as a (1, *obs) input tensor of ``dtype``, through a reused buffer.

    On the CPU the tensor shares the NumPy buffer's memory, so acting allocates nothing
    per step; on a GPU the buffer is copied over. ``dtype`` is float32, or uint8 for
    image agents, whose networks scale the bytes themselves (``ScaleUint8``).
    """

    def __init__(self, obs_shape: tuple[int, ...], device: torch.device, dtype: Any = np.float32) -> None:
        self.array = np.zeros((1, *obs_shape), dtype=dtype)
        self.tensor = torch.from_numpy(self.array)
        self.device = device

    def __call__(self, observation: Any) -> torch.Tensor:
        self.array[0] = observation
        return self.tensor if self.device.type == "cpu" else self.tensor.to(self.device, non_blocking=True)
