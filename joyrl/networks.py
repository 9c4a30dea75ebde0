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

For ``Dict`` observations the spec is a mapping from an observation part to that part's
layers, plus an optional ``head`` of linear layers after the parts' features are
concatenated (in the mapping's order). An empty list feeds a part in flattened, as is;
parts the mapping does not name (such as ``action_mask``) are not network inputs::

    value_layers:
      image:                         # (4, 17, 17): conv2d layers, flattened at the end
        - {layer_type: conv2d, layer_size: [16], kernel_size: 3, stride: 2}
      vector:                        # (35,): linear layers
        - {layer_type: linear, layer_size: [64]}
      head:                          # after the concatenation: linear layers only
        - {layer_type: linear, layer_size: [256]}

Action masks: an observation part named ``action_mask`` (1 legal, 0 illegal, one entry per
action) marks the legal actions. Agents that honour masks keep that part with the
observation (``dict_format(..., keep_mask=True)``), so it reaches acting, evaluation and
the replay memory with the state it belongs to; ``legal_only`` and ``random_legal_action``
restrict their choices to it. An env that puts its mask in ``info`` instead gets the part
from ``joyrl.envs.ActionMaskObservation``.
"""

from __future__ import annotations

import difflib
import math
import random
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn
from torch.nn.modules import module as _module_hooks

from joyrl.envs import ACTION_MASK
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
HEAD = "head"  # in a mapping spec: the layers after the concatenation of the parts' features

Shape = tuple[int, ...]
ObsShape = int | Shape | dict[str, Shape]  # a width, an observation's shape, or a Dict observation's parts' shapes


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


# A linear layer and the ReLU after it as one oneDNN call (the bias and the ReLU applied as the product's
# results are written): two passes over the output fewer. Used on the CPU for passes that need no gradient,
# and only for outputs of at least FUSED_MIN_OUTPUTS numbers: measured on one thread, 1000x750 outputs take
# 6% less time and 2560x256 15% less (BCQ's and CQL's sampled-action passes), 256x256 the same, and a
# single row 2-3x more (a fixed cost of a oneDNN call), so acting keeps torch's own kernels.
FUSED_LINEAR_RELU = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
FUSED_MIN_OUTPUTS = 2**18
FUSED_MIN_ROWS = 64  # below this no pass is checked for fusion: acting's single rows go straight to nn.Sequential


class Layers(nn.Sequential):
    """``nn.Sequential`` that calls its Linear, ReLU and Tanh layers' kernels directly, and whose Linear + ReLU
    pairs run fused (see FUSED_LINEAR_RELU) in large no-gradient passes.

    A module call goes through ``nn.Module.__call__`` (hooks, tracing, the forward lookup): about 1.5 us a
    layer, which on CartPole's 4-120-84-2 Q-network is a quarter of acting on one observation. Layers of
    those three types, with no hook on them and none global, get their kernel (``F.linear``, ``torch.relu``,
    ``torch.tanh``) straight: the same numbers and gradients. Any other layer, or a hooked one, is called.
    """

    def forward(self, x: Any) -> Any:
        if torch.is_grad_enabled() or not (FUSED_LINEAR_RELU and _large_cpu_batch(x)):
            if _global_hooks():
                return super().forward(x)
            for layer in self._modules.values():
                if layer._forward_hooks or layer._forward_pre_hooks or layer._backward_hooks or layer._backward_pre_hooks:
                    x = layer(x)
                elif type(layer) is nn.Linear:
                    x = F.linear(x, layer.weight, layer.bias)
                elif type(layer) is nn.ReLU and not layer.inplace:
                    x = torch.relu(x)
                elif type(layer) is nn.Tanh:
                    x = torch.tanh(x)
                else:
                    x = layer(x)
            return x
        modules = list(self)
        i = 0
        while i < len(modules):
            layer, after = modules[i], modules[i + 1] if i + 1 < len(modules) else None
            if isinstance(layer, nn.Linear) and type(after) is nn.ReLU and len(x) * layer.out_features >= FUSED_MIN_OUTPUTS:
                x = torch.ops.mkldnn._linear_pointwise(x.contiguous(), layer.weight, layer.bias, "relu", [], "")
                i += 2
            else:
                x = layer(x)
                i += 1
        return x


def _global_hooks() -> bool:
    """Whether a hook is registered for every module (``torch.nn.modules.module.register_module_forward_hook`` and kin)."""
    return bool(
        _module_hooks._global_forward_hooks
        or _module_hooks._global_forward_pre_hooks
        or _module_hooks._global_backward_hooks
        or _module_hooks._global_backward_pre_hooks
    )


def _large_cpu_batch(x: Any) -> bool:
    """A float32 CPU batch of flat inputs of at least FUSED_MIN_ROWS rows."""
    return (
        isinstance(x, torch.Tensor)
        and x.dim() == 2
        and x.shape[0] >= FUSED_MIN_ROWS  # not len(x): Tensor.__len__ is a Python method, 1 us on every acting pass
        and x.device.type == "cpu"
        and x.dtype == torch.float32
    )


class EncodedShape(tuple):
    """The stored shape of a Discrete or MultiDiscrete observation, int64 indices, with what its one-hot encoding needs.

    Memories and ``ObservationTensor`` see a plain shape (``()`` for Discrete, the ``nvec`` shape for
    MultiDiscrete), so they keep the compact indices; the network builders see ``sizes`` and ``starts`` and
    put ``OneHot`` in front, so a network's input is the concatenated one-hots, ``sum(sizes)`` wide.
    """

    sizes: tuple[int, ...]
    starts: tuple[int, ...]

    def __new__(cls, shape: tuple[int, ...], sizes: Any, starts: Any) -> EncodedShape:
        encoded = super().__new__(cls, shape)
        encoded.sizes, encoded.starts = tuple(int(n) for n in sizes), tuple(int(s) for s in starts)
        return encoded

    def __reduce__(self) -> tuple:  # pickled (Ray workers, deep copies) with its sizes
        return (EncodedShape, (tuple(self), self.sizes, self.starts))


class OneHot(nn.Module):
    """Indices (B,) or (B, *k) as their concatenated one-hot vectors, (B, sum(sizes)) float32."""

    offsets: torch.Tensor

    def __init__(self, sizes: tuple[int, ...], starts: tuple[int, ...]) -> None:
        super().__init__()
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]) - np.asarray(starts)  # index - start + the part's offset
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.int64), persistent=False)
        self.width = int(sum(sizes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = x.long().reshape(x.shape[0], -1) + self.offsets
        return torch.zeros(x.shape[0], self.width, device=x.device).scatter_(1, columns, 1.0)


class FlatFloat(nn.Module):
    """Observations (B, *shape) as flat float32 features (B, prod(shape))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1).float()


