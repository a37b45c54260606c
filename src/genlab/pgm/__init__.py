"""Graphical models: factors as tensors, exact inference by planned contraction."""
