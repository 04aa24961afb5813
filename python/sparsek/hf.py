"""Hugging Face transformers drop-in: ``sparsek.hf.apply(model, ...)`` turns
a Llama/Qwen2-family causal LM into a SparseK model.

- registers ``sparsek`` with ``AttentionInterface`` (and the SDPA mask
  builder with ``AttentionMaskInterface``, which gives ``None`` when no
  padding is involved) and switches the model to it;
- gives each attention layer a scorer ``Linear(hidden_size,
  num_key_value_heads)`` (``sparsek_scorer``), fed through a forward
  pre-hook that sees the layer's ``hidden_states``; it starts at zero
  weights plus an optional position slope, so the model starts from its
  sliding-window + most-recent behaviour and learns which keys to keep;
- scores of earlier tokens are kept beside the layer for decoding with the
  model's own KV cache (which grows with the sequence);
- ``SparseKCache(model)``, passed as ``generate(..., past_key_values=...)``,
  decodes with constant memory instead: each layer keeps a
  ``sparsek.decode`` state (the ``topk`` selected and ``window`` recent keys
  and values, a band of scores), the prompt goes through
  ``sparsek.attention`` and ``sparsek.decode.prefill``, every later token
  through ``sparsek.decode.step`` (exactly the layer's output for that
  token over the whole history while the band has not overflowed);
- ``save_scorers`` / ``load_scorers`` keep the scorer weights, which stock
  ``from_pretrained`` drops as unexpected keys.

HF hands attention ``[B, H, N, D]`` tensors and expects ``[B, N, H, D]``
back. Padding masks are not supported yet (a clear error).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import decode
from . import functional as F_sk

_REGISTERED = False


def _layers(model):
    base = getattr(model, "model", model)
    layers = getattr(base, "layers", None)
    if layers is None:
        raise TypeError("sparsek.hf.apply: expected a decoder with model.layers "
                        "(Llama/Qwen2 family)")
    return [layer.self_attn for layer in layers]


def _scores_hook(module, args, kwargs):
    hidden = kwargs.get("hidden_states", args[0] if args else None)
    module._sparsek_new_scores = module.sparsek_scorer(hidden).float()  # [B, N, Hkv]
    cache = kwargs.get("past_key_values", kwargs.get("past_key_value"))
    module._sparsek_cache = cache if isinstance(cache, SparseKCache) else None


def _attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
               **kwargs):
    if attention_mask is not None:
        raise NotImplementedError("sparsek.hf: padding masks are not supported yet "
                                  "(pass unpadded batches)")
    cfg = module._sparsek
    new = module._sparsek_new_scores  # [B, Nq, Hkv]
    cache = getattr(module, "_sparsek_cache", None)
    if cache is not None:
        return _attention_with_state(module, cache, query, key, value, new, scaling)
    m = key.shape[2]
    old = getattr(module, "_sparsek_past_scores", None)
    if old is None or old.shape[1] + new.shape[1] != m:
        old = new[:, :0]
    scores = torch.cat([old, new], 1)
    if scores.shape[1] != m:
        raise RuntimeError(f"sparsek.hf: scores for {scores.shape[1]} tokens but {m} keys")
    module._sparsek_past_scores = scores.detach()
    u = _kv_scores(module, scores, 0)  # [B, Hkv, M]
    scale = _scale(scaling, query.shape[-1])
    out = F_sk.attention(query, key.to(query.dtype), value.to(query.dtype), u,
                         topk=cfg["topk"], window=cfg["window"], scale=scale,
                         gate=cfg["gate"])
    return out.transpose(1, 2), None


def _kv_scores(module, scores, start):
    """The layer's KV scores u [B, Hkv, n] of tokens start .. start + n - 1
    from the scorer's [B, n, Hkv], plus the position slope."""
    u = scores.transpose(1, 2).contiguous()
    slope = float(module.sparsek_slope)
    if slope:
        n = u.shape[-1]
        u = u + slope * torch.arange(start, start + n, device=u.device, dtype=u.dtype)
    return u


