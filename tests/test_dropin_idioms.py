"""The idioms of torch.nn user code, applied to every rnnkit network and cell: saving and
loading whole models, pickling (and so multiprocessing with spawn), deepcopy,
torch.compile, all_weights, state_dict round trips, the order of named_parameters,
.to(dtype), zero_grad, clip_grad_norm_, module.apply, an empty batch, and a classic
training script with nn.LSTM swapped for rnnkit.LSTM. Where torch.nn has the network, it
is the oracle (weights copied, float64); where an idiom cannot apply, a test checks the
error that says why."""

import copy
import io
import multiprocessing
import pickle

import pytest
import torch
import torch._dynamo.testing
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from conftest import assert_close, loss_of

T, B, I, H = 5, 3, 4, 6
LAYERED = {"num_layers": 2, "bidirectional": True}

# name: (make an rnnkit module, make the torch.nn module of the same network, or None)
LAYERS = {
    "rnn": (lambda: rnnkit.RNN(I, H, **LAYERED), lambda: nn.RNN(I, H, **LAYERED)),
    "rnn_relu": (lambda: rnnkit.RNN(I, H, nonlinearity="relu", **LAYERED), lambda: nn.RNN(I, H, nonlinearity="relu", **LAYERED)),
    "lstm": (lambda: rnnkit.LSTM(I, H, **LAYERED), lambda: nn.LSTM(I, H, **LAYERED)),
    "lstm_proj": (lambda: rnnkit.LSTM(I, H, proj_size=2, **LAYERED), lambda: nn.LSTM(I, H, proj_size=2, **LAYERED)),
    "gru": (lambda: rnnkit.GRU(I, H, **LAYERED), lambda: nn.GRU(I, H, **LAYERED)),
    "lstm_peephole": (lambda: rnnkit.LSTM(I, H, peephole=True, **LAYERED), None),
    "lstm_no_forget_gate": (lambda: rnnkit.LSTM(I, H, forget_gate=False, **LAYERED), None),
    "lstm_no_forget_gate_peephole_proj": (
        lambda: rnnkit.LSTM(I, H, forget_gate=False, peephole=True, proj_size=2, **LAYERED), None),
    "gru_reset_before": (lambda: rnnkit.GRU(I, H, reset_after=False, **LAYERED), None),
    "jordan": (lambda: rnnkit.JordanRNN(I, H, 3, output_activation="tanh", **LAYERED), None),
    "ctrnn": (lambda: rnnkit.CTRNN(I, H, **LAYERED), None),
    "ctrnn_learn_tau": (lambda: rnnkit.CTRNN(I, H, learn_tau=True, tau=3.0, **LAYERED), None),
}
CELLS = {
    "rnn_cell": (lambda: rnnkit.RNNCell(I, H), lambda: nn.RNNCell(I, H)),
    "rnn_cell_relu": (lambda: rnnkit.RNNCell(I, H, nonlinearity="relu"), lambda: nn.RNNCell(I, H, nonlinearity="relu")),
    "lstm_cell": (lambda: rnnkit.LSTMCell(I, H), lambda: nn.LSTMCell(I, H)),
    "gru_cell": (lambda: rnnkit.GRUCell(I, H), lambda: nn.GRUCell(I, H)),
    "lstm_cell_peephole_no_forget_gate": (lambda: rnnkit.LSTMCell(I, H, peephole=True, forget_gate=False), None),
    "gru_cell_reset_before": (lambda: rnnkit.GRUCell(I, H, reset_after=False), None),
    "jordan_cell": (lambda: rnnkit.JordanCell(I, H, 3), None),
    "ctrnn_cell": (lambda: rnnkit.CTRNNCell(I, H), None),
    "ctrnn_cell_learn_tau": (lambda: rnnkit.CTRNNCell(I, H, learn_tau=True, tau=3.0), None),
}
ALL = LAYERS | CELLS
WITH_TORCH = [k for k, (_, theirs) in ALL.items() if theirs is not None]
WITHOUT_TORCH = [k for k, (_, theirs) in ALL.items() if theirs is None]


def make(name, dtype=torch.float64):
    module = ALL[name][0]().to(dtype)
    if "learn_tau" in name:  # a distinct tau per unit, so that a lost log_tau shows
        with torch.no_grad():
            for n, p in module.named_parameters():
                if "log_tau" in n:
                    p.uniform_(0.0, 1.5)
    return module


def make_pair(name):
    ours = make(name)
    theirs = ALL[name][1]().double()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def example_input(name, dtype=torch.float64, batch=B, requires_grad=False):
    shape = (batch, I) if name in CELLS else (T, batch, I)
    return torch.randn(shape, dtype=dtype, requires_grad=requires_grad)


