"""The layers: nn.Modules that own the parameters of a cell and run it over sequences.

Everything a layer does besides a cell's math is written here once, for every cell:
stacking (num_layers), both directions, batch_first, dropout between layers, initial
states, unbatched input, PackedSequence, recording, and the checks of what comes in.
Parameter names, shapes, argument order and return values follow torch.nn, so an
rnnkit layer loads a torch.nn state_dict and the other way round.

Shapes: T time, B batch, I input, S a state's size, L num_layers, D directions (1 or 2).

Under torch.compile the recurrence itself (`RecurrentLayer._run`) runs eagerly, outside the
graph, as torch.nn's RNN, LSTM and GRU do (dynamo does not trace those): the rest of a
model compiles around it.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import engines
from .cells import CellMath, CTRNNMath, ElmanMath, GRUMath, JordanMath, LSTMMath
from .cells.base import check_size

__all__ = [
    "CTRNN",
    "CTRNNCell",
    "GRU",
    "GRUCell",
    "JordanCell",
    "JordanRNN",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNCell",
    "RecurrentCell",
    "RecurrentLayer",
]


def _shape(t: Tensor) -> str:
    return "(" + ", ".join(map(str, t.shape)) + ")"


class _Recurrent(nn.Module):
    """Parameters registered from a cell's shapes, and the checks layers and cells share."""

    def __init__(self, cell: CellMath, device=None, dtype=None):
        super().__init__()
        self.cell = cell
        self._factory = {"device": device, "dtype": dtype}
        self._recording = None  # (Recording, key) while rnnkit.record is on

    def _add_parameters(self, input_size: int, suffix: str) -> dict[str, str]:
        names = {}
        for short, shape in self.cell.parameter_shapes(input_size).items():
            names[short] = short + suffix
            self.register_parameter(short + suffix, nn.Parameter(torch.empty(shape, **self._factory)))
        return names

    def reset_parameters(self) -> None:
        for names in self._names:
            self.cell.reset_parameters(self._params(names))

    def _params(self, names: dict[str, str]) -> dict[str, Tensor]:
        return {short: getattr(self, full) for short, full in names.items()}

    def _check_input(self, x: Tensor, ranks: tuple[int, ...], layout: str) -> None:
        """`layout` describes the expected shape, e.g. '(T, B, 10) or (T, 10)'."""
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: expected input to be a Tensor or PackedSequence, got {type(x).__name__}")
        if x.dim() not in ranks or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: expected input of shape {layout}, got {_shape(x)}")
        weight = next(self.parameters())
        if x.dtype != weight.dtype:
            raise TypeError(
                f"{type(self).__name__}: expected input of dtype {weight.dtype} (the parameters' dtype), got {x.dtype}"
            )
        if x.device != weight.device:
            raise ValueError(
                f"{type(self).__name__}: expected input on device {weight.device} (the parameters' device), got {x.device}"
            )

    def _initial_state(self, hx, prefix: tuple[int, ...], like: Tensor, layout: str) -> list[Tensor]:
        """One (*prefix, S) tensor per state in cell.states (zeros when hx is None);
        `layout` names the dimensions of prefix for the error messages."""
        sizes = self.cell.state_sizes()
        if hx is None:
            return [like.new_zeros(*prefix, s) for s in sizes]
        name, names = type(self).__name__, ", ".join(self.cell.states)
        if len(sizes) == 1:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{name}: expected the initial state {names} as a Tensor, got {type(hx).__name__}")
            hx = (hx,)
        elif not isinstance(hx, (tuple, list)) or len(hx) != len(sizes):
            got = type(hx).__name__ + (f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else "")
            raise TypeError(f"{name}: expected the initial state as a tuple ({names}) of {len(sizes)} tensors, got {got}")
        for state_name, s, size in zip(self.cell.states, hx, sizes):
            expected = (*prefix, size)
            if not isinstance(s, Tensor):
                raise TypeError(f"{name}: expected initial {state_name} to be a Tensor, got {type(s).__name__}")
            if tuple(s.shape) != expected:
                raise ValueError(
                    f"{name}: expected initial {state_name} of shape ({', '.join(map(str, expected))}) "
                    f"= {layout}, got {_shape(s)}"
                )
            if s.dtype != like.dtype or s.device != like.device:
                raise TypeError(
                    f"{name}: expected initial {state_name} of dtype {like.dtype} on {like.device} "
                    f"like the input, got {s.dtype} on {s.device}"
                )
        return list(hx)

    def _record(self, key: str, trace: dict[str, Tensor]) -> None:
        recording, prefix = self._recording
        recording._add(prefix + key, trace)


