"""See inside a recurrent network: `rnnkit inspect` and `rnnkit gradients`.

An application package: it imports the library (rnnkit.record, the layers) and the application
layer (rnnkit.app), which opens a trained model of whichever application wrote the checkpoint;
it imports no other application, and the library never imports it.

    rnnkit.inspect.gradients.gradient_norms(network, head, x, y)   # ||dL/dh_t|| for each t
    rnnkit.inspect.gradients.measure(["rnn", "lstm"], lag=100)      # the same on the adding problem
    rnnkit.inspect.analysis.saturation(gate_values)                 # left/right-saturated fractions
"""
