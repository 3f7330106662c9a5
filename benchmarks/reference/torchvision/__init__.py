"""An empty stand-in for torchvision in the d2l-reference kernel.

d2l 1.0.3's PyTorch module imports torchvision (and `torchvision.transforms`) at the top, for its
image datasets only. PyPI's torchvision does not load beside the torch 2.13.0 CPU wheel this
project pins, and the RNN benchmark needs none of it, so this module lets the import succeed.
"""