class RecurrentLayer(_Recurrent):
    """A stack of `num_layers` layers of one cell, in one or both directions.

    forward(input, hx=None, *, lengths=None) -> (output, h_n), as torch.nn:
      input   (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence
      lengths (B,) for a padded batch: runs it as the PackedSequence it is, the output
              padded with zeros (what torch.onnx.export takes in place of a PackedSequence)
      hx      the initial state, one tensor (L*D, B, S) per state (a tuple when the cell
              has several, as the LSTM's (h, c)); zeros when None
      output  (T, B, D*O): the last layer's output at every step, both directions
              concatenated (a PackedSequence for a PackedSequence input)
      h_n     the final state of every layer and direction, laid out like hx
    """

    def __init__(
        self,
        cell: CellMath,
        input_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        engine: str = "auto",
    ):
        super().__init__(cell, device, dtype)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = cell.hidden_size
        self.num_layers = check_size("num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"dropout={dropout} acts only between layers, and num_layers=1: it has no effect", stacklevel=3
            )
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        self.engine = engines.check(engine, cell.spec)
        directions = 2 if bidirectional else 1
        self._names = [
            self._add_parameters(input_size if k == 0 else cell.output_size * directions, f"_l{k}" + ("_reverse" if d else ""))
            for k in range(num_layers)
            for d in range(directions)
        ]
        # torch.nn's bookkeeping of the weights, by name: per layer-direction, and flat
        self._all_weights = [list(names.values()) for names in self._names]
        self._flat_weights_names = [full for names in self._all_weights for full in names]
        self.reset_parameters()
        self.flatten_parameters()

    # options shown by repr() when they differ from these defaults
    _defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0, "bidirectional": False, "engine": "auto"}

    def extra_repr(self) -> str:
        shown = [f"{k}={getattr(self, k)!r}" for k, v in self._defaults.items() if getattr(self, k) != v]
        return ", ".join([str(self.input_size), str(self.hidden_size), *shown])

    def chosen_engine(self, device: torch.device | str | None = None, recording: bool = False, training: bool = True) -> str:
        """The engine a forward pass on `device` (default: the parameters') runs, when a
        gradient will be asked for (`training`) or not, recording gates or not."""
        device = torch.device(device) if device is not None else next(self.parameters()).device
        return self.engine if self.engine != "auto" else engines.choose(self.cell.spec, device, recording, training)

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters of each layer-direction, in registration order (torch.nn's layout)."""
        return [[getattr(self, full) for full in names] for names in self._all_weights]

    @property
    def _flat_weights(self) -> list[Tensor | None]:
        """Every layer-direction's parameters in one list, as torch.nn's, read from the
        module on every access, so it is never stale (after .to(), load_state_dict or a
        replaced parameter); None for a weight that is missing."""
        return [getattr(self, full, None) for full in self._flat_weights_names]

    def flatten_parameters(self) -> None:
        """As torch.nn's: on CUDA, put the weights of a network torch has a kernel for in one
        buffer in cuDNN's layout, each parameter a view of its part, so that cuDNN does not copy
        them on every call (see `engines.native.flatten`). Run by the constructor, `.to()`
        and its kin, and by the native engine when it finds the buffer no longer whole."""
        engines.native.flatten(self.cell, self._flat_weights, self._all_weights, self.num_layers, self.bidirectional)

    def _apply(self, fn, recurse=True):
        module = super()._apply(fn, recurse)
        self.flatten_parameters()  # .to(), .cuda(), .half() and the like made new tensors
        return module

    def forward(self, input, hx=None, *, lengths=None):
        exporting = torch.compiler.is_exporting()
        if lengths is not None and not exporting:  # a padded batch with lengths runs as the packed batch it is
            T = input.shape[1 if self.batch_first else 0]
            packed = pack_padded_sequence(input, self._check_lengths(input, lengths).cpu(), self.batch_first, False)
            output, h_n = self.forward(packed, hx)
            return pad_packed_sequence(output, self.batch_first, total_length=T)[0], h_n
        if exporting and isinstance(input, PackedSequence):
            raise ValueError(
                f"{type(self).__name__}: a PackedSequence cannot be exported (its batch sizes are data): "
                "pass the padded batch and lengths=... instead"
            )
        x, hx, packing = self._time_major(input, hx)
        record = self._recording is not None
        if exporting:  # torch.onnx.export: ONNX nodes or a Scan (rnnkit.interop.onnx)
            from .interop.onnx import exported_run

            weights = [self._params(names) for names in self._names]
            x, h_n = exported_run(self.cell, weights, x, hx, None if lengths is None else self._check_lengths(input, lengths),
                                  self.num_layers, self.bidirectional, self.dropout, self.training, record)
            return self._as_given(x, h_n, {}, packing)
        training = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in self.parameters()))
        engine = engines.select(self.engine, self.cell.spec, x.device, record, training)
        if x.shape[1] == 0:  # nothing to compute; the reference engine's empty outputs still reach the weights' gradients
            engine = engines.ENGINES["reference"]
        run = self._run
        if torch.compiler.is_compiling():  # only then: torch.compiler.disable imports the compiler (seconds)
            run = torch.compiler.disable(run)
        x, h_n, traces = run(engine, x, hx, packing.batch_sizes, record)
        return self._as_given(x, h_n, traces or {}, packing)

    def _run(self, engine, x, hx, batch_sizes, record):
        """The stack on `engine`, run eagerly under torch.compile: engines.Run."""
        return engine.run(
            self.cell, [self._params(names) for names in self._names], x, hx, batch_sizes=batch_sizes,
            num_layers=self.num_layers, bidirectional=self.bidirectional, dropout=self.dropout,
            train=self.training, record=record,
        )

    def _check_lengths(self, input, lengths) -> Tensor:
        """lengths=: one integer per sequence of a batched, padded input."""
        batch = input.shape[0 if self.batch_first else 1] if isinstance(input, Tensor) and input.dim() == 3 else None
        if batch is None or not isinstance(lengths, Tensor) or lengths.shape != (batch,) or lengths.is_floating_point():
            raise ValueError(
                f"{type(self).__name__}: lengths= takes one integer per sequence of a batched, padded input "
                f"(a tensor of shape (B,)), got {_shape(lengths) if isinstance(lengths, Tensor) else type(lengths).__name__}"
            )
        return lengths

    def _time_major(self, input, hx):
        """Checked input as (T, B, I) time-major, padded; the initial states, one (L*D, B, S)
        per state, in the batch's sorted order; and how the input came (_Packing)."""
        D, L = 2 if self.bidirectional else 1, self.num_layers
        if isinstance(input, PackedSequence):
            self._check_input(input.data, (2,), f"(N, {self.input_size}) as a PackedSequence's data")
            T, B = len(input.batch_sizes), int(input.batch_sizes[0])
            mask = (torch.arange(B) < input.batch_sizes[:, None]).to(input.data.device)  # (T, B)
            x = input.data.new_zeros(T, B, self.input_size).index_put((mask,), input.data)
            packing = _Packing(True, False, mask, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        else:
            I = self.input_size
            layout = f"(B, T, {I}) or (T, {I})" if self.batch_first else f"(T, B, {I}) or (T, {I})"
            self._check_input(input, (2, 3), layout)
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if self.batch_first else input
            packing = _Packing(False, unbatched)
            T, B = x.shape[:2]
            if T == 0:
                raise ValueError(
                    f"{type(self).__name__}: expected a sequence of at least one step, got input of shape {_shape(input)}"
                )
        if packing.unbatched:
            hx = [h.unsqueeze(1) for h in self._initial_state(hx, (L * D,), x, "(num_layers * directions, size)")]
        else:
            hx = self._initial_state(hx, (L * D, B), x, "(num_layers * directions, batch, size)")
        if packing.sorted_indices is not None:
            hx = [h.index_select(1, packing.sorted_indices) for h in hx]
        return x, hx, packing

    def _as_given(self, x, h_n, traces, packing):
        """(output, h_n) laid out as the input came: packed, unbatched or batch_first, the
        caller's batch order; the recording handed over in that order too."""
        if packing.unsorted_indices is not None:
            h_n = [h.index_select(1, packing.unsorted_indices) for h in h_n]
            traces = {k: {n: v.index_select(1, packing.unsorted_indices) for n, v in t.items()} for k, t in traces.items()}
        if packing.packed:
            output = PackedSequence(x[packing.mask], packing.batch_sizes, packing.sorted_indices, packing.unsorted_indices)
        elif packing.unbatched:
            output, h_n = x.squeeze(1), [h.squeeze(1) for h in h_n]
        else:
            output = x.transpose(0, 1) if self.batch_first else x
        for key, trace in traces.items():
            self._record(key, trace)
        return output, h_n[0] if len(h_n) == 1 else tuple(h_n)


class _Packing(NamedTuple):
    """How a layer's input came: a PackedSequence (with its mask (T, B) of real steps and
    its orders), unbatched (T, I), or a plain batch."""

    packed: bool
    unbatched: bool
    mask: Tensor | None = None
    batch_sizes: Tensor | None = None
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


class RecurrentCell(_Recurrent):
    """One step of a cell, as torch.nn's RNNCell, LSTMCell and GRUCell.

    forward(input, hx=None) -> the new state:
      input  (B, I), or (I,) unbatched
      hx     the state, one (B, S) tensor per state (a tuple for the LSTM's (h, c)); zeros when None
    """

    def __init__(self, cell: CellMath, input_size: int, device=None, dtype=None):
        super().__init__(cell, device, dtype)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = cell.hidden_size
        self.bias = cell.bias
        self._names = [self._add_parameters(input_size, "")]
        self.reset_parameters()

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def forward(self, input, hx=None):
        self._check_input(input, (1, 2), f"(B, {self.input_size}) or ({self.input_size},)")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        if unbatched:
            state = tuple(s.unsqueeze(0) for s in self._initial_state(hx, (), x, "(size,)"))
        else:
            state = tuple(self._initial_state(hx, (x.shape[0],), x, "(batch, size)"))
        p = self._params(self._names[0])
        new, saved = self.cell.step(self.cell.prepare(p), self.cell.project_input(p, x), state)
        if self._recording is not None:
            self._record("", {k: v.unsqueeze(0) for k, v in self.cell.record(saved, new).items()})
        new = tuple(s.squeeze(0) for s in new) if unbatched else new
        return new[0] if len(new) == 1 else new


class RNN(RecurrentLayer):
    """Elman RNN, torch.nn.RNN's drop-in: h' = act(W_ih x + b_ih + W_hh h + b_hh).

    nonlinearity: tanh (default), relu, sigmoid, identity or hardsigmoid.
    """

    _defaults = RecurrentLayer._defaults | {"nonlinearity": "tanh"}

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *, engine="auto"):
        self.nonlinearity = nonlinearity
        cell = ElmanMath(hidden_size, bias, nonlinearity)
        super().__init__(cell, input_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, engine)


