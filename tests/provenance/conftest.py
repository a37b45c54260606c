"""Provenance tests that use torch run it on one intra-op thread, as the GAN tests do."""

from tests.gan.conftest import _one_torch_thread  # noqa: F401  (an autouse fixture)
