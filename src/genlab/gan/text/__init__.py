"""Text-to-image: captioned data, text encoders, the text-conditional GAN and its evaluation."""
