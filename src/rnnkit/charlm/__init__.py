"""Character-level language models on rnnkit networks: the application behind the ``rnnkit`` command.

Modules: ``config`` (typed configs that make the CLI flags), ``corpus`` (texts, the default
Shakespeare corpus, vocabulary, split), ``model`` (the network), ``train`` (truncated-BPTT
training, DDP), ``checkpoint`` (safetensors + JSON), ``sample`` and ``evaluate``.
"""
