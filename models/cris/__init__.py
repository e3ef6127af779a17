"""Our CRIS (CLIP-Driven Referring Image Segmentation) in PyTorch.

    from models.cris import CRIS, CrisConfig, PRESETS, load_checkpoint, random_cris
    model = CRIS(CrisConfig(...))                  # explicit sizes (e.g. a small model to train)
    loaded = load_checkpoint("best_model.pth")     # official checkpoint, sizes read from weights
    logits = loaded.model(image, tokens)           # [B,1,S/4,S/4]
"""
from .checkpoint import CheckpointError, LoadedCheckpoint, build_from_state_dict, load_checkpoint, load_into
from .config import PRESETS, CrisConfig, infer_config
from .random_init import random_cris
from .segmenter import CRIS

__all__ = ["CRIS", "CrisConfig", "PRESETS", "infer_config", "CheckpointError", "LoadedCheckpoint",
           "build_from_state_dict", "load_checkpoint", "load_into", "random_cris"]
