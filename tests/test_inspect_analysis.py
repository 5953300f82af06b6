"""The numbers behind the pictures: saturation, text features, correlations, the page's data."""
import base64
import json
import re

import numpy as np
import pytest

import rnnkit
from rnnkit.inspect.analysis import correlations, saturation, text_features, top_units
from rnnkit.inspect.viewer import page_data, quantise, render


def test_saturation_fractions_of_hand_set_gates():
    # 4 steps x 4 units, written out: unit 0 always shut, unit 1 open half the time,
    # unit 2 sits exactly on the thresholds (neither: both bounds are strict), unit 3 mixed
    values = np.array([[0.05, 0.95, 0.1, 0.0],
                       [0.05, 0.5, 0.9, 1.0],
                       [0.05, 0.95, 0.1, 0.5],
                       [0.05, 0.5, 0.9, 0.09]])
    left, right = saturation(values)
    np.testing.assert_allclose(left, [1.0, 0.0, 0.0, 0.5])
    np.testing.assert_allclose(right, [0.0, 0.5, 0.0, 0.25])


def test_saturation_counts_every_sequence_of_a_batch():
    values = np.zeros((2, 3, 1))  # (T, B, H): 6 steps in all, one of them open
    values[1, 2, 0] = 0.99
    left, right = saturation(values)
    np.testing.assert_allclose([left[0], right[0]], [5 / 6, 1 / 6])


@pytest.mark.parametrize("layer, gates", [
    (rnnkit.LSTM(2, 3), ("i", "f", "o")),
    (rnnkit.LSTM(2, 3, forget_gate=False), ("i", "o")),
    (rnnkit.LSTM(2, 3, peephole=True), ("i", "f", "o")),
    (rnnkit.GRU(2, 3), ("r", "z")),
    (rnnkit.GRU(2, 3, reset_after=False), ("r", "z")),
    (rnnkit.RNN(2, 3), ()),
    (rnnkit.CTRNN(2, 3), ()),  # its r is a rate, not a sigmoid gate
    (rnnkit.LSTM(2, 3, recurrent_activation="relu"), ()),  # unbounded gates cannot saturate
    (rnnkit.GRU(2, 3, recurrent_activation="hardsigmoid"), ("r", "z")),
])
def test_the_gates_that_can_saturate_are_those_in_the_unit_interval(layer, gates):
    assert layer.cell.in_unit_interval() == gates


def test_text_features_by_hand():
    f = text_features('a"b c"\nde\n"')
    #                  a  "  b  _  c  "  \n d  e  \n "
    assert f["inside quotes"].tolist() == [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    assert f["line position"].tolist() == [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 0]
    assert f["after a newline"].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1]


def test_correlations_exact_cases_and_against_numpy():
    feature = np.array([0.0, 1, 0, 1, 1, 0])
    units = np.stack([2 * feature + 1, -feature, np.full(6, 0.3), np.arange(6.0)], axis=1)
    r = correlations(units, feature)
    np.testing.assert_allclose(r[:3], [1.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(r[3], np.corrcoef(units[:, 3], feature)[0, 1])
    rng = np.random.default_rng(0)
    values, f = rng.normal(size=(50, 7)), rng.normal(size=50)
    np.testing.assert_allclose(correlations(values, f), [np.corrcoef(values[:, u], f)[0, 1] for u in range(7)])
    assert correlations(values, np.full(50, 2.0)) is None


def test_top_units_by_absolute_correlation():
    assert top_units(np.array([0.1, -0.9, 0.5, 0.9]), 3) == [(1, -0.9), (3, 0.9), (2, 0.5)]


def test_quantised_activations_decode_within_one_step():
    rng = np.random.default_rng(1)
    values = np.concatenate([np.tanh(rng.normal(size=(40, 3))), 5 * rng.normal(size=(40, 2))], axis=1)
    scale, encoded = quantise(values)
    assert scale[:3] == [1.0, 1.0, 1.0] and scale[3:] == pytest.approx(np.abs(values[:, 3:]).max(0))
    decoded = np.frombuffer(base64.b64decode(encoded), np.int8).reshape(40, 5) / 127 * np.array(scale)
    np.testing.assert_allclose(decoded, values, atol=max(scale) / 254 + 1e-12)


def test_page_embeds_its_data_safely_and_needs_nothing_outside():
    text = 'say "</script><b>" and\nstop'
    rng = np.random.default_rng(2)
    layers = {"l0": {"h": np.tanh(rng.normal(size=(len(text), 4))), "c": rng.normal(size=(len(text), 4))}}
    page = render("a <title> & more", page_data(text, layers, top=2))
    assert page.count("</script>") == 2  # the two script tags' own ends: the text's did not survive
    assert "<title>rnnkit inspect: a &lt;title&gt; &amp; more</title>" in page
    assert not re.search(r"(src|href)=\"(?!data:)", page) and "http" not in page.lower().replace("http-equiv", "")
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)[1])
    assert data["text"] == text
    correlated = data["layers"]["l0"]["correlated"]["h"]
    expected = np.argsort(-np.abs([np.corrcoef(layers["l0"]["h"][:, u], text_features(text)["line position"])[0, 1]
                                   for u in range(4)]))[:2]
    assert [u for u, _ in correlated["line position"]] == expected.tolist()
