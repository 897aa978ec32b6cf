"""Prompt enrichment: a short user prompt -> the descriptive caption style the model was trained on.

The Sora report (after DALL-E 3) expands short prompts into detailed captions like those seen in training. Here the
training captions come from a grammar over scenes, so enrichment is retrieval: embed the prompt with the text
encoder, keep the training captions that agree with every attribute the prompt names (colours, how many balls,
gravity, an occluder, camera motion, collisions), and return the nearest of those in the encoder's space.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white")
NUMBERS = {"one": 1, "a": 1, "single": 1, "two": 2, "pair": 2, "three": 3, "four": 4, "five": 5, "six": 6}
ATTRIBUTE_WORDS = {
    # "wall" and "bounce" are left out on purpose: balls also bounce off the arena's walls in every family.
    "gravity": ("fall", "falls", "falling", "fell", "drop", "drops", "dropped", "gravity", "on the floor"),
    "occluder": ("behind", "hidden", "hides", "occluder", "occluded", "occlusion", "box", "disappears"),
    "camera": ("orbit", "orbits", "orbiting", "pan", "pans", "panning", "camera moves", "moving camera", "circles"),
    "collision": ("collide", "collides", "colliding", "collision", "hit", "hits", "crash", "crashes"),
}


@dataclass
class EnrichedPrompt:
    prompt: str  # what the user typed
    text: str  # what conditions the model
    source: str  # "empty", "as given", or "nearest training caption"
    similarity: float  # cosine similarity between prompt and the chosen caption


def prompt_attributes(text: str) -> dict:
    """Attributes a text names: colours, ball count, and flags for gravity / occluder / camera / collision."""
    low = text.lower()
    words = re.findall(r"[a-z]+|\d+", low)
    attrs: dict = {"colours": sorted({w for w in words if w in COLOURS})}
    for w in words:
        if w.isdigit() and 1 <= int(w) <= 6:
            attrs["count"] = int(w)
            break
        if w in NUMBERS and w not in ("a",):
            attrs["count"] = NUMBERS[w]
            break
    for key, vocab in ATTRIBUTE_WORDS.items():
        attrs[key] = any((v in low) if " " in v else (v in words) for v in vocab)
    return attrs


def _agrees(prompt_attrs: dict, caption_attrs: dict) -> bool:
    if not set(prompt_attrs["colours"]) <= set(caption_attrs["colours"]):
        return False
    if "count" in prompt_attrs and caption_attrs.get("count") not in (None, prompt_attrs["count"]):
        return False
    return all(caption_attrs[k] for k in ATTRIBUTE_WORDS if prompt_attrs[k])


class PromptEnricher:
    """Nearest-training-caption enrichment constrained by the attributes the prompt names."""

    def __init__(self, captions: list[str], embeddings: torch.Tensor):
        if len(captions) != embeddings.shape[0]:
            raise ValueError("one embedding per caption is required")
        self.captions = list(captions)
        self.embeddings = torch.nn.functional.normalize(embeddings.float(), dim=-1)
        self.attrs = [prompt_attributes(c) for c in self.captions]

    @classmethod
    def build(cls, captions: list[str], text_encoder) -> "PromptEnricher":
        unique = sorted(set(c for c in captions if c))
        return cls(unique, text_encoder.encode(unique))

    def enrich(self, prompt: str, text_encoder, keep_threshold: float = 0.97) -> EnrichedPrompt:
        prompt = prompt.strip()
        if not prompt:
            return EnrichedPrompt(prompt, "", "empty", 0.0)
        if not self.captions:
            return EnrichedPrompt(prompt, prompt, "as given", 1.0)
        q = text_encoder.encode([prompt])[0]
        sims = self.embeddings @ q  # (N,)
        want = prompt_attributes(prompt)
        ok = torch.tensor([_agrees(want, a) for a in self.attrs])
        if ok.any():
            sims = torch.where(ok, sims, torch.full_like(sims, -2.0))
        best = int(torch.argmax(sims))
        sim = float(sims[best])
        if sim >= keep_threshold:  # already in the training style
            return EnrichedPrompt(prompt, prompt, "as given", sim)
        return EnrichedPrompt(prompt, self.captions[best], "nearest training caption", sim)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "captions.json").write_text(json.dumps(self.captions, indent=0))
        save_file({"embeddings": self.embeddings.contiguous()}, str(folder / "embeddings.safetensors"))

    @classmethod
    def load(cls, folder: str | Path) -> "PromptEnricher":
        folder = Path(folder)
        captions = json.loads((folder / "captions.json").read_text())
        emb = load_file(str(folder / "embeddings.safetensors"))["embeddings"]
        return cls(captions, emb)
