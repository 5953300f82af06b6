"""Character-level language models on rnnkit networks: the application behind the ``rnnkit`` command.

Modules: ``config`` (the model's config and the typed configs that make the CLI flags),
``corpus`` (the default Shakespeare corpus, vocabulary, split), ``model`` (the network,
scoring, loading from a checkpoint), ``train`` (truncated-BPTT training, DDP), ``sample``,
``evaluate`` and ``export`` (the model as an ONNX file, for ``rnnkit export``). Checkpoints,
run folder, metrics, signals, DDP and resume helpers come from the application layer,
``rnnkit.app``.
"""