class LSTM(RecurrentLayer):
    """LSTM, torch.nn.LSTM's drop-in, with the variants of its history (see cells/lstm.py).

    The state is the tuple (h, c). Beyond torch.nn.LSTM's arguments:
      activation            the candidate g and the squashing of c in h = o * act(c) (tanh)
      recurrent_activation  the gates i, f, o (sigmoid)
      peephole              i and f see c, o sees c' (Gers & Schmidhuber 2000);
                            adds weight_peephole_l{k} (3, H), rows (i, f, o)
      forget_gate=False     the 1997 LSTM: c' = c + i * g, gates (i, g, o)
    """

    _defaults = RecurrentLayer._defaults | {
        "proj_size": 0, "activation": "tanh", "recurrent_activation": "sigmoid", "peephole": False, "forget_gate": True
    }

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None, *, activation="tanh",
                 recurrent_activation="sigmoid", peephole=False, forget_gate=True, engine="auto"):
        check_size("proj_size", proj_size, 0)
        if proj_size >= check_size("hidden_size", hidden_size):
            raise ValueError(f"proj_size must be smaller than hidden_size ({hidden_size}), got {proj_size}")
        self.proj_size, self.activation, self.recurrent_activation = proj_size, activation, recurrent_activation
        self.peephole, self.forget_gate = peephole, forget_gate
        cell = LSTMMath(hidden_size, bias, proj_size, activation, recurrent_activation, peephole, forget_gate)
        super().__init__(cell, input_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, engine)


