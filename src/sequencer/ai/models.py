"""AI text as written for each recipient, and every attempt to write it.

:class:`AiText` is what makes a preview and the send agree: the text of one slot of one
step of one published version for one person, keyed also by the digest of what it was
written from (``domain.ai_context.slot_digest``). The first text stored for a key is the
one every later render uses; a unique constraint makes two writers (two workers, a
preview and a worker) keep one row.

Slots are numbered per field: a step's subject has slots 0, 1, ... in the order they
render, and its body has its own 0, 1, .... A threaded follow-up has no subject of its
own (it answers the first email's), so its slots are all in the body.

A row with an empty ``text`` records that writing failed for a slot without a fallback:
``problem`` says why, and nothing is tried again for that key before ``retry_at``. A slot
with a fallback whose text could not be written stores the fallback as its text
(``source`` ``fallback``), so that what was previewed is what is sent.

:class:`AiGeneration` is one call to a model, whatever it was for: the figures the
Settings page shows (latency, tokens, how often answers were unusable or calls failed).
"""

from __future__ import annotations

from django.db import models


class TextSource(models.TextChoices):
    MODEL = "model", "Written by the model"
    FALLBACK = "fallback", "The slot's fallback"


class AiText(models.Model):
    person = models.ForeignKey("crm.Person", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        "sequences.SequenceVersion", on_delete=models.CASCADE, related_name="+"
    )
    step = models.PositiveIntegerField()  # 0-based, as in the version's steps
    field = models.CharField(max_length=7)  # "subject" or "body"
    slot = models.PositiveIntegerField()  # 0-based within the field, in render order
    digest = models.CharField(max_length=64)
    # Empty until written: usable text is never empty (an empty answer is refused, and
    # only a non-empty fallback stands in).
    text = models.TextField(blank=True)
    source = models.CharField(max_length=8, choices=TextSource.choices, blank=True)
    model = models.CharField(max_length=200, blank=True)
    problem = models.TextField(blank=True)
    # Every attempt so far for this key: the next one gets a seed none of them had.
    attempts = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "version", "step", "field", "slot", "digest"],
                name="ai_text_one_per_slot",
            ),
            models.CheckConstraint(
                condition=models.Q(field__in=["subject", "body"]), name="ai_text_field"
            ),
        ]

    def __str__(self) -> str:
        return f"AI text of person {self.person_id}, step {self.step} {self.field} #{self.slot}"


class Outcome(models.TextChoices):
    OK = "ok", "Used"
    REJECTED = "rejected", "Unusable answer"
    FAILED = "failed", "No answer"


class AiGeneration(models.Model):
    provider = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    # How long the model took, as the provider measured it (or the clock, on failure).
    seconds = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="ai_generation_created")]

    def __str__(self) -> str:
        return f"{self.model} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M}"