def _scale(scaling, d):
    return None if scaling is None or abs(scaling - 1 / math.sqrt(d)) < 1e-12 else float(scaling)


def _attention_with_state(module, cache, query, key, value, new, scaling):
    """The layer's attention through its SparseKCache layer: `key`, `value`
    are this call's tokens only (SparseKLayer.update hands them back)."""
    cfg = module._sparsek
    layer = cache.layers[module.layer_idx]
    layer._consume(key)
    n = query.shape[2]
    start = layer.seen - n
    u = _kv_scores(module, new, start)  # [B, Hkv, n]
    scale = _scale(scaling, query.shape[-1])
    key, value = key.to(query.dtype), value.to(query.dtype)
    state = layer.state
    if start == 0:
        # The prompt: the layer over it, then its decode state.
        out = F_sk.attention(query, key, value, u, topk=cfg["topk"], window=cfg["window"],
                             scale=scale, gate=cfg["gate"])
        decode.prefill(state, key.to(state.keys.dtype), value.to(state.keys.dtype), u)
    else:
        # Later tokens one at a time (a chunk of several too: each token's
        # output is the layer's for it over the whole history).
        out = torch.cat([decode.step(state, query[:, :, i:i + 1], key[:, :, i:i + 1],
                                     value[:, :, i:i + 1], u[:, :, i:i + 1], scale=scale,
                                     gate=cfg["gate"]).to(query.dtype)
                         for i in range(n)], 2)
    return out.transpose(1, 2), None


def _base(name, fallback):
    try:
        import transformers.cache_utils as cu
        return getattr(cu, name)
    except ImportError:  # the classes still work with sparsek.hf's own callers
        return fallback


class _PlainCache:
    """Stand-in for transformers.Cache when transformers is absent."""

    def __init__(self, layers):
        self.layers = layers

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        return self.layers[layer_idx].update(key_states, value_states, *args, **kwargs)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.layers[layer_idx].get_seq_length() if layer_idx < len(self.layers) else 0


class SparseKLayer(_base("CacheLayerMixin", object)):
    """One attention layer's constant-size cache: a ``sparsek.decode`` state
    (allocated on the first update from the keys' shape, dtype and device).
    ``update`` returns the call's own keys and values; the sparsek attention
    function (``sparsek.hf.apply``) runs the prompt's prefill and the decode
    steps on the state."""

    is_compileable = False
    is_sliding = False

    def __init__(self, topk: int, window: int, band_capacity: int = 1024):
        super().__init__()
        self.keys = self.values = None
        self.is_initialized = False
        self.topk, self.window, self.band_capacity = int(topk), int(window), int(band_capacity)
        self.state = None
        self.seen = 0          # tokens this layer has seen (host counter: no sync)
        self._pending = None   # the last update's keys, until attention uses them

    def lazy_initialization(self, key_states, value_states=None):
        b, hkv, _, d = key_states.shape
        self.dtype, self.device = key_states.dtype, key_states.device
        self.max_batch_size = b
        self.state = decode.allocate(b, hkv, d, topk=self.topk, window=self.window,
                                     band_capacity=self.band_capacity, dtype=key_states.dtype,
                                     device=key_states.device)
        self.keys, self.values = self.state.keys, self.state.values
        self.is_initialized = True

    def update(self, key_states, value_states, *args, **kwargs):
        if self._pending is not None:
            raise RuntimeError("sparsek.hf.SparseKCache: the attention did not consume the "
                               "previous update; the model must use sparsek.hf.apply's "
                               "attention")
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        if key_states.shape[0] != self.state.keys.shape[0]:
            raise ValueError(f"sparsek.hf.SparseKCache: batch {key_states.shape[0]} does not "
                             f"match the cache's {self.state.keys.shape[0]}")
        self._pending = key_states
        self.seen += key_states.shape[-2]
        return key_states, value_states

    def _consume(self, key):
        if self._pending is not key:
            raise RuntimeError("sparsek.hf.SparseKCache: attention called without this "
                               "layer's update")
        self._pending = None

    def get_seq_length(self, *args) -> int:
        return self.seen

    def get_mask_sizes(self, query, *args):
        """(kv_length, kv_offset) of the logical history (masks are not
        used by the sparsek attention; padding is refused)."""
        n = query if isinstance(query, int) else int(query.shape[0])
        return self.seen + n, 0

    def get_max_length(self) -> int:
        return -1  # no limit on the sequence length

    def get_max_cache_shape(self, *args) -> int:
        return -1

    def reset(self):
        if self.state is not None:
            self.state.reset()
        self.seen = 0
        self._pending = None

    def reorder_cache(self, beam_idx):
        if self.state is not None:
            idx = beam_idx.to(self.state.keys.device)
            for t in self.state.tensors():
                t.copy_(t.index_select(0, idx))

    def _unsupported(self, *args, **kwargs):
        raise NotImplementedError("sparsek.hf.SparseKCache cannot crop or reshape its batch "
                                  "(its state forgets the tokens it evicted)")

    crop = batch_repeat_interleave = batch_select_indices = _unsupported

    @property
    def overflowed(self):
        return None if self.state is None else self.state.overflowed


