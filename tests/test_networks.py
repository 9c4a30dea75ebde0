"""Networks built from a layer spec, and the spec's checks."""

import pytest
import torch
from torch import nn

from joyrl.errors import ConfigError
from joyrl.networks import build_mlp, check_layer_spec


def test_build_mlp_output_shape():
    spec = [{"layer_type": "linear", "layer_size": [16], "activation": "relu"}, {"layer_size": [8], "activation": "tanh"}]
    net = build_mlp(spec, input_size=4, output_size=3)
    assert net(torch.zeros(5, 4)).shape == (5, 3)
    assert [type(layer) for layer in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.Tanh, nn.Linear]
    assert [(layer.in_features, layer.out_features) for layer in net if isinstance(layer, nn.Linear)] == [
        (4, 16),
        (16, 8),
        (8, 3),
    ]


def test_activation_none_adds_no_layer():
    net = build_mlp([{"layer_size": [8], "activation": "none"}], 2, 2)
    assert [type(layer) for layer in net] == [nn.Linear, nn.Linear]


def test_activation_defaults_to_relu():
    net = build_mlp([{"layer_size": [8]}], 2, 2)
    assert isinstance(net[1], nn.ReLU)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "is empty"),
        (["linear"], r"value_layers\[0\]: expected a mapping"),
        ([{"layer_size": [8], "units": 3}], "unknown field"),
        ([{"layer_type": "lstm", "layer_size": [8]}], r"value_layers\[0\]\.layer_type: unknown 'lstm'"),
        ([{"layer_size": [0]}], "layer_size"),
        ([{"layer_size": [8, 8]}], "layer_size"),
        ([{"layer_size": 8}], "layer_size"),
        ([{"layer_size": [True]}], "layer_size"),
        ([{"layer_size": [8.5]}], "layer_size"),
        ([{}], "layer_size"),
        ([{"layer_size": [8]}, {"layer_size": [8], "activation": "swish"}], r"value_layers\[1\]\.activation: unknown 'swish'"),
    ],
)
def test_bad_layer_specs(spec, message):
    with pytest.raises(ConfigError, match=message):
        check_layer_spec(spec, "value_layers")


def test_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"algo_cfg\.actor_layers"):
        build_mlp([], 2, 2, key="actor_layers")