def flat(result):
    """A module's result as a tuple of tensors: (output, *final states) or the cell's states."""
    if isinstance(result, torch.Tensor):
        return (result,)
    out = []
    for r in result:
        out.extend(flat(r))
    return tuple(out)


def outputs_and_grads(module, x):
    """Every output, then the gradients of the input (if it needs one) and every parameter."""
    outs = flat(module(x))
    inputs = ([x] if x.requires_grad else []) + list(module.parameters())
    return outs, torch.autograd.grad(loss_of(outs[0], outs[1:]), inputs)


def assert_same_module(a, b, x):
    assert type(a) is type(b)
    assert repr(a) == repr(b)
    assert list(a.state_dict()) == list(b.state_dict())
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
    for u, v in zip(flat(a(x)), flat(b(x))):
        assert torch.equal(u, v)


# --- saving whole models, pickling, copying ------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_torch_save_whole_model_and_load(name):
    module, x = make(name), example_input(name)
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    assert_same_module(module, torch.load(buffer, weights_only=False), x)


@pytest.mark.parametrize("name", ALL)
def test_pickle_round_trip(name):
    module, x = make(name), example_input(name)
    assert_same_module(module, pickle.loads(pickle.dumps(module)), x)


def _saved(module) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    return buffer


def test_safe_globals_are_exactly_what_whole_models_refer_to():
    needed = set()
    for name in ALL:
        needed |= set(torch.serialization.get_unsafe_globals_in_checkpoint(_saved(make(name))))
    assert needed == {f"{g.__module__}.{g.__qualname__}" for g in rnnkit.SAFE_GLOBALS}


@pytest.mark.parametrize("name", ALL)
def test_weights_only_load_with_the_safe_globals(name):
    module, x = make(name), example_input(name)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global"):  # torch's default refuses them
        torch.load(_saved(module), weights_only=True)
    with torch.serialization.safe_globals(rnnkit.SAFE_GLOBALS):
        assert_same_module(module, torch.load(_saved(module), weights_only=True), x)


def _run_in_child(module, x):
    """In a spawned process: the module's results (without autograd, which cannot cross
    processes), and the module itself sent back."""
    with torch.no_grad():
        return flat(module(x)), module


def test_multiprocessing_spawn_round_trip():
    module, x = make("lstm_peephole"), example_input("lstm_peephole")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        results, returned = pool.apply(_run_in_child, (module, x))
    for u, v in zip(results, flat(module(x))):
        assert torch.equal(u, v)
    assert_same_module(module, returned, x)


@pytest.mark.parametrize("name", ALL)
def test_deepcopy(name):
    module, x = make(name), example_input(name)
    twin = copy.deepcopy(module)
    assert_same_module(module, twin, x)
    assert all(p.data_ptr() != q.data_ptr() for p, q in zip(module.parameters(), twin.parameters()))


# --- torch.compile ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_compile_forward_and_backward_equal_eager(name):
    """aot_eager: dynamo and AOT autograd as inductor sees them, without its C++ build (see
    test_compile_with_inductor). A layer's recurrence runs eagerly inside the graph, as
    torch.nn's RNNs do; a cell's step is traced."""
    torch._dynamo.reset()
    module = make(name, torch.float32)
    counter = torch._dynamo.testing.CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(module, backend=counter)
    for requires_grad in (False, True):  # the weights' gradients only (the first layer's case), and the input's too
        x = example_input(name, torch.float32, requires_grad=requires_grad)
        assert_close(outputs_and_grads(compiled, x), outputs_and_grads(module, x), 1e-6)
    with torch.no_grad():  # inference, where auto picks torch's kernels
        assert_close(flat(compiled(x)), flat(module(x)), 1e-6)
    assert counter.frame_count >= 1  # something was compiled, not all skipped


def test_compile_with_inductor():
    """The case of the issue (a first-layer LSTM whose input needs no gradient) and a GRU on
    the fused engine, in a small model that inductor compiles around them."""
    torch._dynamo.reset()
    for rnn in (rnnkit.LSTM(I, H), rnnkit.GRU(I, H)):
        model = nn.Sequential(nn.Linear(I, I), nn.Tanh())
        x = example_input("lstm", torch.float32)

        def forward(x, model=model, rnn=rnn):
            return rnn(model(x))[0].sum(-1)

        compiled = torch.compile(forward, backend="inductor")
        params = [*model.parameters(), *rnn.parameters()]
        got = compiled(x)
        want = forward(x)
        assert_close(got, want, 1e-6)
        assert_close(torch.autograd.grad(got.square().sum(), params), torch.autograd.grad(want.square().sum(), params), 1e-5)


