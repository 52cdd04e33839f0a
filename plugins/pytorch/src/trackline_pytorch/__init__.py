"""trackline-pytorch: the PyTorch model flavor (``trackline.pytorch``).

The flavor's functions live in ``trackline_pytorch.flavor``; importing this package does not
import torch.
"""