class GRU(RecurrentLayer):
    """GRU, torch.nn.GRU's drop-in: h' = (1 - z) * n + z * h (see cells/gru.py).

    Beyond torch.nn.GRU's arguments:
      reset_after=False     n = act(W_in x + b_in + W_hn (r * h) + b_hn), the reset gate
                            applied before the recurrent product (Cho et al. 2014)
      activation            the candidate n (tanh)
      recurrent_activation  the gates r, z (sigmoid)
    """

    _defaults = RecurrentLayer._defaults | {"reset_after": True, "activation": "tanh", "recurrent_activation": "sigmoid"}

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, reset_after=True, activation="tanh",
                 recurrent_activation="sigmoid", engine="auto"):
        self.reset_after, self.activation, self.recurrent_activation = reset_after, activation, recurrent_activation
        cell = GRUMath(hidden_size, bias, reset_after, activation, recurrent_activation)
        super().__init__(cell, input_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, engine)


class JordanRNN(RecurrentLayer):
    """Jordan RNN: the output y, not the hidden state, is fed back (see cells/jordan.py).

        h_t = act(W_ih x_t + W_hy y_{t-1} + b_h),   y_t = out_act(W_ho h_t + b_o)

    forward(input, y0=None) -> (y of every step, y_n), like torch.nn.RNN's (output, h_n),
    with output_size features in place of hidden_size. Layers above the first take the
    outputs y of the layer below.
    """

    _defaults = RecurrentLayer._defaults | {"nonlinearity": "tanh", "output_activation": "identity"}

    def __init__(self, input_size, hidden_size, output_size, num_layers=1, nonlinearity="tanh",
                 output_activation="identity", bias=True, batch_first=False, dropout=0.0, bidirectional=False,
                 device=None, dtype=None, *, engine="auto"):
        self.output_size = check_size("output_size", output_size)
        self.nonlinearity, self.output_activation = nonlinearity, output_activation
        cell = JordanMath(hidden_size, output_size, bias, nonlinearity, output_activation)
        super().__init__(cell, input_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, engine)

    def extra_repr(self) -> str:
        return super().extra_repr().replace(f"{self.hidden_size}", f"{self.hidden_size}, {self.output_size}", 1)

    def forward(self, input, y0=None, *, lengths=None):
        return super().forward(input, y0, lengths=lengths)