# --- all_weights and _flat_weights ------------------------------------------------------


@pytest.mark.parametrize("name", [k for k in WITH_TORCH if k in LAYERS])
def test_all_weights_as_torch_lays_them_out(name):
    ours, theirs = make_pair(name)
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert ours._all_weights == theirs._all_weights
    for a, b in zip(ours.all_weights, theirs.all_weights):
        assert len(a) == len(b) and all(torch.equal(u, v) for u, v in zip(a, b))
    assert all(torch.equal(u, v) for u, v in zip(ours._flat_weights, theirs._flat_weights))


@pytest.mark.parametrize("name", [k for k in WITHOUT_TORCH if k in LAYERS])
def test_all_weights_per_layer_direction_in_registration_order(name):
    module = make(name)
    groups = {}
    for n, p in module.named_parameters():
        suffix = n[n.rindex("_l"):]  # _l0, _l0_reverse, ...
        groups.setdefault(suffix, []).append((n, p))
    assert list(groups) == ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]
    assert module._all_weights == [[n for n, _ in g] for g in groups.values()]
    assert [[id(p) for p in ws] for ws in module.all_weights] == [[id(p) for _, p in g] for g in groups.values()]
    assert [id(p) for p in module._flat_weights] == [id(p) for p in module.parameters()]


@pytest.mark.parametrize("name", LAYERS)
def test_all_weights_stay_current(name):
    module = make(name, torch.float32)
    module.double()
    assert all(p.dtype == torch.float64 for ws in module.all_weights for p in ws)
    state = {k: torch.randn_like(v) for k, v in module.state_dict().items()}
    module.load_state_dict(state)
    assert all(torch.equal(p, state[n]) for n, p in zip(module._flat_weights_names, module._flat_weights))
    module.load_state_dict(state, assign=True)
    assert all(p.data_ptr() == state[n].data_ptr() for n, p in zip(module._flat_weights_names, module._flat_weights))
    replacement = nn.Parameter(torch.randn_like(module.weight_ih_l1))
    module.weight_ih_l1 = replacement
    assert module.all_weights[2][0] is replacement
    assert module._flat_weights[module._flat_weights_names.index("weight_ih_l1")] is replacement


@pytest.mark.parametrize("name", CELLS)
def test_cells_have_no_all_weights_as_torch_cells(name):
    with pytest.raises(AttributeError, match="all_weights"):
        make(name).all_weights
    if ALL[name][1] is not None:
        with pytest.raises(AttributeError, match="all_weights"):
            ALL[name][1]().all_weights


# --- state_dict, parameters, dtype, gradients ------------------------------------------


@pytest.mark.parametrize("name", WITH_TORCH)
def test_state_dict_round_trip_with_torch(name):
    ours, theirs = make_pair(name)  # rnnkit -> torch.nn
    x = example_input(name, requires_grad=True)
    assert_close(outputs_and_grads(ours, x), outputs_and_grads(theirs, x))
    for p in theirs.parameters():
        p.data.uniform_(-1, 1)
    ours.load_state_dict(theirs.state_dict())  # torch.nn -> rnnkit
    assert_close(outputs_and_grads(ours, x), outputs_and_grads(theirs, x))


@pytest.mark.parametrize("name", WITHOUT_TORCH)
def test_state_dict_round_trip_without_torch(name):
    module, twin = make(name), make(name)
    x = example_input(name)
    assert not torch.equal(flat(module(x))[0], flat(twin(x))[0])
    twin.load_state_dict(module.state_dict())
    assert_same_module(module, twin, x)


@pytest.mark.parametrize(
    "name, closest, error",
    [
        ("lstm_peephole", lambda: nn.LSTM(I, H, **LAYERED), 'Unexpected key.*"weight_peephole_l0"'),
        ("lstm_no_forget_gate", lambda: nn.LSTM(I, H, **LAYERED), r"size mismatch for weight_ih_l0.*\[18, 4\].*\[24, 4\]"),
        ("jordan", lambda: nn.RNN(I, H, **LAYERED), '(?s)Missing key.*"weight_hh_l0".*Unexpected key.*"weight_hy_l0"'),
        ("ctrnn_learn_tau", lambda: nn.RNN(I, H, nonlinearity="relu", **LAYERED), 'Unexpected key.*"log_tau_l0"'),
        ("lstm_cell_peephole_no_forget_gate", lambda: nn.LSTMCell(I, H), 'Unexpected key.*"weight_peephole"'),
        ("jordan_cell", lambda: nn.RNNCell(I, H), 'Unexpected key.*"weight_hy"'),
    ],
)
def test_state_dict_of_a_network_torch_lacks_does_not_load_into_torch(name, closest, error):
    with pytest.raises(RuntimeError, match=error):
        closest().load_state_dict(make(name, torch.float32).state_dict())


