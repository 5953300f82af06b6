"""Character-level language models on rnnkit networks: the application behind the ``rnnkit`` command.

Modules: ``config`` (typed configs that make the CLI flags), ``corpus`` (texts, the default
Shakespeare corpus, vocabulary, split), ``model`` (the network, scoring), ``train``
(truncated-BPTT training, DDP), ``checkpoint`` (safetensors + JSON), ``metrics`` (log and
loss curve), ``sample`` and ``evaluate``.
"""
