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
  model's own KV cache;
- ``save_scorers`` / ``load_scorers`` keep the scorer weights, which stock
  ``from_pretrained`` drops as unexpected keys.

HF hands attention ``[B, H, N, D]`` tensors and expects ``[B, N, H, D]``
back. Padding masks are not supported yet (a clear error).
"""

from __future__ import annotations

import math

import torch
from torch import nn

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


def _attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
               **kwargs):
    if attention_mask is not None:
        raise NotImplementedError("sparsek.hf: padding masks are not supported yet "
                                  "(pass unpadded batches)")
    cfg = module._sparsek
    new = module._sparsek_new_scores  # [B, Nq, Hkv]
    m = key.shape[2]
    old = getattr(module, "_sparsek_past_scores", None)
    if old is None or old.shape[1] + new.shape[1] != m:
        old = new[:, :0]
    scores = torch.cat([old, new], 1)
    if scores.shape[1] != m:
        raise RuntimeError(f"sparsek.hf: scores for {scores.shape[1]} tokens but {m} keys")
    module._sparsek_past_scores = scores.detach()
    slope = float(module.sparsek_slope)
    u = scores.transpose(1, 2).contiguous()  # [B, Hkv, M]
    if slope:
        u = u + slope * torch.arange(m, device=u.device, dtype=u.dtype)
    d = query.shape[-1]
    scale = None if scaling is None or abs(scaling - 1 / math.sqrt(d)) < 1e-12 else float(scaling)
    out = F_sk.attention(query, key.to(query.dtype), value.to(query.dtype), u,
                         topk=cfg["topk"], window=cfg["window"], scale=scale,
                         gate=cfg["gate"])
    return out.transpose(1, 2), None


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
