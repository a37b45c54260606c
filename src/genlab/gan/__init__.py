"""GANs: DCGAN / PatchGAN networks, Algorithm 1 training, sampling and evaluation."""
