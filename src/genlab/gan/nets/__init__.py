"""GAN networks: DCGAN, PatchGAN and a small MLP pair for 2-D data, plus a name registry."""

from genlab.gan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from genlab.gan.nets.mlp import MLPDiscriminator, MLPGenerator
from genlab.gan.nets.patchgan import PatchGANDiscriminator, receptive_field
from genlab.gan.nets.registry import ARCHITECTURES, Architecture, build_pair
from genlab.gan.nets.text import TextDiscriminator, TextGenerator
from genlab.gan.nets.unet import UNetGenerator

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "PatchGANDiscriminator",
    "TextDiscriminator",
    "TextGenerator",
    "UNetGenerator",
    "build_pair",
    "receptive_field",
]
