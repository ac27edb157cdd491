"""Whether a person's reply asks to stop receiving emails.

Looked for in the *new* text of a reply only (see :mod:`.quoting`): a quoted footer of
our own email ("unsubscribe here") must never count. The phrases are English plus the
common German, French, Spanish, Dutch and Italian forms: "unsubscribe", "remove me",
"stop emailing me", "not interested", "bitte austragen", "désabonnez-moi", "darme de
baja", "no me interesa"… Matching ignores case and accents, so "desinscrire" and
"désinscrire" are the same.

A phrase preceded by a negation that reverses it ("don't unsubscribe me", "do not
remove me") does not count. Short replies that are a single stop word ("Stop", "STOP.",
"Remove", "Unsubscribe") count.
"""

from __future__ import annotations

import re
import unicodedata

#: Most characters of new text searched.
MAX_TEXT = 20_000

_PHRASES = [
    # English
    r"unsubscribe",
    r"unsub\b",
    r"opt(?:\s|-)?(?:me\s+)?out\b",
    r"remove\s+(?:me|my\s+(?:e-?mail|address|name|details))\b",
    r"take\s+me\s+off\b",
    r"(?:delete|drop)\s+me\s+from\b",
    r"stop\s+(?:e-?mailing|mailing|contacting|sending|writing|messaging|spamming|bugging)\b",
    r"(?:do\s+not|don'?t|never)\s+(?:e-?mail|contact|message|write\s+to|write)\s+me\b",
    r"no\s+(?:more|further)\s+(?:e-?mails|emails|messages|contact)\b",
    r"no\s+longer\s+(?:wish|want|like)\s+to\s+(?:receive|hear|be\s+contacted)\b",
    r"not\s+interested\b",
    r"no\s+interest\b",
    r"leave\s+me\s+alone\b",
    r"please\s+stop\b",
    # German
    r"abmelden\b",
    r"abbestellen\b",
    r"austragen\b",
    r"tragen\s+sie\s+mich\b.{0,40}\baus\b",
    r"(?:aus|von)\s+(?:dem|ihrem|eurem|deinem|diesem)\s+(?:e-?mail-?)?verteiler\b",
    r"(?:aus|von)\s+(?:der|ihrer|eurer)\s+(?:e-?mail-?)?(?:liste|mailingliste)\b",
    r"entfernen\s+sie\s+mich\b",
    r"keine\s+(?:weiteren\s+)?(?:e-?mails|mails|nachrichten|werbung)\b",
    r"kein\s+interesse\b",
    r"nicht\s+interessiert\b",
    r"nicht\s+mehr\s+(?:kontaktieren|anschreiben|schreiben|zusenden|mailen)\b",
    # French
    r"desabonn",
    r"desinscri",
    r"retirez[-\s]moi\b",
    r"supprimez[-\s]moi\b",
    r"ne\s+(?:plus\s+)?me\s+(?:plus\s+)?(?:contacter|ecrire|envoyer|solliciter)\b",
    r"ne\s+souhaite\s+plus\s+(?:recevoir|etre\s+contacte)",
    r"pas\s+interess",
    r"(?:cessez|arretez)\s+de\s+m",
    # Spanish
    r"(?:darme|dar|doy|deme|denme)\s+de\s+baja\b",
    r"\bbaja\s+de\s+(?:la|su|esta)\s+lista\b",
    r"no\s+me\s+interesa\b",
    r"no\s+estoy\s+interesad[oa]\b",
    r"(?:eliminen|elimine|eliminar|borren|borrar|quiten|quitar|saquen|sacar)me\s+de\b",
    r"no\s+me\s+(?:escriba|escriban|contacte|contacten|envie|envien|vuelva|vuelvan)\b",
    r"dej(?:e|en|a)\s+de\s+(?:escribirme|enviarme|contactarme|mandarme)\b",
    # Dutch
    r"afmelden\b",
    r"uitschrijven\b",
    r"geen\s+interesse\b",
    r"niet\s+geinteresseerd\b",
    r"haal\s+mij\s+(?:van|uit)\b",
    # Italian
    r"disiscriv",
    r"cancellami\b",
    r"non\s+(?:sono|siamo)\s+interessat[oaie]\b",
    r"non\s+mi\s+interessa\b",
    r"(?:rimuovetemi|rimuovermi|toglietemi)\b",
]
_STOP = re.compile(r"\b(?:" + "|".join(_PHRASES) + ")", re.IGNORECASE)
_NEGATED = re.compile(
    r"(?:don'?t|do\s+not|never)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)
_LONE_WORD = re.compile(r"^\W*(?:stop|remove|unsubscribe|unsub|baja|stopp|arret|halt)\W*$", re.I)
# Phrases that begin with their own negation are not reversed by it.
_SELF_NEGATING = re.compile(r"^(?:do\s+not|don'?t|never|no\b|not\b|ne\b|nicht|kein|geen)", re.I)


_COMBINING = re.compile(r"[\u0300-\u036f]+")


def fold(text: str) -> str:
    """``text`` lower-cased, accents removed, typographic apostrophes made plain."""
    if text.isascii():
        return text.lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()


def asks_to_stop(new_text: str) -> bool:
    """Whether ``new_text`` (a reply's own words, quotes removed) asks to stop."""
    text = fold(new_text[:MAX_TEXT])
    if _LONE_WORD.match(text):
        return True
    for match in _STOP.finditer(text):
        if _SELF_NEGATING.match(match.group(0)):
            return True
        before = text[max(0, match.start() - 30) : match.start()]
        if _NEGATED.search(before):
            continue
        return True
    return False
