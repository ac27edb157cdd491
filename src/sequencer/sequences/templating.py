"""Liquid templates for subjects and bodies: a sandbox, checks before publishing, rendering.

Standard variables are plain Liquid: ``{{ person.first_name | default: "there" }}``.

AI variables are a block tag whose body is the prompt::

    {% ai %}One friendly sentence about {{ company.name }}'s latest news.{% endai %}
    {% ai fallback: "I hope the quarter is going well." %}...{% endai %}

The prompt is ordinary template text, so standard variables inside it are checked like
any other and filled in before the prompt is sent to a model. ``fallback`` is what the
email says when no text could be written. The text comes through the ``ai_generator``
argument of :func:`render`: a plain callable of the prompt, or an :class:`AiResolver`
(``sequencer.ai.variables``: stored text, written by a model ahead of time).

The environment is a sandbox: no ``include``/``render`` (there are no partials to
load), and limits on loops, output size and nesting so that one template cannot stall
a worker. HTML bodies are autoescaped; subjects are plain text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from html import unescape as html_unescape
from typing import TYPE_CHECKING, Any, Protocol, TextIO, runtime_checkable

from liquid import BoundTemplate, Environment, RenderContext, Undefined, escape
from liquid.ast import BlockNode, Node
from liquid.builtin.expressions import StringLiteral
from liquid.builtin.expressions.arguments import parse_arguments
from liquid.exceptions import LiquidError, LiquidSyntaxError, UndefinedError
from liquid.parser import get_parser
from liquid.tag import Tag
from liquid.token import TOKEN_EOF, TOKEN_EXPRESSION, TOKEN_TAG, Token

from sequencer.domain.errors import InvalidInput
from sequencer.domain.variables import VariableCatalog, check_variable
from sequencer.sequences import liquid_lexer
from sequencer.sequences.template_limits import bounded_filters, static_problems

if TYPE_CHECKING:
    from liquid.stream import TokenStream

AI_TAG = "ai"
AI_END_TAG = "endai"
# The render-time global through which a generator of AI text is handed to AI nodes.
# A colon cannot appear in a Liquid name, so no template can read or replace it.
AI_GENERATOR_KEY = "ai:generator"
# Set when rendering to send (or to preview what is sent): a slot without text and
# without a fallback then stops the email instead of vanishing from it.
AI_REQUIRED_KEY = "ai:required"

AiGenerator = Callable[[str], "str | None"]


@runtime_checkable
class AiResolver(Protocol):
    """Finds a slot's text knowing its fallback and whether the email is being sent.

    The richer alternative to an :data:`AiGenerator`: it may raise :class:`AiTextMissing`
    itself (with a reason) to hold an email even when the slot has a fallback, e.g.
    while the text is still to be written.
    """

    def resolve(self, prompt: str, *, fallback: str, required: bool) -> str | None: ...


_inside_ai: ContextVar[bool] = ContextVar("inside_ai", default=False)


class AiNode(Node):
    """``{% ai %}prompt{% endai %}``: text generated per recipient from ``prompt``."""

    __slots__ = ("block", "fallback", "prompt_source")

    def __init__(self, token: Token, block: BlockNode, fallback: str, prompt_source: str):
        super().__init__(token)
        self.block = block
        self.fallback = fallback
        self.prompt_source = prompt_source
        self.blank = False

    def __str__(self) -> str:
        return f"{{% ai fallback: {self.fallback!r} %}}{self.prompt_source}{{% endai %}}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        generator = context.globals.get(AI_GENERATOR_KEY)
        required = bool(context.globals.get(AI_REQUIRED_KEY))
        text: str | None = None
        if isinstance(generator, AiResolver) or callable(generator):
            prompt = context.get_buffer(buffer)
            self.block.render(context, prompt)
            # In an HTML body the prompt and the fallback are HTML text ("R&amp;D", values
            # escaped); a model reads, and a resolver stores, plain text.
            plain = html_unescape if context.autoescape else str
            written = plain(prompt.getvalue())
            if isinstance(generator, AiResolver):
                text = generator.resolve(written, fallback=plain(self.fallback), required=required)
            else:
                text = generator(written)
        if text is None:
            if not self.fallback and required:
                raise AiTextMissing()
            # The fallback is template source: in an HTML body it is HTML already, as a
            # default: "..." string is (the composer stores "R&D" as "R&amp;D").
            return buffer.write(self.fallback)
        # Generated text is untrusted like any attribute value: escaped in HTML bodies.
        return buffer.write(str(escape(text)) if context.autoescape else text)

    def children(
        self, static_context: RenderContext, *, include_partials: bool = True
    ) -> Iterable[Node]:
        # Exposing the prompt to static analysis is what makes its variables checked.
        yield self.block


class AiTag(Tag):
    name = AI_TAG
    end = AI_END_TAG
    block = True

    def parse(self, stream: TokenStream) -> AiNode:
        token = stream.eat(TOKEN_TAG)
        fallback = ""
        if stream.current.kind == TOKEN_EXPRESSION:
            tokens = stream.into_inner(tag=token)
            positional, keywords = parse_arguments(self.env, tokens)
            tokens.expect_eos()
            if positional:
                raise LiquidSyntaxError(
                    'the ai tag takes only fallback: "text", with the prompt between '
                    "{% ai %} and {% endai %}",
                    token=token,
                )
            for argument in keywords:
                if argument.name != "fallback" or not isinstance(argument.value, StringLiteral):
                    raise LiquidSyntaxError(
                        f'unknown ai option {argument.name!r}; only fallback: "text" is allowed',
                        token=argument.token,
                    )
                fallback = argument.value.value
        if _inside_ai.get():
            raise LiquidSyntaxError("an AI variable cannot contain another one", token=token)
        reset = _inside_ai.set(True)
        try:
            block = get_parser(self.env).parse_block(stream, (AI_END_TAG, TOKEN_EOF))
        finally:
            _inside_ai.reset(reset)
        end = stream.expect(TOKEN_TAG, value=AI_END_TAG)
        return AiNode(token, block, fallback, _between_tags(token, end))


def _between_tags(start: Token, end: Token) -> str:
    """The source text after the ``{% ai ... %}`` tag and before ``{% endai %}``."""
    source = start.source
    opened = source.find("%}", start.start_index)
    closed = source.rfind("{%", 0, end.start_index)
    if opened < 0 or closed < 0:
        return ""
    return source[opened + 2 : closed]


class SandboxedEnvironment(Environment):
    # Limits sized for emails: generous for any real message, fatal for a runaway loop.
    loop_iteration_limit = 1_000
    output_stream_limit = 2 * 1024 * 1024
    context_depth_limit = 10
    local_namespace_limit = 256 * 1024

    def tokenizer(self) -> Callable[[str], Iterator[Token]]:
        # python-liquid's own lexer is quadratic on text such as "{{{{{{..." (see
        # liquid_lexer); this one finds the same tokens in linear time.
        return liquid_lexer.tokenize

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        # Partials would read templates from a loader; sequence emails have none. The
        # "liquid" tag is another spelling of the other tags whose line lexer is
        # quadratic on long runs of blanks.
        for name in ("include", "render", "liquid"):
            self.tags.pop(name, None)
        self.add_tag(AiTag)
        # Ranges and what filters build are bounded; loops and output are by the limits.
        self.filters = bounded_filters(self.filters)


class MissingValue(Undefined):
    """An empty record value printed without a fallback.

    At send time empty values are left out of the data, so they are undefined here.
    Testing one (``{% if person.job_title %}``) or giving it a fallback
    (``| default: "..."``) is fine; printing it is an error, because an email reading
    "Hi ," is worse than one not sent: the recipient is marked failed and can be resumed
    once the record is fixed.
    """

    def __str__(self) -> str:
        # Liquid names only the root ("company"); its hint names the whole path.
        hint = self.hint or ""
        name = hint.removesuffix(" is undefined").strip("'") if hint else self.name
        raise UndefinedError(f"{name} is empty and has no fallback", token=self.token)


class RenderError(Exception):
    """One recipient's email cannot be rendered; the message says what to fix.

    The engine fails that one recipient with the message and carries on with the others:
    a broken template or record never stalls sending.
    """


class AiTextMissing(RenderError):
    """An ``{% ai %}`` slot has no generated text for this recipient yet, and no fallback.

    Such an email is never sent with the slot left empty: the recipient waits, showing
    this message, until the text exists. ``step`` is 0-based; rendering one template
    alone does not know it (``None``), :func:`~sequencer.sequences.rendering.render_step`
    does. ``reason`` says why the text could not be written, when an attempt was made
    ("the model wrote a greeting (3 tries)").
    """

    def __init__(self, step: int | None = None, reason: str | None = None) -> None:
        which = "This email" if step is None else f"Step {step + 1}"
        if reason:
            message = (
                f"{which} waits: its AI text could not be written for this recipient: "
                f"{reason}. It is tried again later."
            )
        else:
            message = (
                f"{which} has an AI slot whose text has not been written for this "
                "recipient yet; the email waits until it is."
            )
        super().__init__(message)
        self.step = step
        self.reason = reason


class MissingVariable(RenderError):
    """A printed variable had no value and no fallback (see :class:`MissingValue`)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name} is empty for this recipient and has no fallback: fill it in on the "
            f'record, or give it one with | default: "...", then resume the recipient.'
        )
        self.name = name


