"""Compiled kernels for the engines that run them; `import rnnkit` imports none of this.

    triton/   the pointwise stages of every cell as Triton kernels (engines/triton.py)
"""
