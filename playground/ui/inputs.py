"""Input checking at the app's boundary: numbers, resolutions and uploaded clips, with messages that say what
was wrong and what is allowed. Every user-facing failure becomes `gr.Error`; the inputs stay as they were."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError  # noqa: F401 (one class for the app and the command line; importers use it here)
from ..pipeline import LIMITS

MAX_UPLOAD_BYTES = 20 * 2**20
MAX_UPLOAD_FRAMES = 256
UPLOAD_TYPES = (".mp4", ".gif", ".npy", ".webm", ".avi", ".mov")
RESOLUTION_PRESETS = ("32x32", "32x48", "48x32", "48x48", "64x64")


INTERNAL = "Internal error"  # how a message about a bug (not about the input) starts
USER_ERRORS = (ValueError, FileNotFoundError)  # what bad input raises (ours and the pipeline's)


def internal_error(e: Exception) -> str:
    """The message for an exception that is not about the user's input: a bug. Its traceback goes to the server's
    stderr; the user is told plainly, and the app keeps serving."""
    import traceback

    traceback.print_exception(e)
    return (f"{INTERNAL} ({type(e).__name__}: {e}): a bug in worldsim-playground, not in your input. The app keeps "
            "serving and your last results are kept.")


def error_message(e: Exception) -> str:
    """What the user is told about `e`: a gr.Error's message, a user error's text, or an internal error."""
    import gradio as gr

    if isinstance(e, gr.Error):
        return e.message
    return str(e) if isinstance(e, USER_ERRORS) else internal_error(e)


def user_errors(fn):
    """Every exception but a gr.Error becomes one (error_message), so the message reaches the user and the server
    keeps serving. Works for plain functions and generators."""
    import inspect

    import gradio as gr

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*a, **kw):
            try:
                yield from fn(*a, **kw)
            except gr.Error:
                raise
            except Exception as e:
                raise gr.Error(error_message(e), print_exception=False) from None
        return gen

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except gr.Error:
            raise
        except Exception as e:
            raise gr.Error(error_message(e), print_exception=False) from None
    return wrapper


def as_int(name: str, value, lo: int, hi: int) -> int:
    """An integer in [lo, hi] from a number or numeric string (sliders send floats like 16.0); True / False are
    not numbers here (`frames=True` would otherwise be a 1-frame video)."""
    if isinstance(value, (bool, np.bool_)):
        raise UserError(f"{name} must be a whole number in [{lo}, {hi}], got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a whole number in [{lo}, {hi}], got {value!r}") from None
    if not math.isfinite(f) or f != int(f) or not lo <= f <= hi:
        raise UserError(f"{name} must be a whole number in [{lo}, {hi}], got {value!r}")
    return int(f)


def as_bool(name: str, value) -> bool:
    """A checkbox value (True/False; the strings 'true'/'false' from API callers)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise UserError(f"{name} must be true or false, got {value!r}")


def as_float(name: str, value, lo: float, hi: float) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise UserError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number in [{lo}, {hi}], got {value!r}") from None
    if not math.isfinite(f) or not lo <= f <= hi:
        raise UserError(f"{name} must be a finite number in [{lo}, {hi}], got {value!r}")
    return f


def parse_resolution(text: str, factor: int) -> tuple[int, int]:
    """'HxW' -> (height, width), each a multiple of `factor` within the pipeline's limits."""
    try:
        h, w = (int(v) for v in str(text).lower().replace(" ", "").split("x"))
    except ValueError:
        raise UserError(f"resolution must look like HEIGHTxWIDTH (e.g. 32x48), got {text!r}") from None
    if h <= 0 or w <= 0:
        raise UserError(f"resolution must be two positive whole numbers HEIGHTxWIDTH, got {text!r}")
    (hlo, hhi), (wlo, whi) = LIMITS["height"], LIMITS["width"]
    if not (hlo <= h <= hhi and wlo <= w <= whi):
        raise UserError(f"resolution {h}x{w} is out of range: height in [{hlo}, {hhi}], width in [{wlo}, {whi}]")
    if h % factor or w % factor:
        raise UserError(f"resolution: height and width must be multiples of {factor}, got {h}x{w}")
    return h, w


