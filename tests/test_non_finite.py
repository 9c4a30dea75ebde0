"""A NaN or inf in a logged statistic or in the agent's parameters stops training, keeping the good checkpoints."""

import math

import torch

from joyrl.checkpoints import first_non_finite
from tests.helpers import TINY_DQN


def replace_in_agent(old, new):
    def edit(folder):
        path = folder / "agent.py"
        source = path.read_text(encoding="utf-8")
        assert old in source
        path.write_text(source.replace(old, new), encoding="utf-8")

    return edit


def test_first_non_finite_names_the_tensor():
    state = {"net": {"weight": torch.ones(2), "bias": torch.tensor([0.0, math.inf])}, "steps": 3, "ints": torch.arange(3)}
    assert first_non_finite(state) == "agent.net.bias"
    assert first_non_finite({"net": [torch.zeros(2)], "count": 1}) is None


def test_first_non_finite_is_exact_where_a_sum_overflows():
    huge = torch.full((4,), 1e308, dtype=torch.float64)  # finite, but its float64 sum is inf
    assert first_non_finite({"big": huge, "half": torch.ones(3, dtype=torch.float16)}) is None
    later_nan = {"big": huge, "opt": [{"exp_avg": torch.tensor([1.0, math.nan])}]}
    assert first_non_finite(later_nan) == "agent.opt.0.exp_avg"
    assert first_non_finite({"a": torch.tensor([math.inf]), "b": torch.tensor([-math.inf])}) == "agent.a"


def test_a_nan_loss_stops_the_run_and_names_it(copy_algo, cli):
    name = copy_algo(edit=replace_in_agent('"loss": float(total_loss) / self.cfg.gradient_steps', '"loss": float("nan")'))
    result = cli(*TINY_DQN, "--algo", name)
    assert result.code == 1
    log = (result.folder / "logs" / "log.txt").read_text(encoding="utf-8")
    assert "train/loss is nan at episode" in log
    assert not (result.folder / "models" / "last.pt").exists()
    assert (result.folder / "results" / "res.csv").read_text(encoding="utf-8").count("\n") >= 2  # header and the episodes before


def test_nan_parameters_are_never_written_to_a_checkpoint(copy_algo, cli):
    """The agent poisons its weights and reports no statistic, so only the check before saving can catch it."""
    report = '        return {"loss": float(total_loss)'
    name = copy_algo(
        edit=replace_in_agent(
            report, "        self.policy_net[0].weight.data.fill_(float('nan'))\n        return None\n" + report
        )
    )
    result = cli(*TINY_DQN, "--algo", name, "general_cfg.online_eval=false")
    assert result.code == 1
    log = (result.folder / "logs" / "log.txt").read_text(encoding="utf-8")
    assert "policy_net.0.weight holds NaN or inf" in log
    for checkpoint in (result.folder / "models").glob("*.pt"):
        assert first_non_finite(torch.load(checkpoint, weights_only=True)["agent"]) is None