_HTML_ENV = SandboxedEnvironment(autoescape=True)
_TEXT_ENV = SandboxedEnvironment(autoescape=False)
_HTML_SEND_ENV = SandboxedEnvironment(autoescape=True, undefined=MissingValue)
_TEXT_SEND_ENV = SandboxedEnvironment(autoescape=False, undefined=MissingValue)


def environment(*, html: bool, strict: bool = False) -> Environment:
    if strict:
        return _HTML_SEND_ENV if html else _TEXT_SEND_ENV
    return _HTML_ENV if html else _TEXT_ENV


@dataclass(frozen=True)
class TemplateError:
    """Why a template cannot be published, with its 1-based line when one is known."""

    code: str
    message: str
    line: int | None = None

    def as_invalid_input(self, field: str) -> InvalidInput:
        where = f" (line {self.line})" if self.line else ""
        return InvalidInput(f"{self.message}{where}", field=field, code=self.code)


class _CompileCache:
    """Compiled templates by source, failures included, least recently used first out.

    Every read of a sequence, preview and send would otherwise parse the same sources
    again, and a source that does not compile would be parsed again every time. Bounded
    by entries and by the characters of the sources kept, so it cannot hoard memory.
    """

    def __init__(self, *, max_entries: int, max_chars: int) -> None:
        self._entries: OrderedDict[tuple[str, bool, bool], BoundTemplate | LiquidError]
        self._entries = OrderedDict()
        self._max_entries = max_entries
        self._max_chars = max_chars
        self._chars = 0
        self._lock = threading.Lock()
        self.compiles = 0  # how many times a source was really parsed (for tests)

    def get(self, source: str, html: bool, strict: bool) -> BoundTemplate:
        key = (source, html, strict)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
        if found is None:
            found = self._compile(source, html, strict)
            self._keep(key, found)
        if isinstance(found, LiquidError):
            # A fresh traceback each time; the cached error is not changed by raising.
            raise found.with_traceback(None)
        return found

    def _compile(self, source: str, html: bool, strict: bool) -> BoundTemplate | LiquidError:
        self.compiles += 1
        try:
            return environment(html=html, strict=strict).from_string(source)
        except LiquidError as exc:
            return exc

    def _keep(self, key: tuple[str, bool, bool], value: BoundTemplate | LiquidError) -> None:
        size = len(key[0])
        if size > self._max_chars:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = value
            self._chars += size
            while len(self._entries) > self._max_entries or self._chars > self._max_chars:
                old, _ = self._entries.popitem(last=False)
                self._chars -= len(old[0])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = 0


