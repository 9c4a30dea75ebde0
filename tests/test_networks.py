"""Networks built from a layer spec, and the spec's checks."""

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from joyrl import networks
from joyrl.errors import ConfigError
from joyrl.networks import ObservationTensor, ScaleUint8, build_body, build_mlp, check_layer_spec

CONV = {"layer_type": "conv2d", "layer_size": [4], "kernel_size": 3}


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
        ([CONV | {"units": 3}], r"value_layers\[0\]: unknown field\(s\) units; a conv2d layer takes"),
        ([{"layer_size": [8], "kernel_size": 3}], r"value_layers\[0\]: unknown field\(s\) kernel_size; a linear layer takes"),
        ([{"layer_type": "conv2d", "layer_size": [4]}], r"value_layers\[0\]\.kernel_size: expected a positive integer"),
        ([CONV | {"kernel_size": 0}], r"value_layers\[0\]\.kernel_size: expected a positive integer"),
        ([CONV | {"kernel_size": [3, 3]}], r"value_layers\[0\]\.kernel_size"),
        ([CONV | {"stride": 0}], r"value_layers\[0\]\.stride: expected a positive integer"),
        ([CONV | {"stride": True}], r"value_layers\[0\]\.stride"),
        ([CONV | {"padding": -1}], r"value_layers\[0\]\.padding: expected an integer >= 0"),
        ([CONV | {"layer_size": [0]}], r"value_layers\[0\]\.layer_size"),
        ([CONV | {"activation": "swish"}], r"value_layers\[0\]\.activation: unknown 'swish'"),
        ([CONV, {"layer_size": [8]}, CONV], r"value_layers\[2\]\.layer_type: conv2d after a linear layer"),
    ],
)
def test_bad_layer_specs(spec, message):
    with pytest.raises(ConfigError, match=message):
        check_layer_spec(spec, "value_layers")


def test_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"algo_cfg\.actor_layers"):
        build_mlp([], 2, 2, key="actor_layers")


def test_a_shape_of_one_axis_builds_the_same_mlp_as_its_width():
    torch.manual_seed(0)
    from_width = build_mlp([{"layer_size": [8]}], 4, 2)
    torch.manual_seed(0)
    from_shape = build_mlp([{"layer_size": [8]}], (4,), 2)
    assert [type(layer) for layer in from_shape] == [nn.Linear, nn.ReLU, nn.Linear]
    width_state, shape_state = from_width.state_dict(), from_shape.state_dict()
    assert shape_state.keys() == width_state.keys()
    assert all(torch.equal(shape_state[name], width_state[name]) for name in width_state)


def test_a_shape_of_several_axes_is_flattened_before_the_first_linear_layer():
    net = build_mlp([{"layer_size": [8]}], (2, 3), 2)
    assert [type(layer) for layer in net] == [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear]
    assert net[1].in_features == 6
    assert net(torch.zeros(5, 2, 3)).shape == (5, 2)


