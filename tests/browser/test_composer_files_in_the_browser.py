"""The composer's files in Chromium: attach, list, remove, insert an inline image, reload."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from sequencer.clock import system_clock
from sequencer.sequences import attachments, authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Sequence

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
SHOTS = "/tmp/composer-files-{}.png"


def _png(width: int = 120, height: int = 60, rgb: tuple[int, int, int] = (37, 99, 235)) -> bytes:
    """A solid-colour PNG, so a shown image is visibly there."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\0" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def violations(page: Page) -> Iterator[list[str]]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", on_console)
    yield found


def _stored(sequence: Sequence) -> dict:
    return authoring.draft_snapshot(Sequence.objects.get(pk=sequence.pk))["steps"][0]


def _image_shown(page: Page) -> None:
    image = page.get_by_role("textbox", name="Body").locator("img.inline-image")
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('img.inline-image');"
        " return i && i.complete && i.naturalWidth === 120; }"
    )


def test_files_are_attached_listed_removed_and_an_image_inserted_and_kept_after_reload(
    live_server, page: Page, admin, sign_in, axe, violations
):
    sequence = authoring.create_sequence(
        admin,
        name="Files",
        steps=[StepInput(subject="Hello", body_html="<p>Hello</p>")],
        clock=system_clock,
    )
    sign_in(admin)
    # Playwright turns file chooser interception on without waiting for it: turned on
    # here, well before the first chooser opens, or that one may open unseen.
    page.on("filechooser", lambda chooser: None)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")
    attach = page.get_by_role("button", name="Attach file")
    expect(attach).to_be_visible()
    expect(page.get_by_text("Attachments: up to 10 MB each, 25 MB per email.")).to_be_visible()

    # From the keyboard: Tab from the body past {x} to the paperclip, Enter opens the chooser.
    page.get_by_role("textbox", name="Body").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(attach).to_be_focused()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    with page.expect_response(lambda r: r.url.endswith("/save/")):
        chooser.value.set_files(
            {"name": "brochure.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 x"}
        )
    files = page.get_by_role("list", name="Attachments of email 1")
    expect(files.get_by_role("listitem")).to_have_count(1)
    expect(files).to_contain_text("brochure.pdf")
    expect(files).to_contain_text("10 bytes")

    with page.expect_file_chooser() as chooser:
        attach.click()
    with page.expect_response(lambda r: r.url.endswith("/save/")):
        chooser.value.set_files(
            {"name": "price list.csv", "mimeType": "text/csv", "buffer": b"a,b"}
        )
    expect(files.get_by_role("listitem")).to_have_count(2)

    # A refusal is said next to the control, in words; nothing is added.
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files({"name": "empty.txt", "mimeType": "text/plain", "buffer": b""})
    expect(page.locator("#steps-0-files-error")).to_have_text("The file is empty; choose another.")
    expect(files.get_by_role("listitem")).to_have_count(2)

    with page.expect_response(lambda r: r.url.endswith("/save/")):
        page.get_by_role("button", name="Remove brochure.pdf").click()
    expect(files.get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_role("button", name="Remove price list.csv")).to_be_focused()

    page.get_by_role("textbox", name="Body").click()
    page.keyboard.press("End")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Insert image").click()
    with page.expect_response(lambda r: r.url.endswith("/save/")):
        chooser.value.set_files({"name": "logo.png", "mimeType": "image/png", "buffer": _png()})
    _image_shown(page)
    expect(page.locator("#steps-0-files-error")).to_be_hidden()
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    axe("composer with an attachment and an inline image")
    page.screenshot(path=SHOTS.format("wide"), full_page=True)

    step = _stored(sequence)
    logo = attachments.usable_by(admin).get(inline=True)
    assert step["body_html"] == f'<p>Hello<img src="cid:{logo.content_id}" alt="logo"></p>'
    assert [a.name for a in attachments.usable_by(admin).filter(pk__in=step["attachment_ids"])] == [
        "price list.csv"
    ]

    page.reload()
    expect(page.get_by_role("button", name="Remove price list.csv")).to_be_visible()
    expect(page.get_by_role("button", name="Remove brochure.pdf")).to_have_count(0)
    _image_shown(page)
    page.set_viewport_size(NARROW)
    page.screenshot(path=SHOTS.format("narrow"), full_page=True)
    axe("composer with files, narrow")
    assert violations == []