_CACHE = _CompileCache(max_entries=1024, max_chars=32 * 1024 * 1024)


def compile_template(source: str, *, html: bool, strict: bool = False) -> BoundTemplate:
    """The parsed template; ``LiquidError`` when it does not compile (also cached)."""
    return _CACHE.get(source, html, strict)


def template_errors(source: str, *, html: bool, catalog: VariableCatalog) -> list[TemplateError]:
    """Everything that stops ``source`` from being published, in source order.

    Syntax errors come alone (nothing else can be analysed); otherwise unknown filters,
    empty AI prompts and unusable variables are all listed.
    """
    try:
        template = compile_template(source, html=html)
    except LiquidError as exc:
        return [_syntax_error(exc)]
    errors: list[tuple[int, TemplateError]] = []
    analysis = template.analyze(include_partials=False)
    filters = environment(html=html).filters
    for name, spans in analysis.filters.items():
        if name not in filters:
            index = spans[0].index
            errors.append(
                (
                    index,
                    TemplateError(
                        "unknown_filter",
                        f"{name!r} is not a filter; use default, upcase, capitalize, "
                        "or another standard Liquid filter",
                        _line(source, index),
                    ),
                )
            )
    for limit in static_problems(template.nodes, RenderContext(template)):
        line = _line(source, limit.index)
        errors.append((limit.index, TemplateError(limit.code, limit.message, line)))
    for node in _ai_nodes(template):
        if not node.prompt_source.strip():
            index = node.token.start_index
            errors.append(
                (
                    index,
                    TemplateError(
                        "empty_ai_prompt",
                        "an AI variable needs a prompt between {% ai %} and {% endai %}, "
                        "e.g. {% ai %}One sentence about {{ company.name }}{% endai %}",
                        _line(source, index),
                    ),
                )
            )
    reported: set[str] = set()
    for variables in analysis.globals.values():
        for variable in variables:
            problem = check_variable(variable.segments, catalog)
            if problem is None or problem.path in reported:
                continue
            reported.add(problem.path)
            index = variable.span.index
            errors.append(
                (index, TemplateError(problem.code, problem.message, _line(source, index)))
            )
    return [error for _, error in sorted(errors, key=lambda pair: pair[0])]