def test_conv_layers_then_an_implicit_flatten_before_the_linear_layer():
    spec = [CONV | {"stride": 2, "padding": 1, "activation": "tanh"}, CONV, {"layer_size": [8]}]
    net = build_mlp(spec, (3, 10, 12), 2)
    assert [type(layer) for layer in net] == [nn.Conv2d, nn.Tanh, nn.Conv2d, nn.ReLU, nn.Flatten, nn.Linear, nn.ReLU, nn.Linear]
    conv = net[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == (3, 4, (3, 3), (2, 2), (1, 1))
    # (10 + 2 - 3) // 2 + 1 = 5 and (12 + 2 - 3) // 2 + 1 = 6, then a 3x3 kernel: 3x4, times 4 channels
    assert net[5].in_features == 4 * 3 * 4
    assert net(torch.zeros(7, 3, 10, 12)).shape == (7, 2)


def test_a_body_of_conv_layers_only_ends_flat():
    body, width = build_body([CONV], (1, 5, 5))
    assert isinstance(body[-1], nn.Flatten)
    assert width == 4 * 3 * 3
    assert body(torch.zeros(2, 1, 5, 5)).shape == (2, width)


@pytest.mark.parametrize(
    ("input_size", "message"),
    [
        (
            16,
            r"value_layers\[0\]: conv2d needs image observations shaped \(C, H, W\); the network's input is a flat vector of 16",
        ),
        ((4, 4), r"value_layers\[0\]: conv2d needs image observations .* shape \(4, 4\)"),
        ((1, 4, 4), r"value_layers\[1\]: a 3x3 kernel does not fit the 2x2 feature map it gets from the \(1, 4, 4\) observation"),
    ],
)
def test_conv_layers_that_do_not_fit_the_input_are_config_errors(input_size, message):
    with pytest.raises(ConfigError, match=message):
        build_body([CONV, CONV], input_size)


def test_uint8_inputs_are_scaled_to_the_unit_interval_inside_the_network():
    net = build_mlp([{"layer_size": [3], "activation": "none"}], (2,), 1, input_dtype=np.uint8)
    assert isinstance(net[0], ScaleUint8)
    assert not list(net[0].parameters())
    pixels = torch.tensor([[0, 255], [51, 102]], dtype=torch.uint8)
    assert torch.equal(net[0](pixels), torch.tensor([[0.0, 1.0], [0.2, 0.4]]))
    with torch.no_grad():
        assert torch.allclose(net(pixels), net[1:](pixels.float() / 255))


def test_float_inputs_are_not_scaled():
    assert not any(isinstance(layer, ScaleUint8) for layer in build_mlp([CONV], (1, 3, 3), 2))


def test_observation_tensor_keeps_its_dtype():
    frames = ObservationTensor((2, 3, 3), torch.device("cpu"), np.uint8)
    observation = np.full((2, 3, 3), 200, np.uint8)
    tensor = frames(observation)
    assert tensor.dtype == torch.uint8 and tensor.shape == (1, 2, 3, 3)
    assert int(tensor.max()) == 200
    assert ObservationTensor((4,), torch.device("cpu"))(np.ones(4)).dtype == torch.float32


WIDE = [{"layer_type": "linear", "layer_size": [512], "activation": "relu"}] * 2


@pytest.mark.skipif(not networks.FUSED_LINEAR_RELU, reason="no oneDNN in this torch build")
def test_large_no_gradient_passes_fuse_linear_and_relu_and_give_the_same_values(monkeypatch):
    torch.manual_seed(0)
    mlp, x = build_mlp(WIDE, 6, 3), torch.randn(1024, 6)  # 1024 x 512 outputs: over FUSED_MIN_OUTPUTS
    calls = []
    fused = torch.ops.mkldnn._linear_pointwise
    monkeypatch.setattr(networks.torch.ops.mkldnn, "_linear_pointwise", lambda *args: calls.append(1) or fused(*args))
    with torch.no_grad():
        fast = mlp(x)
    assert len(calls) == 2  # both hidden layers; the output layer has no ReLU
    monkeypatch.setattr(networks, "FUSED_LINEAR_RELU", False)
    with torch.no_grad():
        plain = mlp(x)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)


def test_passes_that_need_gradients_or_are_small_keep_torchs_kernels(monkeypatch):
    mlp = build_mlp(WIDE, 6, 3)
    monkeypatch.setattr(networks.torch.ops.mkldnn, "_linear_pointwise", lambda *args: pytest.fail("fused"), raising=False)
    mlp(torch.randn(1024, 6)).sum().backward()  # with autograd
    assert all(parameter.grad is not None for parameter in mlp.parameters())
    with torch.no_grad():
        mlp(torch.randn(1, 6))  # acting: one row


def test_fused_networks_keep_nn_sequential_parameter_names():
    mlp = build_mlp(WIDE, 6, 3)
    assert list(mlp.state_dict()) == list(nn.Sequential(*mlp).state_dict())


