"""The original PyTorch API: a stateful MLP with per-stream accumulators."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import os
from pathlib import Path

import torch
from torch import nn

from ._checkpoint import check_load_device, read_checkpoint, write_atomically
from ._validation import check_int, check_real

__all__ = ["SignalAccumulativeMLP"]

# Written into every checkpoint so that files from other tools, or from a
# future incompatible layout, are refused with a clear message.
_FORMAT_NAME = "sklearn_samlp.SignalAccumulativeMLP"
_FORMAT_VERSION = 1
_CONFIG_KEYS = (
    "vocab_size",
    "num_streams",
    "accumulator_decay",
    "hidden_sizes",
    "dropout",
    "num_classes",
)


class SignalAccumulativeMLP(nn.Module):
    """MLP fed with the current input and a decaying per-stream accumulator.

    The module keeps one accumulator row per stream in the buffer
    ``accumulators``. Every forward pass, in training *and* in evaluation
    mode, first advances it with the leaky-integrator update
    ``a = accumulator_decay * a + (1 - accumulator_decay) * x`` and then
    classifies the concatenation ``[x, a]`` with an MLP (``Linear -> ReLU ->
    Dropout`` per hidden layer, then a final ``Linear``). The output is raw
    logits, to be used with :class:`torch.nn.CrossEntropyLoss`.

    The stored state is detached from the autograd graph, so gradients never
    flow into earlier batches (truncated back-propagation of length one); the
    MLP input of the current step still uses the non-detached value.

    Parameters
    ----------
    vocab_size : int
        Number of features of one input row (``input_size``).

    num_streams : int
        Number of streams tracked, i.e. rows of ``accumulators``.

    accumulator_decay : float
        Decay ``d`` in ``[0, 1)``. ``0`` makes the accumulator equal to the
        current input (no memory); values close to 1 average over about
        ``(1 + d) / (1 - d)`` steps.

    hidden_sizes : sequence of int, default=(64, 64)
        Width of each hidden layer. An empty sequence gives a linear model on
        ``[x, a]``.

    dropout : float, default=0.1
        Dropout probability after each hidden layer, in ``[0, 1)``.

    num_classes : int, default=2
        Number of output logits; matches the default of
        :class:`~sklearn_samlp.StreamManager`.

    Attributes
    ----------
    input_size : int
        Equal to ``vocab_size``.

    accumulators : torch.Tensor of shape (num_streams, vocab_size)
        The per-stream state (a registered buffer: it follows ``.to()`` and is
        part of ``state_dict()``).

    device : torch.device
        Device of the module. Setting it moves the module, so
        ``model.device = torch.device("cuda")`` followed by
        ``model.to(model.device)`` works, and ``.to()``/``.cuda()`` keep it
        up to date.

    mlp : torch.nn.Sequential
        The classifier on ``[x, a]``.

    See Also
    --------
    sklearn_samlp.StreamManager : Time-major streams and loaders for this
        module.

    Notes
    -----
    **Batch layout (variable batch sizes).** Row ``i`` of a batch is always
    stream ``i``. A batch of ``b`` rows advances the accumulators of streams
    ``0 .. b - 1`` and leaves the others untouched, so a last, shorter batch
    is fine. A batch with more rows than ``num_streams`` raises a
    ``ValueError``: rows are never broadcast or wrapped onto other streams.
    Feed time-major data with ``batch_size == num_streams`` and no shuffling
    (what :meth:`StreamManager.load_data <sklearn_samlp.StreamManager.load_data>`
    does), and call :meth:`reset_accumulators` before new, unrelated streams.

    Inputs are validated *before* the state is touched: a batch with the
    wrong number of features, the wrong number of dimensions, non-finite
    values or too many rows raises ``ValueError`` and leaves
    ``accumulators`` exactly as it was.

    Examples
    --------
    >>> import torch
    >>> from sklearn_samlp import SignalAccumulativeMLP
    >>> _ = torch.manual_seed(0)
    >>> model = SignalAccumulativeMLP(vocab_size=3, num_streams=2,
    ...                               accumulator_decay=0.5)
    >>> logits = model(torch.ones(2, 3))
    >>> logits.shape
    torch.Size([2, 2])
    >>> model.accumulators
    tensor([[0.5000, 0.5000, 0.5000],
            [0.5000, 0.5000, 0.5000]])
    >>> _ = model(torch.ones(1, 3))  # one row: only stream 0 moves
    >>> model.accumulators
    tensor([[0.7500, 0.7500, 0.7500],
            [0.5000, 0.5000, 0.5000]])
    >>> model.reset_accumulators()
    >>> float(model.accumulators.abs().sum())
    0.0
    """

    def __init__(
        self,
        vocab_size,
        num_streams,
        accumulator_decay,
        hidden_sizes=(64, 64),
        dropout=0.1,
        num_classes=2,
    ):
        super().__init__()
        vocab_size = check_int("vocab_size", vocab_size, 1)
        num_streams = check_int("num_streams", num_streams, 1)
        accumulator_decay = check_real(
            "accumulator_decay", accumulator_decay, 0, 1, False
        )
        if isinstance(hidden_sizes, (str, bytes)) or not hasattr(
            hidden_sizes, "__iter__"
        ):
            raise ValueError(
                "hidden_sizes must be a sequence of positive integers, "
                f"got {hidden_sizes!r}."
            )
        hidden_sizes = tuple(
            check_int(f"hidden_sizes[{i}]", h, 1) for i, h in enumerate(hidden_sizes)
        )
        dropout = check_real("dropout", dropout, 0, 1, False)
        num_classes = check_int("num_classes", num_classes, 2)

        self.vocab_size = vocab_size
        self.input_size = vocab_size
        self.num_streams = num_streams
        self.accumulator_decay = accumulator_decay
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.num_classes = num_classes

        self.register_buffer("accumulators", torch.zeros(num_streams, vocab_size))
        layers = []
        in_features = 2 * vocab_size
        for width in hidden_sizes:
            layers += [nn.Linear(in_features, width), nn.ReLU(), nn.Dropout(dropout)]
            in_features = width
        layers.append(nn.Linear(in_features, num_classes))
        self.mlp = nn.Sequential(*layers)

    @property
    def device(self):
        """torch.device: where the module lives; assigning moves it there."""
        return self.accumulators.device

    @device.setter
    def device(self, value):
        self.to(torch.device(value))

    def get_config(self):
        """Return the constructor arguments as a dict of plain values.

        Returns
        -------
        config : dict
            ``vocab_size``, ``num_streams``, ``accumulator_decay``,
            ``hidden_sizes`` (a list), ``dropout`` and ``num_classes``.
        """
        return {
            "vocab_size": self.vocab_size,
            "num_streams": self.num_streams,
            "accumulator_decay": self.accumulator_decay,
            "hidden_sizes": list(self.hidden_sizes),
            "dropout": self.dropout,
            "num_classes": self.num_classes,
        }

    def extra_repr(self):
        return (
            f"vocab_size={self.vocab_size}, num_streams={self.num_streams}, "
            f"accumulator_decay={self.accumulator_decay}"
        )

    def reset_accumulators(self):
        """Zero the state of every stream, e.g. before new sequences."""
        with torch.no_grad():
            self.accumulators.zero_()

    def _check_input(self, x):
        if not isinstance(x, torch.Tensor):
            raise ValueError(
                f"Expected a torch.Tensor, got {type(x).__name__}. Convert "
                "arrays with torch.as_tensor(x, dtype=torch.float32)."
            )
        if x.dim() != 2:
            raise ValueError(
                "Expected a 2D batch of shape (batch_size, vocab_size="
                f"{self.vocab_size}), got shape {tuple(x.shape)}."
            )
        batch_size, n_features = x.shape
        if n_features != self.vocab_size:
            raise ValueError(
                f"Expected {self.vocab_size} features (vocab_size), got "
                f"{n_features} (input shape {tuple(x.shape)})."
            )
        if batch_size > self.num_streams:
            raise ValueError(
                f"Batch has {batch_size} rows but the model tracks "
                f"num_streams={self.num_streams} streams; row i of a batch is "
                "stream i, so a batch may hold at most num_streams rows. Use "
                "batch_size <= num_streams or build the model with more "
                "streams."
            )
        if x.device != self.accumulators.device:
            raise ValueError(
                f"Input is on {x.device} but the model is on "
                f"{self.accumulators.device}; move one of them first."
            )
        if x.is_floating_point() or x.is_complex():
            finite = torch.isfinite(x).all()
        else:
            finite = True
        if x.is_complex() or not finite:
            raise ValueError("Input contains NaN, infinity or complex values.")
        return x.to(self.accumulators.dtype)

    def forward(self, x):
        """Advance the accumulators with ``x`` and return class logits.

        Parameters
        ----------
        x : torch.Tensor of shape (batch_size, vocab_size)
            One time step; row ``i`` belongs to stream ``i`` and
            ``batch_size <= num_streams``.

        Returns
        -------
        logits : torch.Tensor of shape (batch_size, num_classes)
            Unnormalised class scores.
        """
        x = self._check_input(x)
        batch_size = x.shape[0]
        decay = self.accumulator_decay
        acc = decay * self.accumulators[:batch_size] + (1.0 - decay) * x
        # Store a detached copy: the state is data, not part of the graph of
        # later batches. In-place so the buffer keeps its identity.
        with torch.no_grad():
            self.accumulators[:batch_size] = acc.detach()
        return self.mlp(torch.cat([x, acc], dim=1))

    def save_model(self, path):
        """Save configuration, weights and accumulators to one file.

        The file is written with :func:`torch.save` and holds only tensors
        and plain containers, so :meth:`load_model` can read it with
        ``weights_only=True``. Missing parent directories are created.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file, e.g. ``"models/signal_model_v1.pt"``.

        Returns
        -------
        path : pathlib.Path
            The path written.
        """
        path = Path(os.fspath(path))
        state = {
            name: tensor.detach().cpu().clone()
            for name, tensor in self.state_dict().items()
        }
        payload = {
            "format": _FORMAT_NAME,
            "format_version": _FORMAT_VERSION,
            "config": self.get_config(),
            "state_dict": state,
        }
        write_atomically(payload, path)  # whole or absent, never half
        return path

    @classmethod
    def load_model(cls, path, device="cpu"):
        """Load a model written by :meth:`save_model`.

        The file is read with ``torch.load(..., weights_only=True)``, which
        refuses arbitrary pickled objects instead of executing them, and its
        content is checked before the model is built.

        Parameters
        ----------
        path : str or os.PathLike
            File written by :meth:`save_model`.

        device : str or torch.device, default="cpu"
            Device to load the tensors onto and to return the model on.

        Returns
        -------
        model : SignalAccumulativeMLP
            The model, in training mode (call ``.eval()`` for inference),
            with the saved accumulators.

        Raises
        ------
        ValueError
            If the file is not a valid checkpoint: not loadable safely,
            truncated, of another format or version, or with missing or
            ill-typed entries. The message names the file.

        Examples
        --------
        >>> import tempfile, os, torch
        >>> from sklearn_samlp import SignalAccumulativeMLP
        >>> model = SignalAccumulativeMLP(4, num_streams=2, accumulator_decay=0.9)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = model.save_model(os.path.join(tmp, "m.pt"))
        ...     loaded = SignalAccumulativeMLP.load_model(path, device="cpu")
        >>> loaded.get_config() == model.get_config()
        True
        >>> loaded.device
        device(type='cpu')
        """
        fname = os.fspath(path)
        device = check_load_device(device, fname)

        def fail(problem):
            return ValueError(
                f"Cannot load SignalAccumulativeMLP from {fname!r}: {problem}"
            )

        payload = read_checkpoint(
            fname,
            what="SignalAccumulativeMLP",
            format_name=_FORMAT_NAME,
            version_key="format_version",
            version=_FORMAT_VERSION,
            keys=("format", "format_version", "config", "state_dict"),
        )
        config = payload["config"]
        if not isinstance(config, dict):
            raise fail(f"config must be a dict, got {type(config).__name__}.")
        missing = [k for k in _CONFIG_KEYS if k not in config]
        if missing:
            raise fail(f"config is missing {missing}.")
        unexpected = sorted(set(config) - set(_CONFIG_KEYS), key=str)
        if unexpected:
            raise fail(f"config has unexpected entries {unexpected}.")
        if not isinstance(config["hidden_sizes"], (list, tuple)):
            raise fail("config['hidden_sizes'] must be a list of integers.")
        try:
            model = cls(**config)
        except ValueError as exc:
            raise fail(f"invalid config: {exc}") from exc

        state = payload["state_dict"]
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise fail("state_dict must map parameter names to tensors.")
        expected = model.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            raise fail(
                f"state_dict does not match the config: missing {missing}, "
                f"unexpected {unexpected}."
            )
        for name, ref in expected.items():
            value = state[name]
            if value.shape != ref.shape:
                raise fail(
                    f"state_dict[{name!r}] has shape {tuple(value.shape)}, "
                    f"expected {tuple(ref.shape)}."
                )
            if not value.is_floating_point():
                raise fail(f"state_dict[{name!r}] must be a floating tensor.")
            if not bool(torch.isfinite(value).all()):
                raise fail(f"state_dict[{name!r}] contains NaN or infinity.")
        model.load_state_dict(state)
        return model.to(device)