@pytest.mark.parametrize("name", WITH_TORCH)
def test_named_parameters_in_torch_order(name):
    ours, theirs = make_pair(name)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [(n, p.shape) for n, p in theirs.named_parameters()]


@pytest.mark.parametrize(
    "name, names",
    [
        ("lstm_peephole", ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole"]),
        ("lstm_no_forget_gate_peephole_proj", ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr", "weight_peephole"]),
        ("gru_reset_before", ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]),
        ("jordan", ["weight_ih", "weight_hy", "bias_h", "weight_ho", "bias_o"]),
        ("ctrnn_learn_tau", ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "log_tau"]),
        ("jordan_cell", ["weight_ih", "weight_hy", "bias_h", "weight_ho", "bias_o"]),
        ("ctrnn_cell_learn_tau", ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "log_tau"]),
    ],
)
def test_named_parameters_of_networks_torch_lacks(name, names):
    """torch's order first (weights, biases, projection), then what torch does not have."""
    suffixes = [""] if name in CELLS else ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]
    assert [n for n, _ in make(name).named_parameters()] == [n + s for s in suffixes for n in names]


@pytest.mark.parametrize("name", ALL)
def test_to_dtype(name):
    module = make(name, torch.float32)
    x = example_input(name, torch.float32)
    before = flat(module(x))
    assert module.to(torch.float64) is module
    assert all(p.dtype == torch.float64 for p in module.parameters())
    after = flat(module(x.double()))
    assert all(t.dtype == torch.float64 for t in after)
    assert_close(after, tuple(t.double() for t in before), 1e-5)
    with pytest.raises(TypeError, match="expected input of dtype torch.float64"):  # as torch.nn, no silent cast
        module(x)


@pytest.mark.parametrize("name", ALL)
def test_zero_grad(name):
    module = make(name)
    outs = flat(module(example_input(name)))
    loss_of(outs[0], outs[1:]).backward()
    assert all(p.grad is not None for p in module.parameters())
    assert any(p.grad.abs().sum() > 0 for p in module.parameters())
    module.zero_grad(set_to_none=False)
    assert all(torch.equal(p.grad, torch.zeros_like(p)) for p in module.parameters())
    module.zero_grad()
    assert all(p.grad is None for p in module.parameters())


def _clipped(module, x, max_norm):
    outs = flat(module(x))
    loss_of(outs[0], outs[1:]).backward()
    norm = nn.utils.clip_grad_norm_(module.parameters(), max_norm)
    return norm, [p.grad for p in module.parameters()]


@pytest.mark.parametrize("name", WITH_TORCH)
def test_clip_grad_norm_as_torch(name):
    ours, theirs = make_pair(name)
    x = example_input(name)
    norm, grads = _clipped(ours, x, 0.1)
    torch_norm, torch_grads = _clipped(theirs, x, 0.1)
    assert norm > 0.1  # so that clipping acted
    assert_close((norm, *grads), (torch_norm, *torch_grads))


@pytest.mark.parametrize("name", WITHOUT_TORCH)
def test_clip_grad_norm_without_torch(name):
    module = make(name)
    x = example_input(name)
    outs = flat(module(x))
    unclipped = torch.autograd.grad(loss_of(outs[0], outs[1:]), list(module.parameters()))
    expected = torch.cat([g.flatten() for g in unclipped]).norm()
    norm, grads = _clipped(module, x, 0.1)
    assert expected > 0.1
    assert_close(norm, expected)
    assert_close(grads, [g * (0.1 / (expected + 1e-6)) for g in unclipped])


def init_fn(m):
    """A typical initialisation by parameter name, as torch.nn code writes it."""
    for n, p in m.named_parameters(recurse=False):
        if "weight_hh" in n:
            nn.init.orthogonal_(p)
        elif "weight" in n:
            nn.init.xavier_uniform_(p)
        elif "bias" in n:
            nn.init.constant_(p, 0.5)