def test_layers_give_nn_sequentials_outputs_and_gradients_and_honour_hooks():
    torch.manual_seed(0)
    layers = networks.Layers(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 8), nn.ELU(), nn.Linear(8, 2))
    reference = nn.Sequential(*layers)  # the same modules, called one by one
    x = torch.randn(32, 4)
    torch.testing.assert_close(layers(x), nn.Sequential.forward(reference, x), rtol=0, atol=0)
    layers(x).square().sum().backward()
    ours = [parameter.grad.clone() for parameter in layers.parameters()]
    layers.zero_grad()
    nn.Sequential.forward(reference, x).square().sum().backward()
    for grad, parameter in zip(ours, reference.parameters(), strict=True):
        torch.testing.assert_close(grad, parameter.grad, rtol=0, atol=0)
    seen = []
    handle = layers[2].register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    layers(x)
    handle.remove()
    handle = nn.modules.module.register_module_forward_hook(lambda module, inputs, output: seen.append(type(module).__name__))
    with torch.no_grad():
        layers(x[:1])
    handle.remove()
    assert seen[0] == (32, 8) and "Linear" in seen[1:] and "ReLU" in seen[1:]  # a layer's hook, then global ones


def test_one_hot_encodes_discrete_and_multi_discrete_indices():
    from joyrl.networks import EncodedShape, OneHot

    discrete = OneHot((3,), (-1,))  # Discrete(3, start=-1)
    assert discrete(torch.tensor([-1, 1])).tolist() == [[1, 0, 0], [0, 0, 1]]
    multi = OneHot((2, 3), (0, 0))  # MultiDiscrete([2, 3])
    assert multi(torch.tensor([[1, 2], [0, 0]])).tolist() == [[0, 1, 0, 0, 1], [1, 0, 1, 0, 0]]
    shape = EncodedShape((2,), (2, 3), (0, 0))
    assert shape == (2,) and pickle.loads(pickle.dumps(shape)).sizes == (2, 3)
    network = build_mlp([{"layer_type": "linear", "layer_size": [8], "activation": "relu"}], shape, 4)
    assert network(torch.tensor([[1, 2]])).shape == (1, 4) and network[1].in_features == 5


@pytest.mark.parametrize(
    ("space", "stored"),
    [
        (spaces.Discrete(5), ((), np.int64)),
        (spaces.MultiDiscrete([2, 3]), ((2,), np.int64)),
        (spaces.MultiBinary(3), ((3,), np.float32)),
        (spaces.Box(-1, 1, (4,)), ((4,), np.float32)),
    ],
)
def test_the_memory_keeps_indices_and_the_network_takes_one_hots(space, stored):
    from algos.DQN.agent import Agent
    from algos.DQN.config import AlgoConfig
    from joyrl.config import defaults

    n_states = {spaces.Discrete: 5, spaces.MultiDiscrete: 5, spaces.MultiBinary: 3, spaces.Box: 4}[type(space)]
    cfg = SimpleNamespace(
        **defaults(AlgoConfig), device="cpu", n_actions=2, n_states=n_states, obs_space=space, max_env_steps=100
    )
    agent = Agent(cfg)
    assert (agent.memory.states.shape[1:], agent.memory.states.dtype) == (stored[0], np.dtype(stored[1]))
    observation = space.sample()
    agent.store_transition(observation, 1, 1.0, observation, False)
    assert np.array_equal(agent.memory.states[0], np.asarray(observation, dtype=stored[1]))
    assert agent.policy_net[-1].out_features == 2 and isinstance(agent.predict_action(observation), int)
    assert agent.sample_batch().states.shape[1:] == stored[0]


def test_flat_encoder_one_hot_encodes_indices_and_flattens_the_rest_to_float32():
    from joyrl.networks import EncodedShape, flat_encoder

    encoder, width = flat_encoder(EncodedShape((2,), (2, 3), (0, 0)))  # MultiDiscrete([2, 3])
    assert width == 5 and encoder(torch.tensor([[1, 2]])).tolist() == [[0, 1, 0, 0, 1]]
    encoder, width = flat_encoder((2, 3))
    flat = encoder(torch.arange(12, dtype=torch.float64).reshape(2, 2, 3))
    assert width == 6 and flat.dtype == torch.float32 and flat.tolist() == [list(range(6)), list(range(6, 12))]
    assert flat_encoder(4)[1] == 4
