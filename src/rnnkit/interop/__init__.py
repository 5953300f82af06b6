"""rnnkit's networks outside rnnkit: ONNX export (`rnnkit.interop.onnx`) and Keras 3
weights both ways (`rnnkit.interop.keras`). See docs/interop.md.

Nothing here is imported by `import rnnkit`; onnx, onnxscript and keras are needed only
by the module that uses them (the `onnx` extra; keras is the user's own).
"""