class CTRNN(RecurrentLayer):
    """Continuous-time RNN, the Euler step of tau dh/dt = -h + act(W_ih x + b_ih + W_hh h + b_hh):

        h' = (1 - a) h + a act(W_ih x + b_ih + W_hh h + b_hh),   a = dt / tau

    dt and tau are in the same (arbitrary) unit of time; with learn_tau=True each unit
    learns its own positive tau (parameter log_tau_l{k}, shape (H,), starting at log(tau)).
    """

    _defaults = RecurrentLayer._defaults | {"nonlinearity": "relu", "dt": 1.0, "tau": 10.0, "learn_tau": False}

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="relu", dt=1.0, tau=10.0, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, *, learn_tau=False,
                 engine="auto"):
        self.nonlinearity, self.dt, self.tau, self.learn_tau = nonlinearity, dt, tau, learn_tau
        cell = CTRNNMath(hidden_size, bias, nonlinearity, dt, tau, learn_tau)
        super().__init__(cell, input_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, engine)


class RNNCell(RecurrentCell):
    """One Elman step, torch.nn.RNNCell's drop-in."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        self.nonlinearity = nonlinearity
        super().__init__(ElmanMath(hidden_size, bias, nonlinearity), input_size, device, dtype)


class LSTMCell(RecurrentCell):
    """One LSTM step, torch.nn.LSTMCell's drop-in, with LSTM's variant options."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, activation="tanh",
                 recurrent_activation="sigmoid", peephole=False, forget_gate=True):
        cell = LSTMMath(hidden_size, bias, 0, activation, recurrent_activation, peephole, forget_gate)
        super().__init__(cell, input_size, device, dtype)


class GRUCell(RecurrentCell):
    """One GRU step, torch.nn.GRUCell's drop-in, with GRU's variant options."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, reset_after=True,
                 activation="tanh", recurrent_activation="sigmoid"):
        cell = GRUMath(hidden_size, bias, reset_after, activation, recurrent_activation)
        super().__init__(cell, input_size, device, dtype)


class JordanCell(RecurrentCell):
    """One Jordan step: forward(input, y=None) -> y'."""

    def __init__(self, input_size, hidden_size, output_size, bias=True, nonlinearity="tanh",
                 output_activation="identity", device=None, dtype=None):
        self.output_size = check_size("output_size", output_size)
        super().__init__(JordanMath(hidden_size, output_size, bias, nonlinearity, output_activation), input_size, device, dtype)


class CTRNNCell(RecurrentCell):
    """One continuous-time RNN step (see CTRNN)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="relu", dt=1.0, tau=10.0, device=None,
                 dtype=None, *, learn_tau=False):
        super().__init__(CTRNNMath(hidden_size, bias, nonlinearity, dt, tau, learn_tau), input_size, device, dtype)
