"""Naming an untitled sequence: what the model is shown, how its answer is judged, and the
title made from the first subject when no model helps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.sequence_naming import (
    MAX_BODY_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_STEPS_SHOWN,
    MAX_SUBJECT_CHARS,
    MAX_TITLE_CHARS,
    SYSTEM,
    Naming,
    StepText,
    build_request,
    description_problem,
    fallback_title,
    judge,
    title_problem,
)

STEPS = [
    StepText(
        "Quick question about {{ company.name }}",
        "<p>Hi {{ person.first_name }},</p><p>We help <b>sales teams</b> book more demos.</p>",
    ),
    StepText("", "<p>Just following up on my last email.</p>"),
]


def test_the_model_is_shown_each_email_as_plain_text_without_template_tags():
    request = build_request(STEPS)
    system, user = request.messages
    assert system.role == "system" and "Title:" in system.content
    assert "Email 1\nSubject: Quick question about\nHi, We help sales teams book more demos." in (
        user.content
    )
    assert "{{" not in user.content and "<b>" not in user.content
    assert "Email 2" in user.content and "Just following up" in user.content


def test_each_attempt_asks_with_its_own_seed():
    assert build_request(STEPS, attempt=0).seed != build_request(STEPS, attempt=1).seed


def test_a_well_formed_answer_gives_a_title_and_a_one_sentence_description():
    answer = "Title: Demo booking outreach\nDescription: Invites sales leads to book a demo"
    assert judge(answer) == Naming("Demo booking outreach", "Invites sales leads to book a demo.")


def test_quotes_markdown_and_a_trailing_period_around_the_title_are_taken_off():
    answer = '**Title:** "Spring renewals."\n**Description:** Reminds customers to renew.'
    assert judge(answer) == Naming("Spring renewals", "Reminds customers to renew.")


def test_an_answer_without_labels_is_read_line_by_line():
    assert judge("Webinar follow-up\nThanks attendees and shares the recording.") == Naming(
        "Webinar follow-up", "Thanks attendees and shares the recording."
    )


def test_a_title_with_a_placeholder_or_too_long_is_refused():
    assert judge("Title: Outreach to {{ company }}") is None
    assert judge("Title: Outreach to [Company]") is None
    assert judge("Title: " + "word " * 20) is None
    assert judge("") is None
    assert judge("Title: Untitled Sequence") is None


def test_a_description_of_two_sentences_is_dropped_but_the_title_kept():
    answer = "Title: Onboarding\nDescription: Welcomes new users. Then asks for feedback."
    assert judge(answer) == Naming("Onboarding", "")


def test_the_fallback_is_the_first_subject_trimmed_and_cleaned():
    assert fallback_title(STEPS) == "Quick question about"
    assert fallback_title([StepText('  "Hello"  there. ', "")]) == "Hello there"
    long = "A subject that goes on and on about everything the product can do for you today"
    title = fallback_title([StepText(long, "")])
    assert len(title) <= MAX_TITLE_CHARS and long.startswith(title) and not title.endswith(" ")


def test_a_subject_made_only_of_variables_gives_no_fallback_title():
    assert fallback_title([StepText("{{ person.first_name }}", "")]) == ""
    assert fallback_title([]) == ""


def _obeys_title_rules(title: str) -> None:
    assert title_problem(title) is None
    assert 0 < len(title) <= MAX_TITLE_CHARS
    assert "\n" not in title and not title.endswith(".")
    assert not any(q in title for q in '"“”«»')
    assert not any(c in title for c in "{}[]<>")


steps = st.lists(st.builds(StepText, st.text(max_size=400), st.text(max_size=3000)), max_size=12)


@given(st.text(max_size=600))
def test_judging_any_answer_is_total_and_a_usable_one_obeys_the_rules(raw):
    naming = judge(raw)
    if naming is None:
        return
    _obeys_title_rules(naming.title)
    assert description_problem(naming.description) is None
    assert len(naming.description) <= MAX_DESCRIPTION_CHARS


@given(
    st.lists(
        st.sampled_from(
            [
                "Title:",
                "Description:",
                "**",
                '"',
                "Hello",
                "world",
                ".",
                "{{ x }}",
                "\n",
                " ",
                "...",
                "XX",
                "Sales",
            ]
        ),
        max_size=30,
    )
)
def test_answers_near_the_expected_shape_are_judged_by_the_same_rules(parts):
    naming = judge("".join(parts))
    if naming is not None:
        _obeys_title_rules(naming.title)
        assert description_problem(naming.description) is None


@given(steps)
def test_the_request_is_bounded_whatever_the_sequence_holds(given_steps):
    request = build_request(given_steps)
    size = sum(len(m.content) for m in request.messages)
    per_email = MAX_SUBJECT_CHARS + MAX_BODY_CHARS + 40
    assert size <= len(SYSTEM) + 100 + MAX_STEPS_SHOWN * per_email
    assert request.max_tokens <= 120


@given(steps)
def test_the_fallback_title_is_empty_or_obeys_the_title_rules(given_steps):
    title = fallback_title(given_steps)
    if title:
        _obeys_title_rules(title)


@given(st.from_regex(r"[A-Z][a-z]{2,10}( [a-z]{2,10}){0,4}", fullmatch=True))
def test_a_plain_short_subject_is_its_own_fallback_title(subject):
    if title_problem(subject) is None:
        assert fallback_title([StepText(subject, "")]) == subject
