"""Recipes and command-line overrides: list items by index, clear errors for the rest."""

from __future__ import annotations

import pytest

from semifer.config import load_config, recipe_path
from semifer.errors import ConfigError
from semifer.ssl.config import SpatialConfig, Use


def test_an_override_can_set_one_field_of_a_listed_source() -> None:
    config = load_config(SpatialConfig, recipe_path("demo"), ["data.sources.0.path=/data/Aff-Wild2", "data.sources.1.use=unlabeled"])
    assert config.data.sources[0].path == "/data/Aff-Wild2" and config.data.sources[0].format == "affwild2"
    assert config.data.sources[1].use == Use.unlabeled and len(config.data.sources) == 4


def test_stage_widths_are_a_list_override() -> None:
    assert load_config(SpatialConfig, recipe_path("demo"), ["model.channels=[8,16,32,64]"]).model.channels == [8, 16, 32, 64]
    assert load_config(SpatialConfig, recipe_path("demo"), ["model.channels=[]"]).model.channels == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.sources.9.path=/x", "invalid override 'data.sources.9.path=/x'"),
        ("steps=abc", "'abc'"),
        ("data.sources.0.use=lab", "expected one of \\[labeled, split, unlabeled\\]"),
        ("stepz=3", "Did you mean: 'steps'"),
        ("steps", "not of the form key=value"),
        ("model.channels=[64,a]", "could not be converted to Integer"),
    ],
)
def test_a_bad_override_is_one_config_error(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(SpatialConfig, recipe_path("demo"), [override])
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["optim.warmup_steps=1200"], "optim.warmup_steps"),  # the demo's student trains 1,000 steps after its wait
        (["steps=100", "optim.warmup_steps=100", "mode=supervised"], "optim.warmup_steps"),
        (["optim.warmup_steps=-1"], "optim.warmup_steps"),
        (["ssl.unlabeled_label_smoothing=1.0"], "ssl.unlabeled_label_smoothing"),
        (["ssl.unlabeled_label_smoothing=-0.1"], "ssl.unlabeled_label_smoothing"),
        (["label_smoothing=1.5"], "label_smoothing"),
        (["ssl.uratio=0"], "ssl.uratio"),
        (["ssl.teacher_ema=1"], "ssl.teacher_ema"),
        (["ssl.diagnose_every=-5"], "ssl.diagnose_every"),
        (["ssl.student_wait_steps=1200"], "ssl.student_wait_steps"),
        (["finetune.steps=-1"], "finetune.steps"),
        (["finetune.steps=10", "finetune.lr=0"], "finetune.lr"),
        (["steps=0"], "steps"),
        (["batch_size=0"], "batch_size"),
    ],
)
def test_a_bad_stage1_setting_is_one_line_naming_its_key(overrides: list[str], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", "\\.")) as caught:
        load_config(SpatialConfig, recipe_path("demo"), overrides)
    assert "\n" not in str(caught.value)
