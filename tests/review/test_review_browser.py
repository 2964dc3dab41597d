"""The review pages in headless Chromium, opened from disk: cells list their frames, the viewer
shows the right frame and labels while scrubbing and stepping, and a missing image says which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from review_browser import REQUIRED, no_browser
from review_fixtures import CLIP_NO_FACE, MISSING_CROP, VALIDATION, DemoFixture

from semifer.labels import ABAW_CLASSES, NUM_CLASSES

FIRST_CROP = 1  # cropped_aligned/<video>/00001.jpg is frame index 0
LANES_LEFT, LANES_RIGHT = 130, 4  # video.js: lane names left of the timeline, a margin right of it


def open_page(page: Any, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")


def expected_spans(demo: DemoFixture, truth: int, predicted: int) -> list[tuple[str, int, int]]:
    """(video, first frame number, frames) of every run of consecutive frames in cell (truth, predicted)."""
    spans = []
    for name in sorted(demo.truth):
        inside = (demo.truth[name] == truth) & (demo.raw[name] == predicted)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(np.int8), [0]])))
        spans += [(name, int(start) + FIRST_CROP, int(stop - start)) for start, stop in zip(edges[::2], edges[1::2])]
    return spans


def shown(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => ({
            frame: document.getElementById('frame-number').textContent,
            src: document.getElementById('frame-image').getAttribute('src'),
            truth: document.getElementById('truth-label').textContent,
            raw: document.getElementById('raw-label').textContent,
            smoothed: document.getElementById('smoothed-label').textContent,
        })"""
    )


def check_validation_frame(page: Any, demo: DemoFixture, name: str) -> int:
    """The shown frame's image and labels are those of the fixture; returns the frame index."""
    values = shown(page)
    index = int(values["frame"]) - FIRST_CROP
    assert values["src"].endswith(f"cropped_aligned/{name}/{index + FIRST_CROP:05d}.jpg")
    label = demo.truth[name][index]
    assert values["truth"] == (ABAW_CLASSES[label] if label >= 0 else "not annotated")
    assert values["raw"] == ABAW_CLASSES[demo.raw[name][index]]
    return index


def click_matrix_cell(page: Any, matrix: int, truth: int, predicted: int) -> None:
    """Click the heatmap cell (row ``truth``, column ``predicted``) where Plotly draws it."""
    x, y = page.evaluate(
        """([id, row, column]) => {
            const plot = document.getElementById(id);
            const box = plot.getBoundingClientRect();
            const xaxis = plot._fullLayout.xaxis, yaxis = plot._fullLayout.yaxis;
            return [box.left + xaxis._offset + xaxis.l2p(column), box.top + yaxis._offset + yaxis.l2p(row)];
        }""",
        [f"matrix-{matrix}", truth, predicted],
    )
    page.mouse.click(x, y)


def test_a_confusion_cell_lists_its_frames_and_links_to_them(page: Any, demo: DemoFixture, review_site: Path) -> None:
    open_page(page, review_site / "index.html")
    counts = np.zeros((NUM_CLASSES, NUM_CLASSES), int)
    for name, truth in demo.truth.items():
        annotated = truth >= 0
        np.add.at(counts, (truth[annotated], demo.raw[name][annotated]), 1)
    wrong = counts * (1 - np.eye(NUM_CLASSES, dtype=int))
    truth, predicted = np.unravel_index(wrong.argmax(), wrong.shape)  # the largest confusion
    click_matrix_cell(page, 0, int(truth), int(predicted))
    page.wait_for_selector("#cell-frames[data-ready='1']")
    listed = page.eval_on_selector_all(
        "#cell-list li", "items => items.map(i => [i.dataset.video, Number(i.dataset.first), Number(i.dataset.count)])"
    )
    assert [tuple(item) for item in listed] == expected_spans(demo, int(truth), int(predicted))
    assert page.text_content("#cell-title").endswith(f"{counts[truth, predicted]} frames in {len(listed)} runs")

    name, first, _ = listed[0]
    page.click("#cell-list li:first-child a")
    page.wait_for_selector("body.video[data-ready='1']")
    assert check_validation_frame(page, demo, name) == first - FIRST_CROP
    assert shown(page)["raw"] == ABAW_CLASSES[predicted] and shown(page)["truth"] == ABAW_CLASSES[truth]
    assert page.eval_on_selector("#raw-row", "row => row.classList.contains('wrong')")