def check_template(source: str, *, html: bool, catalog: VariableCatalog, field: str) -> None:
    """Raise ``InvalidInput`` on ``field`` for the first thing that stops publishing."""
    errors = template_errors(source, html=html, catalog=catalog)
    if errors:
        raise errors[0].as_invalid_input(field)


def variable_paths(source: str) -> list[str]:
    """The standard variables ``source`` uses (``person.first_name``), sorted; [] if broken."""
    try:
        template = compile_template(source, html=False)
    except LiquidError:
        return []
    return sorted(template.global_variable_paths(include_partials=False))


def has_ai_slot_without_fallback(template_text: str) -> bool:
    """Whether an ``{% ai %}`` tag without ``fallback:`` is in the text (found from tags)."""
    return any(
        piece.lastgroup == "TAG"
        and piece.group("name") == AI_TAG
        and "fallback" not in piece.group("expr")
        for piece in liquid_lexer.pieces(template_text)
    )


def ai_prompts(template_text: str) -> list[str]:
    """The prompt of every AI variable in ``template_text``, in order, as written.

    Found from the tags alone, without compiling: reading a sequence shows its prompts
    and must stay cheap, and a draft being edited that does not compile still shows
    them. Tags inside comments and ``{% raw %}`` are not AI variables.
    """
    prompts: list[str] = []
    comments = 0
    opened: int | None = None
    for piece in liquid_lexer.pieces(template_text):
        if piece.lastgroup != "TAG":
            continue
        name = piece.group("name")
        if name == "comment":
            comments += 1
        elif name == "endcomment" and comments:
            comments -= 1
        elif comments:
            continue
        elif name == AI_TAG and opened is None:
            opened = piece.end()
        elif name == AI_END_TAG and opened is not None:
            prompts.append(template_text[opened : piece.start()])
            opened = None
    return prompts