def flat_encoder(obs_shape: int | Shape) -> tuple[nn.Module, int]:
    """What turns observations as memories keep them into the flat float features of a network reading [s, a], and
    their width: ``OneHot`` for an ``EncodedShape`` (indices), ``FlatFloat`` for any other shape (or width)."""
    if isinstance(obs_shape, EncodedShape):
        return OneHot(obs_shape.sizes, obs_shape.starts), sum(obs_shape.sizes)
    return FlatFloat(), obs_shape if isinstance(obs_shape, int) else math.prod(obs_shape)


class ScaleUint8(nn.Module):
    """uint8 inputs (pixels, bytes) in [0, 255] as float32 in [0, 1], so memories can keep the bytes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32) / 255.0


def build_body(
    spec: list[dict[str, Any]] | dict[str, list[dict[str, Any]]],
    input_size: ObsShape,
    key: str = "value_layers",
    input_dtype: Any = np.float32,
) -> tuple[nn.Sequential, int]:
    """The hidden layers of ``spec`` and the width of their output (for heads: dueling, noisy, categorical).

    ``input_size`` is the width of a flat observation, or the observation's shape: (C, H, W) for
    conv2d layers; a shape of more than one axis is flattened before the first linear layer, and
    so are the conv2d features. A uint8 ``input_dtype`` puts ``ScaleUint8`` in front. For a Dict
    observation, ``spec`` maps parts to layers (see the module docstring), ``input_size`` the
    parts to their shapes and ``input_dtype`` is one dtype or a mapping of the parts' dtypes;
    the network then takes a dict of tensors.
    """
    if isinstance(spec, dict) or isinstance(input_size, dict):
        return _build_dict_body(spec, input_size, key, input_dtype)
    check_layer_spec(spec, key)
    shape = (
        input_size
        if isinstance(input_size, EncodedShape)
        else (input_size,)
        if isinstance(input_size, int)
        else tuple(input_size)
    )
    return _build_layers(spec, shape, f"algo_cfg.{key}", input_dtype)


def _build_layers(spec: list[dict[str, Any]], shape: Shape, where: str, input_dtype: Any) -> tuple[Layers, int]:
    """``spec`` (already checked) on inputs of ``shape``; the output is flat. An ``EncodedShape`` gets ``OneHot`` first."""
    layers: list[nn.Module] = [ScaleUint8()] if np.dtype(input_dtype) == np.uint8 else []
    if isinstance(shape, EncodedShape):
        layers.append(OneHot(shape.sizes, shape.starts))
        shape = (sum(shape.sizes),)
    input_shape = shape
    for i, layer in enumerate(spec):
        width = layer["layer_size"][0]
        if layer.get("layer_type", "linear") == "conv2d":
            kernel, stride, padding = layer["kernel_size"], layer.get("stride", 1), layer.get("padding", 0)
            feature_map = _conv_output_size(shape, kernel, stride, padding, f"{where}[{i}]", input_shape)
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
    return Layers(*layers), math.prod(shape)


class DictBody(nn.Module):
    """Each part of a Dict observation through its own layers; the features concatenated: (B, Σ widths)."""

    def __init__(self, parts: dict[str, nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleDict(parts)

    def forward(self, observation: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([body(observation[name]) for name, body in self.parts.items()], dim=1)


def _build_dict_body(spec: Any, input_size: Any, key: str, input_dtype: Any) -> tuple[nn.Sequential, int]:
    """``DictBody`` for the parts ``spec`` names, then the ``head`` layers."""
    check_dict_spec(spec, input_size, key)
    dtypes = input_dtype if isinstance(input_dtype, dict) else dict.fromkeys(input_size, input_dtype)
    parts: dict[str, nn.Module] = {}
    width = 0
    for name, layers in spec.items():
        if name == HEAD:
            continue
        shape = input_size[name] if isinstance(input_size[name], EncodedShape) else tuple(input_size[name])
        # no layers: the part fed in flattened, as is (pixels scaled, indices one-hot)
        parts[name], size = _build_layers(layers, shape, f"algo_cfg.{key}.{name}", dtypes[name])
        width += size
    head, width = _build_layers(spec.get(HEAD) or [], (width,), f"algo_cfg.{key}.{HEAD}", np.float32)
    return nn.Sequential(DictBody(parts), *head), width


def check_dict_spec(spec: Any, input_size: Any, key: str) -> None:
    """Raise ConfigError when a mapping spec does not fit a Dict observation's parts (or either is not a mapping)."""
    where = f"algo_cfg.{key}"
    if not isinstance(input_size, dict):
        shape = (input_size,) if isinstance(input_size, int) else tuple(input_size)
        raise ConfigError(
            f"{where} maps observation parts ({', '.join(map(str, spec))}) to layers, but the observation is not a Dict "
            f"(its shape is {shape}); give a list of layers"
        )
    part_names = ", ".join(input_size)
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{where}: the observation is a Dict with parts {part_names}; give a mapping from part to layers, "
            f"e.g. {{image: [conv2d layers], vector: [linear layers], head: [linear layers]}}"
        )
    for name, layers in spec.items():
        if name != HEAD and name not in input_size:
            close = difflib.get_close_matches(str(name), [*input_size, HEAD], n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(
                f"{where}.{name}: the observation has no part {name!r}; {hint}its parts are {part_names} (and {HEAD})"
            )
        if not isinstance(layers, list):
            raise ConfigError(f"{where}.{name}: expected a list of layers, got {layers!r}")
        if name == HEAD:
            continue
        if len(input_size[name]) == 0 and not isinstance(input_size[name], EncodedShape):
            raise ConfigError(f"{where}.{name}: the part is a single number (shape ()); only array parts can be network inputs")
        if layers:
            check_layer_spec(layers, f"{key}.{name}")
    if not any(name != HEAD for name in spec):
        raise ConfigError(f"{where} names no observation part; give layers for at least one of {part_names}")
    _check_head(spec.get(HEAD) or [], key)


def _check_head(head: list[dict[str, Any]], key: str) -> None:
    """The head of a mapping spec: linear layers only, after the parts' concatenated features."""
    where = f"algo_cfg.{key}"
    if head:
        check_layer_spec(head, f"{key}.{HEAD}")
    for i, layer in enumerate(head):
        if layer.get("layer_type", "linear") != "linear":
            raise ConfigError(
                f"{where}.{HEAD}[{i}]: the head takes the concatenated flat features: linear layers only; "
                f"put conv2d layers under an image part"
            )


def build_mlp(
    spec: list[dict[str, Any]] | dict[str, list[dict[str, Any]]],
    input_size: ObsShape,
    output_size: int,
    key: str = "value_layers",
    input_dtype: Any = np.float32,
) -> Layers:
    """Hidden layers from ``spec`` (see ``build_body``), then a linear output layer of ``output_size``."""
    body, size = build_body(spec, input_size, key, input_dtype)
    return Layers(*body, nn.Linear(size, output_size))


def _conv_output_size(shape: Shape, kernel: int, stride: int, padding: int, where: str, input_shape: Shape) -> tuple[int, int]:
    """Height and width after a conv2d layer on ``shape`` = (C, H, W); ConfigError when it does not apply."""
    if len(shape) != 3:
        observed = f"a flat vector of {input_shape[0]}" if len(input_shape) == 1 else f"shape {input_shape}"
        raise ConfigError(f"{where}: conv2d needs image observations shaped (C, H, W); the network's input is {observed}")
    _, height, width = shape
    out_height, out_width = ((size + 2 * padding - kernel) // stride + 1 for size in (height, width))
    if out_height < 1 or out_width < 1:
        raise ConfigError(
            f"{where}: a {kernel}x{kernel} kernel does not fit the {height}x{width} feature map it gets from the "
            f"{input_shape} observation; use a smaller kernel_size or stride, or fewer conv2d layers"
        )
    return out_height, out_width


class ObservationTensor:
    """One observation as a (1, *obs) input tensor of ``dtype``, through a reused buffer.

    On the CPU the tensor shares the NumPy buffer's memory, so acting allocates nothing
    per step; on a GPU the buffer is copied over. ``dtype`` is float32, or uint8 for
    image agents, whose networks scale the bytes themselves (``ScaleUint8``). With
    ``obs_shape`` a mapping (a Dict observation's parts, see ``dict_format``) it gives a
    dict of such tensors, one per part, and ignores the observation's other parts.
    """

    def __init__(self, obs_shape: Shape | dict[str, Shape], device: torch.device, dtype: Any = np.float32) -> None:
        self.device = device
        self.parts: dict[str, ObservationTensor] | None = None
        if isinstance(obs_shape, dict):
            dtypes = dtype if isinstance(dtype, dict) else dict.fromkeys(obs_shape, dtype)
            self.parts = {name: ObservationTensor(shape, device, dtypes[name]) for name, shape in obs_shape.items()}
            return
        self.array = np.zeros((1, *obs_shape), dtype=dtype)
        self.tensor = torch.from_numpy(self.array)

    def __call__(self, observation: Any) -> torch.Tensor | dict[str, torch.Tensor]:
        if self.parts is not None:
            return {name: part._fill(observation[name]) for name, part in self.parts.items()}
        return self._fill(observation)

    def _fill(self, observation: Any) -> torch.Tensor:
        """One observation of a single array through the buffer: the (1, *obs) input tensor."""
        self.array[0] = observation
        return self.tensor if self.device.type == "cpu" else self.tensor.to(self.device, non_blocking=True)


def observation_format(cfg: Any, key: str = "value_layers", keep_mask: bool = False, box_shape: bool = False) -> tuple[Any, Any]:
    """Shape and dtype of one observation as a memory keeps it and a network built from it takes it.

    Box: float32, flat (``n_states``,), or with ``box_shape`` the env's own shape (the networks flatten it).
    Discrete and MultiDiscrete: int64 indices, their shape an ``EncodedShape`` (networks one-hot encode
    them; memories keep the indices). MultiBinary: its bits as float32. Dict: the parts ``dict_format`` keeps.
    """
    kept = dict_format(cfg, key, keep_mask)
    if kept is not None:
        return kept
    space = getattr(cfg, "obs_space", None)  # absent: a flat Box of n_states (agents built by hand)
    if isinstance(space, spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary):
        return part_format(space)
    if box_shape and space is not None:
        return tuple(space.shape), np.float32
    return (cfg.n_states,), np.float32


def part_format(space: spaces.Space) -> tuple[Shape, Any]:
    """Shape and dtype of an observation (or a Dict's part) of ``space`` as memories keep it.

    Discrete and MultiDiscrete: int64 indices, the shape an ``EncodedShape`` (one-hot in the networks).
    MultiBinary: the bits as float32. Box: its shape, uint8 kept as uint8 (pixels), the rest float32.
    """
    if isinstance(space, spaces.Discrete):
        return EncodedShape((), [space.n], [space.start]), np.int64
    if isinstance(space, spaces.MultiDiscrete):
        return EncodedShape(tuple(space.shape), np.asarray(space.nvec).ravel(), np.asarray(space.start).ravel()), np.int64
    if isinstance(space, spaces.MultiBinary):
        return tuple(int(size) for size in np.atleast_1d(space.shape)), np.float32
    return tuple(space.shape or ()), np.uint8 if space.dtype == np.uint8 else np.float32


def dict_format(cfg: Any, key: str = "value_layers", keep_mask: bool = False) -> tuple[dict[str, Shape], dict[str, Any]] | None:
    """Shapes and dtypes of the parts of a Dict observation that an agent keeps (network input and memory).

    The parts the ``key`` spec names, uint8 kept as uint8 and the rest as float32; with
    ``keep_mask`` (agents that honour action masks) also ``action_mask``, as bool. None when
    the observation (``cfg.obs_space``) is no Dict and the spec no mapping; ConfigError when
    one is and the other is not, or the spec does not fit the parts.
    """
    obs_space, spec = getattr(cfg, "obs_space", None), getattr(cfg, key)
    if not isinstance(obs_space, spaces.Dict):
        if isinstance(spec, dict):
            check_dict_spec(spec, tuple(getattr(obs_space, "shape", None) or ()), key)
        return None
    parts = {name: part_format(part) for name, part in obs_space.spaces.items()}
    shapes = {name: shape for name, (shape, _) in parts.items()}
    check_dict_spec(spec, shapes, key)
    formats: dict[str, Any] = {name: parts[name][1] for name in spec if name != HEAD}
    if keep_mask and ACTION_MASK in shapes and ACTION_MASK not in formats:
        shapes[ACTION_MASK], formats[ACTION_MASK] = tuple(obs_space[ACTION_MASK].shape or ()), np.bool_
    return {name: shapes[name] for name in formats}, formats


def legal_only(values: torch.Tensor, observation: Any) -> torch.Tensor:
    """``values`` (B, A) with -inf at the actions the observation's ``action_mask`` (B, A) marks illegal.

    Unchanged (the same tensor) for an observation without a mask; a row with no legal action is left whole.
    """
    if not isinstance(observation, dict) or ACTION_MASK not in observation:
        return values
    legal = observation[ACTION_MASK].bool()
    legal = legal | ~legal.any(dim=-1, keepdim=True)
    return values.masked_fill(~legal, -torch.inf)


def random_legal_action(n_actions: int, observation: Any) -> int:
    """A uniformly random action among the legal ones (``random``'s RNG); any of ``n_actions`` without a mask."""
    if isinstance(observation, dict) and ACTION_MASK in observation:
        legal = np.flatnonzero(observation[ACTION_MASK])
        if legal.size:
            return int(legal[random.randrange(legal.size)])
    return random.randrange(n_actions)