class SparseKCache(_base("Cache", _PlainCache)):
    """A ``transformers`` Cache of one ``SparseKLayer`` per attention layer
    of a ``sparsek.hf.apply`` model: ``model.generate(...,
    past_key_values=SparseKCache(model))`` decodes with memory that does not
    grow with the generated length (``nbytes``)."""

    def __init__(self, model, band_capacity: int = 1024):
        layers = [SparseKLayer(a._sparsek["topk"], a._sparsek["window"], band_capacity)
                  for a in _configured_layers(model)]
        super().__init__(layers=layers)

    @property
    def nbytes(self) -> int:
        return sum(layer.state.nbytes for layer in self.layers if layer.state is not None)


def _configured_layers(model):
    layers = _layers(model)
    if not all(hasattr(a, "_sparsek") for a in layers):
        raise ValueError("sparsek.hf.SparseKCache: call sparsek.hf.apply(model, ...) first")
    return layers


def _register():
    global _REGISTERED
    if _REGISTERED:
        return
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask
    AttentionInterface.register("sparsek", _attention)
    AttentionMaskInterface.register("sparsek", sdpa_mask)
    _REGISTERED = True


def apply(model, *, topk: int, window: int, gate: str = "kv", slope: float = 0.0):
    """Makes every attention layer of ``model`` SparseK (in place) and returns
    the model."""
    _register()
    config = model.config
    hidden = config.hidden_size
    hkv = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    for attn in _layers(model):
        if not hasattr(attn, "sparsek_scorer"):
            p = next(attn.parameters())
            attn.sparsek_scorer = nn.Linear(hidden, hkv, bias=True).to(p.device, p.dtype)
            nn.init.zeros_(attn.sparsek_scorer.weight)
            nn.init.zeros_(attn.sparsek_scorer.bias)
            attn.register_buffer("sparsek_slope", torch.tensor(float(slope)))
            attn.register_forward_pre_hook(_scores_hook, with_kwargs=True)
        attn._sparsek = {"topk": int(topk), "window": int(window), "gate": gate}
        attn._sparsek_past_scores = None
        attn._sparsek_cache = None
    model.set_attn_implementation("sparsek")
    return model


def scorer_state_dict(model):
    return {f"{i}.{k}": v for i, attn in enumerate(_layers(model))
            for k, v in attn.sparsek_scorer.state_dict().items()}


def save_scorers(model, path):
    torch.save(scorer_state_dict(model), path)


def load_scorers(model, path):
    state = torch.load(path, map_location="cpu")
    for i, attn in enumerate(_layers(model)):
        attn.sparsek_scorer.load_state_dict(
            {k.split(".", 1)[1]: v for k, v in state.items() if k.split(".", 1)[0] == str(i)})
