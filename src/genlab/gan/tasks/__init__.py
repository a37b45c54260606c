"""Image-to-image tasks (super-resolution, inpainting, colorization, uncropping) as degradations
of clean photos with their metrics and classical baselines, and neural style transfer."""
