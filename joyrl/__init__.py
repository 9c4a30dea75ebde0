"""JoyRL: a single-process, hackable reinforcement-learning toolkit on PyTorch and Gymnasium."""

__version__ = "0.1.0"