def render(
    source: str,
    data: Mapping[str, Any],
    *,
    html: bool,
    ai_generator: AiGenerator | AiResolver | None = None,
    strict: bool = False,
) -> str:
    """``source`` rendered with ``data`` (``{"person": {...}, "company": {...}}``).

    An HTML result still needs :func:`sequencer.sequences.html.sanitize_html` with
    ``liquid=False``: string literals in a template are not escaped, and attribute
    values (a URL in ``href``) are only checked once they are known.

    Every failure is a :class:`RenderError` saying what to fix: a missing value
    (:class:`MissingVariable`), an AI slot without text when ``strict``
    (:class:`AiTextMissing`), or the template itself (a division by zero, a limit).
    """
    try:
        template = compile_template(source, html=html, strict=strict)
    except LiquidError as exc:
        raise RenderError(f"the template does not compile: {_describe(exc)}") from exc
    if strict:
        globals_: dict[str, Any] = {key: _without_empty(value) for key, value in data.items()}
        globals_[AI_REQUIRED_KEY] = True
    else:
        globals_ = dict(data)
    if ai_generator is not None:
        globals_[AI_GENERATOR_KEY] = ai_generator
    try:
        return template.render(**globals_)
    except RenderError:
        raise
    except UndefinedError as exc:
        if not strict:
            raise RenderError(_describe(exc)) from exc
        name = str(exc.message).removesuffix(" is empty and has no fallback")
        raise MissingVariable(name) from None
    except LiquidError as exc:
        raise RenderError(_describe(exc)) from exc
    except Exception as exc:
        # A filter can fail in ways python-liquid does not wrap (an overflow, a date it
        # cannot read); it is still this template's fault, never the engine's.
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc


def _describe(exc: LiquidError) -> str:
    """``exc``'s message with the line of the template it is about, when known."""
    token = exc.token
    line = _line(token.source, token.start_index) if token is not None else None
    where = f" (line {line})" if line else ""
    return f"{exc.message}{where}"


def _without_empty(value: Any) -> Any:
    """Record values with the empty ones left out, so that they render as missing."""
    if isinstance(value, Mapping):
        return {
            k: _without_empty(v)
            for k, v in value.items()
            if v is not None and not (isinstance(v, str) and not v.strip())
        }
    return value


def _ai_nodes(template: BoundTemplate) -> Iterator[AiNode]:
    context = RenderContext(template)

    def walk(nodes: Iterable[Node]) -> Iterator[AiNode]:
        for node in nodes:
            if isinstance(node, AiNode):
                yield node
            yield from walk(node.children(context, include_partials=False))

    return walk(template.nodes)


def _syntax_error(exc: LiquidError) -> TemplateError:
    message = str(exc.message)
    token = exc.token
    if token is None or token.start_index < 0:
        return TemplateError(
            "template_syntax",
            f"The template does not compile: {message} at the end of the template",
        )
    return TemplateError(
        "template_syntax",
        f"The template does not compile: {message}",
        _line(token.source, token.start_index),
    )


def _line(source: str, index: int) -> int | None:
    if index < 0 or index > len(source):
        return None
    return source.count("\n", 0, index) + 1


def render_html_body(
    source: str,
    data: Mapping[str, Any],
    *,
    ai_generator: AiGenerator | AiResolver | None = None,
    strict: bool = False,
) -> str:
    """A body rendered for one recipient and cleaned again, ready to send or preview.

    ``strict`` (at send time and in previews) raises :class:`MissingVariable` for an
    empty value printed without a fallback.
    """
    from sequencer.sequences.html import sanitize_html

    rendered = render(source, data, html=True, ai_generator=ai_generator, strict=strict)
    return sanitize_html(rendered, liquid=False)


def render_subject(
    source: str,
    data: Mapping[str, Any],
    *,
    ai_generator: AiGenerator | AiResolver | None = None,
    strict: bool = False,
) -> str:
    """A subject rendered for one recipient, on one line."""
    from sequencer.domain.sequence_rules import clean_subject

    return clean_subject(render(source, data, html=False, ai_generator=ai_generator, strict=strict))
