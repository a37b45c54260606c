"""genlab: generative models as real software.

Two halves around one idea, "learn p_θ(x) ≈ p*(x), then sample and query it":
``genlab.pgm`` (graphical models, exact inference by tensor contraction) and
``genlab.gan`` (DCGAN / PatchGAN, Algorithm 1, conditional GANs). Importing ``genlab``
imports neither half, so the PGM side never pays for torch.
"""

from genlab._version import __version__

__all__ = ["__version__"]
