"""Prompt enrichment: a short user prompt -> the descriptive caption style the model was trained on.

The Sora report (after DALL-E 3) expands short prompts into detailed captions like those seen in training. Here the
training captions come from a grammar over scenes, so enrichment is retrieval: embed the prompt with the text
encoder and return the nearest training caption that says exactly what the prompt says. Enrichment may fill in
what the prompt leaves open (the floor, the camera standing still, a speed or direction, a colour when none is
named) but never adds objects or events: the caption must have the prompt's ball count and colours, and gravity,
an occluder, a collision or a moving camera only when the prompt asks for them. Among those, captions that add
the fewest unasked-for details (a bounce off the arena wall, another direction) win; when none agrees, the prompt
is used as given. `EnrichedPrompt.added` lists what the caption adds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white")
NUMBERS = {"one": 1, "a": 1, "single": 1, "two": 2, "pair": 2, "three": 3, "four": 4, "five": 5, "six": 6}
ATTRIBUTE_WORDS = {
    # "wall" and "bounce" are left out on purpose: balls also bounce off the arena's walls in every family.
    "gravity": ("fall", "falls", "falling", "fell", "drop", "drops", "dropped", "gravity", "on the floor"),
    "occluder": ("behind", "hidden", "hides", "occluder", "occluded", "occlusion", "box", "disappears"),
    "camera": ("orbit", "orbits", "orbiting", "pan", "pans", "panning", "camera moves", "moving camera", "circles",
               "camera turns", "camera swings", "swinging camera"),
    "collision": ("collide", "collides", "colliding", "collision", "hit", "hits", "crash", "crashes"),
    "kicked": ("kick", "kicks", "kicked", "kicking", "push", "pushes", "pushed", "shove", "shoved"),
    "marks": ("mark", "marks", "marked", "marking", "paint", "paints", "painted", "painting", "trail", "trails"),
}


@dataclass
class EnrichedPrompt:
    prompt: str  # what the user typed
    text: str  # what conditions the model
    source: str  # "empty", "as given", "off", "no agreeing caption", or "nearest training caption"
    similarity: float  # cosine similarity between prompt and the chosen caption
    added: tuple[str, ...] = ()  # what the caption says that the prompt did not (filled-in details)


# The caption grammar's sentences (playground.world.captions), read back per ball; "a"/"an" also reads prompts.
_BALL = r"(?:the|a|an) (\w+) ball"
_WHERE = r"(?:(slowly|fast) )?((?:toward|away from) the camera(?: and to the (?:left|right))?|to the (?:left|right))"
_MOTION = re.compile(_BALL + r" (?:(?:rolls|moves|drifts) " + _WHERE + r"|(stays still)|falls and bounces on the "
                     r"floor(?:, drifting " + _WHERE + r")?)( and bounces off the wall)?")
_COLLIDE = re.compile(_BALL + r" and the (\w+) ball collide")
_BEHIND = re.compile(_BALL + r" passes behind the (\w+) (wall|box)")
_KICK = re.compile(_BALL + r" is kicked(?: " + _WHERE + r")?")
_CAMERA = re.compile(r"camera (orbits around the scene|swings around the scene|pans|turns) to the (left|right)"
                     r"( and back)?|camera (?:is still|does not move)")
_CAMERA_KIND = {"orbits around the scene": "orbit", "swings around the scene": "orbit", "pans": "pan", "turns": "turn"}


def prompt_attributes(text: str) -> dict:
    """Attributes a text names: colours, ball count, flags for gravity / occluder / camera / collision / kicked /
    marks, and what the caption grammar's sentences say ball by ball: motion (heading, "still" without one),
    speed adverb, wall bounces, collision pairs, occlusions, kick headings, the camera's motion ("still", "orbit
    left", "pan right", ...; absent when the text does not say). For a rich caption this is the inverse of
    `playground.world.captions.caption_labels`."""
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
    motion, speed, walls = {}, {}, set()
    for m in _MOTION.finditer(low):
        color, adv, where, still, g_adv, g_where, wall = m.groups()
        if color not in COLOURS:
            continue
        motion[color] = where or g_where or "still"
        speed[color] = adv or g_adv or ""
        if wall:
            walls.add(color)
    kicks: dict[str, list[str]] = {}
    for m in _KICK.finditer(low):
        if m.group(1) in COLOURS:
            kicks.setdefault(m.group(1), []).append(m.group(3) or "")
    attrs |= {"motion": motion, "speed": speed, "walls": sorted(walls),
              "collisions": sorted("+".join(sorted(m.groups())) for m in _COLLIDE.finditer(low)),
              "occlusions": sorted(f"{c} behind {o} {k}" for c, o, k in _BEHIND.findall(low)),
              "kicks": kicks}
    cam = _CAMERA.search(low)
    if cam:
        kind, side, back = cam.groups()
        attrs["camera_motion"] = f"{_CAMERA_KIND[kind]} {side}{back or ''}" if kind else "still"
    return attrs


DIRECTIONS = ("left", "right", "toward", "away")
SPEEDS = {"slowly": "slowly", "slow": "slowly", "fast": "fast", "quickly": "fast", "quick": "fast"}
# what a caption may only say when the prompt asks for it
EVENTS = ("gravity", "occluder", "collision", "camera", "kicked", "marks")
STILL_BALL = re.compile(r"\b(stays?|sits?|rests?|stands?) still\b|\bstationary\b|\bmotionless\b|\bat rest\b")
WALL_BOUNCE = "bounces off the wall"


def scene_facts(text: str) -> dict:
    """What a prompt or caption says, for comparing the two: `prompt_attributes` plus the ball count as the text
    implies it (None when open), direction and speed words, a ball that stays still, a bounce."""
    low = text.lower()
    words = re.findall(r"[a-z]+|\d+", low)
    facts = prompt_attributes(text)
    count = facts.get("count")
    if count is None and facts["colours"]:
        count = len(facts["colours"]) if "balls" not in words else max(2, len(facts["colours"]))
    elif count is None and "ball" in words and "balls" not in words:
        count = 1
    facts["count"] = count
    facts["plural"] = "balls" in words and count is None
    facts["directions"] = {w for w in words if w in DIRECTIONS}
    facts["speeds"] = {SPEEDS[w] for w in words if w in SPEEDS}
    facts["still"] = bool(STILL_BALL.search(low))
    facts["bounce"] = any(w.startswith("bounc") for w in words)
    facts["wall_bounce"] = WALL_BOUNCE in low
    return facts


def disagreement(want: dict, have: dict) -> tuple[bool, list[str]]:
    """(whether caption facts `have` contradict or go beyond prompt facts `want`, the details it adds)."""
    if want["count"] is not None and have["count"] != want["count"]:
        return True, []
    if want["plural"] and (have["count"] or 0) < 2:
        return True, []
    if want["colours"] and set(have["colours"]) != set(want["colours"]):
        return True, []
    for k in EVENTS:
        asked = want.get(k, False) or (k == "gravity" and want["bounce"])
        if have.get(k, False) and not asked or want.get(k, False) and not have.get(k, False):
            return True, []
    if not want["directions"] <= have["directions"] or not want["speeds"] <= have["speeds"]:
        return True, []
    for colour, heading in want.get("motion", {}).items():  # ball by ball, where the prompt says so
        theirs = have.get("motion", {}).get(colour)
        if theirs is None or not set(heading.split()) <= set(theirs.split()):
            return True, []
        if want.get("speed", {}).get(colour) and have.get("speed", {}).get(colour) != want["speed"][colour]:
            return True, []
    if want["still"] and "stays still" not in have["text"]:
        return True, []
    added = []
    if want["count"] is None and have["count"]:
        added.append(f"{have['count']} ball{'s' if have['count'] > 1 else ''}")
    if not want["colours"] and have["colours"]:
        added.append("colour " + ", ".join(have["colours"]))
    if have["wall_bounce"] and not want["bounce"]:
        added.append("a bounce off the arena wall")
    extra_dirs = sorted(have["directions"] - want["directions"])
    if extra_dirs:  # a direction fills an open slot; one beside a named direction goes beyond the prompt
        added.append(("another direction " if want["directions"] else "direction ") + ", ".join(extra_dirs))
    extra_speed = sorted(have["speeds"] - want["speeds"])
    if extra_speed:
        added.append("speed " + ", ".join(extra_speed))
    still_camera = "camera is still" in have["text"] or "camera does not move" in have["text"]
    if not want["camera"] and still_camera and "camera" not in want["text"]:
        added.append("a still camera")
    if "checkered" in have["text"] and "checkered" not in want["text"]:
        added.append("a checkered floor")
    return False, added


def grammar_caption(want: dict) -> tuple[str, tuple[str, ...]] | None:
    """When no training caption agrees: the prompt's own facts worded by the caption grammar, with a still camera
    filled in; None when the prompt leaves a ball's motion (or an event's parties) unsaid, which the grammar
    would have to invent."""
    try:
        from .world.captions import attributes_from_labels, caption_from_attributes
    except ImportError:
        return None
    colours, motion = want["colours"], want.get("motion", {})
    if not colours or want["count"] not in (None, len(colours)):
        return None
    if not want["gravity"] and set(motion) != set(colours):
        return None
    for flag, parties in (("collision", "collisions"), ("occluder", "occlusions"), ("kicked", "kicks")):
        if want.get(flag) and not want.get(parties):
            return None
    if want.get("marks") or want["camera"] and want.get("camera_motion", "still") == "still":
        return None
    labels = {"colours": colours, "gravity": want["gravity"], "motion": motion, "speed": want.get("speed", {}),
              "walls": want.get("walls", []), "collisions": want.get("collisions", []),
              "occlusions": want.get("occlusions", []), "kicks": want.get("kicks", {}), "marks": False,
              "camera_motion": want.get("camera_motion", "still")}
    try:
        text = caption_from_attributes(attributes_from_labels(labels), np.random.default_rng(0))
    except (KeyError, ValueError, IndexError):
        return None
    added = ("a checkered floor",) + (() if want["camera"] or "camera_motion" in want else ("a still camera",))
    return text, added


def _unasked(added: list[str]) -> int:
    """How many of the added details are events rather than settings (ranked first: fewer is better)."""
    return sum(a.startswith(("a bounce", "another direction")) for a in added)


class PromptEnricher:
    """Nearest-training-caption enrichment constrained by the attributes the prompt names."""

    def __init__(self, captions: list[str], embeddings: torch.Tensor):
        if len(captions) != embeddings.shape[0]:
            raise ValueError("one embedding per caption is required")
        self.captions = list(captions)
        self.embeddings = torch.nn.functional.normalize(embeddings.float(), dim=-1)
        self.facts = [{**scene_facts(c), "text": c.lower()} for c in self.captions]

    @classmethod
    def build(cls, captions: list[str], text_encoder) -> "PromptEnricher":
        unique = sorted(set(c for c in captions if c))
        return cls(unique, text_encoder.encode(unique))

    def enrich(self, prompt: str, text_encoder, keep_threshold: float = 0.97) -> EnrichedPrompt:
        """The nearest training caption that agrees with everything the prompt says and adds no object or event
        (see the module docstring); the prompt itself when it already reads like a training caption or when no
        caption agrees."""
        prompt = prompt.strip()
        if not prompt:
            return EnrichedPrompt(prompt, "", "empty", 0.0)
        if not self.captions:
            return EnrichedPrompt(prompt, prompt, "as given", 1.0)
        q = text_encoder.encode([prompt])[0]
        sims = self.embeddings @ q  # (N,)
        want = {**scene_facts(prompt), "text": prompt.lower()}
        best, best_key, best_added = None, None, []
        for i, have in enumerate(self.facts):
            bad, added = disagreement(want, have)
            if bad:
                continue
            key = (_unasked(added), -float(sims[i]))
            if best_key is None or key < best_key:
                best, best_key, best_added = i, key, added
        if best is None:
            worded = grammar_caption(want)
            if worded is not None:
                return EnrichedPrompt(prompt, worded[0], "worded by the caption grammar", float(sims.max()),
                                      worded[1])
            return EnrichedPrompt(prompt, prompt, "no agreeing caption", float(sims.max()))
        sim = float(sims[best])
        if sim >= keep_threshold:  # already in the training style
            return EnrichedPrompt(prompt, prompt, "as given", sim)
        return EnrichedPrompt(prompt, self.captions[best], "nearest training caption", sim, tuple(best_added))

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
