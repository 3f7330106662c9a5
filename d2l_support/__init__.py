"""d2l_support: the support library of the multi-framework RNN book.

Import one framework module, e.g. ``from d2l_support import torch as d2l``.
"""
__version__ = "0.1.0"