def check_prompt(prompt) -> str:
    """Prompts are optional (empty = unconditional, the observed frames and the model's prior decide)."""
    if prompt is None:
        return ""
    if not isinstance(prompt, str):
        raise UserError(f"prompt must be text, got {type(prompt).__name__}")
    if len(prompt) > LIMITS["prompt_chars"]:
        raise UserError(f"prompt is {len(prompt)} characters long; at most {LIMITS['prompt_chars']} are allowed")
    return prompt


def _file_path(upload) -> Path:
    if isinstance(upload, dict):
        upload = upload.get("path") or upload.get("name")
    path = Path(getattr(upload, "name", upload))
    if not path.is_file():
        raise UserError("the uploaded file could not be found on the server; upload it again")
    return path


def load_clip(upload, height: int, width: int, max_frames: int = MAX_UPLOAD_FRAMES) -> np.ndarray:
    """Decode an uploaded clip (mp4/webm/avi/mov via OpenCV, gif via imageio, npy without pickle) into uint8
    (T, height, width, 3), resized with nearest neighbour. Raises UserError on anything it cannot use."""
    path = _file_path(upload)
    ext = path.suffix.lower()
    if ext not in UPLOAD_TYPES:
        raise UserError(f"unsupported file type {ext or '(none)'}; upload one of {', '.join(UPLOAD_TYPES)}")
    size = os.path.getsize(path)
    if size > MAX_UPLOAD_BYTES:
        raise UserError(f"the upload is {size / 2**20:.1f} MiB; at most {MAX_UPLOAD_BYTES // 2**20} MiB are accepted")
    if size == 0:
        raise UserError("the uploaded file is empty")
    try:
        if ext == ".npy":
            arr = np.load(path, allow_pickle=False, mmap_mode="r")
            frames = _npy_frames(arr, max_frames)
        elif ext == ".gif":
            frames = _gif_frames(path, max_frames)
        else:
            frames = _video_frames(path, max_frames)
    except UserError:
        raise
    except Exception as e:  # a corrupt file: the decoder's own error is not for the user
        raise UserError(f"could not decode {path.name} as {ext[1:]} video ({type(e).__name__}); is the file "
                        "corrupt?") from None
    if frames.ndim != 4 or frames.shape[0] == 0 or frames.shape[-1] not in (3, 4) or min(frames.shape[1:3]) < 1:
        raise UserError(f"{path.name} holds no frames that look like a video (shape {tuple(frames.shape)})")
    frames = np.ascontiguousarray(frames[..., :3]).astype(np.uint8, copy=False)
    if frames.shape[1:3] != (height, width):
        frames = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_NEAREST) for f in frames])
    return frames


def _npy_frames(arr: np.ndarray, max_frames: int) -> np.ndarray:
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
        raise UserError(f"a .npy clip must be (T, H, W, 3) uint8, got shape {arr.shape}")
    _check_side(*arr.shape[1:3])
    arr = np.asarray(arr[:max_frames])
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all() and arr.min() >= 0 and arr.max() <= 1:
            arr = (arr * 255).round().astype(np.uint8)
        else:
            raise UserError(f"a .npy clip must be uint8 (or floats in [0, 1]), got {arr.dtype}")
    return arr


MAX_SIDE = 4096  # px: larger frames are refused before they are decoded


def _check_side(h: int, w: int) -> None:
    if max(h, w) > MAX_SIDE:
        raise UserError(f"frames of {h}x{w} are too large (at most {MAX_SIDE} px a side)")


def _gif_frames(path: Path, max_frames: int) -> np.ndarray:
    """A GIF's first max_frames frames; its size is read from the header (the logical screen) before anything is
    decoded, so a small file that unpacks into huge frames is refused at once."""
    import imageio.v3 as iio

    head = path.open("rb").read(10)
    if len(head) < 10 or head[:6] not in (b"GIF87a", b"GIF89a"):
        raise UserError(f"{path.name} is not a GIF file (no GIF header)")
    _check_side(int.from_bytes(head[8:10], "little"), int.from_bytes(head[6:8], "little"))
    frames = []
    for f in iio.imiter(path):
        f = np.asarray(f)
        _check_side(*f.shape[:2])
        frames.append(f if f.ndim == 3 else np.repeat(f[..., None], 3, axis=-1))
        if len(frames) >= max_frames:
            break
    return np.stack(frames)[..., :3] if frames else np.zeros((0, 1, 1, 3), np.uint8)