@pytest.mark.parametrize("name", WITH_TORCH)
def test_apply_init_fn_sees_what_torch_sees(name):
    ours, theirs = make_pair(name)
    torch.manual_seed(3)
    nn.Sequential(ours).apply(init_fn)
    torch.manual_seed(3)
    nn.Sequential(theirs).apply(init_fn)
    for (n, p), (m, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == m and torch.equal(p, q)


@pytest.mark.parametrize("name", WITHOUT_TORCH)
def test_apply_init_fn_reaches_every_parameter(name):
    module = make(name)
    seen = []
    nn.Sequential(module).apply(lambda m: seen.extend(p for p in m.parameters(recurse=False)))
    assert [id(p) for p in seen] == [id(p) for p in module.parameters()]


# --- an empty batch --------------------------------------------------------------------


def _engines(name):
    return ["auto", "reference", "fused"] + (["native"] if ALL[name][1] is not None else [])


@pytest.mark.parametrize("batch_first", (False, True))
@pytest.mark.parametrize("name, engine", [(n, e) for n in LAYERS for e in _engines(n)])
def test_empty_batch_in_layers(name, engine, batch_first):
    module = make(name)
    module.engine = engine
    module.batch_first = batch_first
    x = torch.randn((0, T, I) if batch_first else (T, 0, I), dtype=torch.float64, requires_grad=True)
    outs = flat(module(x))
    D, O = 2, module.cell.output_size
    assert outs[0].shape == ((0, T, D * O) if batch_first else (T, 0, D * O))
    assert [s.shape for s in outs[1:]] == [(2 * D, 0, S) for S in module.cell.state_sizes()]
    grads = torch.autograd.grad(sum(o.sum() for o in outs), [x, *module.parameters()])
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads)
    if ALL[name][1] is not None:
        theirs = ALL[name][1]().double()
        theirs.batch_first = batch_first
        assert [o.shape for o in flat(theirs(x))] == [o.shape for o in outs]


@pytest.mark.parametrize("name", LAYERS)
def test_empty_batch_with_an_initial_state(name):
    module = make(name)
    hx = tuple(torch.randn(4, 0, s, dtype=torch.float64) for s in module.cell.state_sizes())
    out, h_n = module(torch.randn(T, 0, I, dtype=torch.float64), hx if len(hx) > 1 else hx[0])
    assert [s.shape for s in flat(h_n)] == [s.shape for s in hx]


@pytest.mark.parametrize("name", CELLS)
def test_empty_batch_in_cells(name):
    module = make(name)
    x = torch.randn(0, I, dtype=torch.float64, requires_grad=True)
    outs = flat(module(x))
    assert [s.shape for s in outs] == [(0, S) for S in module.cell.state_sizes()]
    if ALL[name][1] is not None:
        assert [o.shape for o in flat(ALL[name][1]().double()(x))] == [o.shape for o in outs]
    grads = torch.autograd.grad(sum(o.sum() for o in outs), [x, *module.parameters()])
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads)


def test_empty_packed_batch_cannot_be_made_as_in_torch():
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        nn.utils.rnn.pack_sequence([])


# --- a torch.nn training script with the class swapped ----------------------------------


class Classifier(nn.Module):
    """A classic sequence classifier, as written for torch.nn."""

    def __init__(self, vocab, embed, hidden, classes, rnn_class=nn.LSTM):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.rnn = rnn_class(embed, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=0.1)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.rnn(packed)
        return self.fc(torch.cat((h_n[-2], h_n[-1]), dim=1))


def train(rnn_class):
    torch.manual_seed(0)
    lengths = torch.randint(1, 12, (40,))
    tokens = torch.randint(1, 20, (40, 12)) * (torch.arange(12) < lengths[:, None])
    labels = (tokens.sum(1) % 3).long()
    dataset = torch.utils.data.TensorDataset(tokens, lengths, labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True)
    model = Classifier(20, 8, 16, 3, rnn_class).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(2):
        model.train()
        for tokens, lengths, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(tokens, lengths), labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            correct = (model(dataset.tensors[0], dataset.tensors[1]).argmax(1) == dataset.tensors[2]).sum().item()
        buffer = io.BytesIO()
        torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    return losses, correct, buffer


def test_training_script_runs_unchanged_with_rnnkit():
    """Same seed, same script, same initial weights (torch's initialisation, drawn in the
    same order): the losses of every step and the saved checkpoint match torch.nn's."""
    ours, theirs = train(rnnkit.LSTM), train(nn.LSTM)
    assert len(ours[0]) == 6
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-9, atol=0)
    assert ours[1] == theirs[1]
    ours[2].seek(0)
    theirs[2].seek(0)
    a, b = torch.load(ours[2]), torch.load(theirs[2])
    assert list(a["model"]) == list(b["model"])
    assert_close(list(a["model"].values()), list(b["model"].values()), 1e-8)
