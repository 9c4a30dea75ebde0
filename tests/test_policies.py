"""joyrl.policies: the lean Categorical gives torch's numbers and draws."""

import torch
from torch.distributions import Categorical, kl_divergence

from joyrl.policies import LogitsCategorical, categorical


def test_the_lean_categorical_gives_torchs_log_probs_entropies_draws_and_kl():
    torch.manual_seed(0)
    logits = torch.randn(64, 3)
    logits[0, 1] = -torch.inf  # an illegal action
    actions = torch.randint(0, 3, (64,))
    actions[0] = 0
    lean, reference = LogitsCategorical(logits), Categorical(logits=logits, validate_args=False)
    torch.testing.assert_close(lean.log_prob(actions), reference.log_prob(actions))
    torch.testing.assert_close(lean.entropy(), reference.entropy())
    assert torch.isfinite(lean.entropy()).all()
    torch.manual_seed(1)
    drawn = lean.sample()
    torch.manual_seed(1)
    assert torch.equal(drawn, reference.sample())
    assert drawn[0] != 1  # probability 0
    assert lean.sample((5,)).shape == (5, 64)
    torch.testing.assert_close(lean.log_prob(actions.expand(2, 64)), reference.log_prob(actions.expand(2, 64)))
    other = torch.randn(64, 3)
    torch.testing.assert_close(kl_divergence(lean, categorical(other)), kl_divergence(reference, Categorical(logits=other)))


def test_the_lean_categorical_passes_gradients_as_torchs():
    logits = torch.randn(16, 4, requires_grad=True)
    actions = torch.randint(0, 4, (16,))
    (LogitsCategorical(logits).log_prob(actions).sum() + LogitsCategorical(logits).entropy().sum()).backward()
    lean_grad, logits.grad = logits.grad, None
    reference = Categorical(logits=logits)
    (reference.log_prob(actions).sum() + reference.entropy().sum()).backward()
    torch.testing.assert_close(lean_grad, logits.grad)
