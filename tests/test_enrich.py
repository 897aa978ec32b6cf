"""Prompt enrichment fills in what a prompt leaves open and never adds objects or events it did not ask for."""

from pathlib import Path

import pytest

from playground.enrich import PromptEnricher, scene_facts

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "worldsim-s" / "enrich"


@pytest.fixture(scope="module")
def shipped(text_encoder):
    if not (SHIPPED / "captions.json").is_file():
        pytest.skip("the shipped model's enricher is missing")
    return PromptEnricher.load(SHIPPED)


def test_a_red_ball_rolling_left_gains_no_wall_no_second_ball_and_no_other_colour(shipped, text_encoder):
    e = shipped.enrich("a red ball rolls to the left", text_encoder)
    f = scene_facts(e.text)
    assert e.source == "nearest training caption"
    assert f["count"] == 1 and f["colours"] == ["red"]
    assert not (f["occluder"] or f["collision"] or f["gravity"] or f["camera"])
    assert "left" in f["directions"] and "right" not in f["directions"]
    assert "wall" not in e.text  # neither a grey wall to pass behind nor a bounce off the arena wall


@pytest.mark.parametrize("prompt", ["a red ball rolls to the left", "a green ball", "a blue ball moves to the right",
                                    "two balls", "a red ball and a blue ball", "a yellow ball rolls slowly"])
def test_enrichment_adds_no_event_the_prompt_did_not_name(shipped, text_encoder, prompt):
    want, e = scene_facts(prompt), shipped.enrich(prompt, text_encoder)
    have = scene_facts(e.text)
    for event in ("gravity", "occluder", "collision", "camera"):
        assert not have[event], f"{prompt!r} -> {e.text!r} adds {event}"
    if want["count"]:
        assert have["count"] == want["count"]
    if want["colours"]:
        assert have["colours"] == want["colours"]


def test_events_the_prompt_names_are_kept(shipped, text_encoder):
    for prompt, event in (("a red ball falls", "gravity"), ("a ball passes behind a wall", "occluder"),
                          ("a red ball and a blue ball collide", "collision"),
                          ("the camera pans to the left", "camera")):
        assert scene_facts(shipped.enrich(prompt, text_encoder).text)[event], prompt


def test_the_nearest_caption_loses_to_one_that_adds_no_occluder(text_encoder):
    captions = ["A red ball rolls to the left. The red ball passes behind the grey wall.",
                "One ball on a checkered floor: red. The red ball moves slowly to the left. The camera is still."]
    enricher = PromptEnricher.build(captions, text_encoder)
    q = text_encoder.encode(["a red ball rolls to the left"])[0]
    sims = enricher.embeddings @ q
    nearest = enricher.captions[int(sims.argmax())]
    assert "behind" in nearest  # plain nearest-neighbour retrieval would add the wall
    e = enricher.enrich("a red ball rolls to the left", text_encoder)
    assert "behind" not in e.text and "a still camera" in e.added and "speed slowly" in e.added


def test_a_prompt_no_caption_agrees_with_is_used_as_given(text_encoder):
    enricher = PromptEnricher.build(["Two balls on a checkered floor: red and blue. The red ball falls and bounces "
                                     "on the floor. The blue ball falls and bounces on the floor."], text_encoder)
    e = enricher.enrich("a green ball", text_encoder)  # the grammar would have to invent how it moves
    assert e.text == "a green ball" and e.source == "no agreeing caption" and e.added == ()


def test_a_prompt_no_caption_agrees_with_is_worded_by_the_grammar_when_it_says_enough(text_encoder):
    captions = pytest.importorskip("playground.world.captions")
    if not hasattr(captions, "caption_from_attributes"):
        pytest.skip("the caption grammar has no attributes -> caption function yet")
    enricher = PromptEnricher.build(["Two balls on a checkered floor: red and blue. The red ball falls and bounces "
                                     "on the floor. The blue ball falls and bounces on the floor."], text_encoder)
    e = enricher.enrich("a red ball rolls fast to the right", text_encoder)
    f = scene_facts(e.text)
    assert e.source == "worded by the caption grammar"
    assert f["count"] == 1 and f["colours"] == ["red"] and f["motion"] == {"red": "to the right"}
    assert f["speed"] == {"red": "fast"} and not (f["gravity"] or f["occluder"] or f["collision"] or f["camera"])