def _video_frames(path: Path, max_frames: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise UserError(f"could not open {path.name} as a video; is the file corrupt?")
        # the container's frame size, before any frame is decoded
        _check_side(int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
        frames = []
        while len(frames) < max_frames:
            ok, f = cap.read()
            if not ok:
                break
            _check_side(*f.shape[:2])
            frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise UserError(f"no frames could be decoded from {path.name}; is the file corrupt?")
    return np.stack(frames)


# --------------------------------------------------------------------------- Gradio's own input checks
def field_name(component) -> str:
    """The name a user knows a control by: its label without the parenthetical explanation."""
    import re

    label = str(getattr(component, "label", None) or type(component).__name__)
    return re.split(r"\s*[(;:]", label)[0].strip() or label


def _allowed(component) -> str:
    """What a control accepts, in words."""
    lo, hi = getattr(component, "minimum", None), getattr(component, "maximum", None)
    choices = getattr(component, "choices", None)
    if choices:
        values = [c[1] if isinstance(c, (tuple, list)) else c for c in choices]
        return "one of " + ", ".join(repr(v) for v in values)
    if lo is not None or hi is not None:
        whole = getattr(component, "precision", None) == 0 or float(getattr(component, "step", 0.5) or 0.5).is_integer()
        kind = "a whole number" if whole else "a number"
        return f"{kind} in [{_num(lo)}, {_num(hi)}]" if lo is not None and hi is not None else kind
    if type(component).__name__ in ("File", "UploadButton", "Video", "Image"):
        return "a file (from gradio_client pass handle_file(path))"
    return f"a {type(component).__name__} value"


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def name_input_errors(blocks) -> None:
    """Make Gradio's own input checks (a slider's bounds, a dropdown's choices, an unreadable upload) speak like
    ours: name the control, say what was wrong and what is allowed, instead of 'Value 999 is greater than maximum
    value 64' or 'Could not preprocess input component at index 2'. Wraps each input component's preprocess."""
    import gradio as gr

    for block in list(blocks.blocks.values()):
        pre = getattr(block, "preprocess", None)
        if not isinstance(block, gr.components.Component) or pre is None or getattr(pre, "_named", False):
            continue

        def named(payload, _pre=pre, _block=block):
            try:
                return _pre(payload)
            except Exception as e:  # Gradio's message names no field; ours does
                bounded = getattr(_block, "choices", None) or getattr(_block, "maximum", None) is not None
                if isinstance(e, gr.Error) and not bounded:  # e.g. a file type: say which field it is about
                    raise gr.Error(f"{field_name(_block)}: {e.message}", print_exception=False) from e
                shown = repr(payload) if len(repr(payload)) <= 80 else repr(payload)[:77] + "..."
                raise gr.Error(f"{field_name(_block)} must be {_allowed(_block)}, got {shown}",
                               print_exception=False) from e

        named._named = True
        block.preprocess = named
        model = getattr(block, "data_model", None)
        if isinstance(model, type) and hasattr(model, "model_validate"):  # files: checked before preprocess
            block.data_model = _named_model(model, block)


def _named_model(model: type, block) -> type:
    """`model` (a Gradio data model such as FileData) whose validation errors name the field."""
    import gradio as gr
    import pydantic

    def model_validate(cls, obj, *a, **kw):
        try:
            return model.model_validate(obj, *a, **kw)
        except pydantic.ValidationError:
            shown = repr(obj) if len(repr(obj)) <= 80 else repr(obj)[:77] + "..."
            raise gr.Error(f"{field_name(block)} must be {_allowed(block)}, got {shown}", print_exception=False) \
                from None

    return type(model.__name__, (model,), {"model_validate": classmethod(model_validate),
                                            "__module__": model.__module__})