def test_scrubbing_and_arrow_keys_show_each_frame_with_its_labels(page: Any, demo: DemoFixture, review_site: Path) -> None:
    name = "w1"
    open_page(page, review_site / "videos" / f"validation-{name}.html")
    assert check_validation_frame(page, demo, name) == 0
    timeline = page.locator("#timeline").bounding_box()
    middle_y = timeline["y"] + 10
    page.mouse.move(timeline["x"] + timeline["width"] - 2, middle_y)
    page.mouse.down()
    page.mouse.move(timeline["x"] + LANES_LEFT + (timeline["width"] - LANES_LEFT - LANES_RIGHT) * 0.5 + 0.5, middle_y, steps=5)
    page.mouse.up()
    index = check_validation_frame(page, demo, name)
    assert index == VALIDATION[name] // 2

    for key, step in (("ArrowRight", 1), ("ArrowRight", 1), ("ArrowRight", 1), ("ArrowLeft", -1), ("Shift+ArrowRight", 10)):
        page.keyboard.press(key)
        index += step
        assert check_validation_frame(page, demo, name) == index
    page.keyboard.press("End")
    assert check_validation_frame(page, demo, name) == VALIDATION[name] - 1
    assert page.evaluate("location.hash") == f"#frame={VALIDATION[name]}"
    page.wait_for_function("document.getElementById('frame-image').complete")
    assert page.evaluate("document.getElementById('frame-image').naturalWidth") == 32


def test_a_missing_frame_image_shows_a_placeholder_naming_the_file(page: Any, demo: DemoFixture, review_site: Path) -> None:
    number = demo.missing_crop + FIRST_CROP
    open_page(page, review_site / "videos" / f"validation-{MISSING_CROP}.html")
    page.evaluate(f"location.hash = 'frame={number}'")
    page.wait_for_selector("#frame-missing:not([hidden])")
    text = page.text_content("#frame-missing")
    assert text.startswith("missing frame image: ") and text.endswith(f"cropped_aligned/{MISSING_CROP}/{number:05d}.jpg")
    assert page.is_hidden("#frame-image")
    check_validation_frame(page, demo, MISSING_CROP)

    faceless = int(np.flatnonzero(~demo.has_face[MISSING_CROP])[0]) + FIRST_CROP
    page.evaluate(f"location.hash = 'frame={faceless}'")
    page.wait_for_function(f"document.getElementById('frame-missing').textContent.includes('{faceless:05d}.jpg')")
    assert page.text_content("#frame-missing").startswith("no face image for this frame")
    with_face = int(np.flatnonzero(demo.has_face[MISSING_CROP])[0]) + FIRST_CROP
    page.evaluate(f"location.hash = 'frame={with_face}'")
    page.wait_for_selector("#frame-image:not([hidden])")
    assert page.is_hidden("#frame-missing")


def test_a_predicted_video_shows_its_extracted_frames_labels_and_face_box(page: Any, demo: DemoFixture, review_site: Path) -> None:
    open_page(page, review_site / "videos" / "predict-clip.html")
    table = demo.clip_table
    for frame in (5, CLIP_NO_FACE[0], 30):
        page.evaluate(f"location.hash = 'frame={frame}'")
        page.wait_for_function(f"document.getElementById('frame-number').textContent === '{frame}'")
        page.wait_for_function("document.getElementById('frame-image').complete")
        values = shown(page)
        assert values["src"] == f"../frames/clip/{frame:06d}.jpg"
        assert page.evaluate("document.getElementById('frame-image').naturalWidth") == 320
        assert values["truth"] == ABAW_CLASSES[demo.clip_truth[frame]]
        assert values["raw"] == ABAW_CLASSES[table["raw_label"].iloc[frame]]
        assert values["smoothed"] == table["label_name"].iloc[frame]
        no_face = frame in CLIP_NO_FACE
        assert page.is_hidden("#face-box") == no_face
        assert page.text_content("#face-state").startswith("no face") == no_face
    box = page.locator("#face-box").bounding_box()
    image = page.locator("#frame-image").bounding_box()
    assert abs((box["x"] - image["x"]) / image["width"] - (40 + 2 * 30) / 320) < 0.01



def test_without_a_browser_the_tests_skip_unless_one_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRED, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        no_browser("no chromium")
    monkeypatch.setenv(REQUIRED, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRED}=1 but no chromium"):
        no_browser("no chromium")