def test_a_body_with_a_cid_image_written_through_the_api_shows_it_and_saves_unchanged(
    live_server, page: Page, admin, sign_in, violations
):
    logo = attachments.upload(admin, name="logo.png", content_type="", data=_png(), inline=True)
    sequence = authoring.create_sequence(
        admin,
        name="Round trip",
        steps=[
            StepInput(
                subject="Hello",
                body_html=f'<p>Our logo: <img src="cid:{logo.content_id}"> and more.</p>',
            )
        ],
        clock=system_clock,
    )
    stored = _stored(sequence)["body_html"]
    sign_in(admin)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")

    _image_shown(page)
    expect(page.get_by_text("edited as HTML")).to_be_hidden()
    page.get_by_label("Description").fill("Saved without touching the body")
    expect(page.locator("#save-state")).to_contain_text("all changes saved")
    page.get_by_role("button", name="Publish sequence").click()
    expect(page.locator("#save-state")).to_contain_text("Live · version 1")

    assert _stored(sequence)["body_html"] == stored
    version = authoring.latest_version(Sequence.objects.get(pk=sequence.pk))
    assert version is not None and version.steps[0]["inline_image_ids"] == [logo.pk]
    assert violations == []


def test_a_read_only_member_sees_the_files_without_the_controls(
    live_server, page: Page, admin, make_member, sign_in, axe
):
    from sequencer.sequences import access

    pdf = attachments.upload(admin, name="brochure.pdf", content_type="", data=b"%PDF")
    sequence = authoring.create_sequence(
        admin,
        name="Shared",
        steps=[StepInput(subject="Hello", body_html="<p>Hi</p>", attachment_ids=[pdf.pk])],
        clock=system_clock,
    )
    reader = make_member(name="Rita Reader")
    access.set_access(
        sequence,
        workspace_access="no_access",
        members=[(reader.pk, "read_only")],
        teams=[],
    )
    sign_in(reader)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")

    link = page.get_by_role("link", name="brochure.pdf")
    expect(link).to_be_visible()
    expect(page.get_by_role("button", name="Attach file")).to_have_count(0)
    expect(page.get_by_role("button", name="Insert image")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove brochure.pdf")).to_have_count(0)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "brochure.pdf"
    axe("read-only composer with a file")


def test_a_body_edited_as_html_still_takes_files_and_images(
    live_server, page: Page, admin, sign_in
):
    body = "<table><tr><td>Price list</td></tr></table>"
    sequence = authoring.create_sequence(
        admin, name="Raw", steps=[StepInput(subject="Hello", body_html=body)], clock=system_clock
    )
    sign_in(admin)
    page.on("filechooser", lambda chooser: None)
    page.goto(live_server.url + f"/sequences/{sequence.pk}/")

    expect(page.get_by_text("edited as HTML to keep it intact")).to_be_visible()
    expect(page.get_by_role("button", name="Insert variable")).to_be_hidden()
    source = page.get_by_label("Body")
    source.focus()
    page.keyboard.press("Control+End")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Insert image").click()
    with page.expect_response(lambda r: r.url.endswith("/save/")):
        chooser.value.set_files({"name": "logo.png", "mimeType": "image/png", "buffer": _png()})

    logo = attachments.usable_by(admin).get(inline=True)
    expect(source).to_have_value(f"{_stored(sequence)['body_html']}")
    assert _stored(sequence)["body_html"].endswith(f'<img src="cid:{logo.content_id}" alt="logo">')
    assert _stored(sequence)["inline_image_ids"] == [logo.pk]
