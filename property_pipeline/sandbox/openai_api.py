"""OpenAI's Chat Completions API as the `openai` SDK calls it, answering from the prompt itself.

No model runs here: the answer is read off the user's messages with plain patterns (unit
counts, tenure, lease length, condition, red-flag and motivated-seller phrases) and poured into
whatever JSON schema the request names, so structured outputs validate and carry values a test
can predict. The same request always gets the same answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.context import london_noon_epoch

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "gpt-5-mini")
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_SCHEMA_DEPTH = 16
# A recognised field whose value the prompt does not give (None) differs from a field this
# reader does not know at all (MISSING), which is filled from its schema alone.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
N = r"(\d{1,3}|" + "|".join(NUMBER_WORDS) + r")"
DWELLINGS = r"(?:self[- ]contained )?(?:flats|apartments|units|maisonettes|studios|bedsits)"
UNIT_PATTERNS = (
    rf"(?:block|building|terrace|development|portfolio) of {N} {DWELLINGS}",
    rf"(?:converted|arranged|split|laid out) (?:in)?to {N} {DWELLINGS}",
    rf"licen[cs]ed for {N}(?: persons| people| occupants| tenants| sharers)?",
    rf"{N} (?:lettable )?(?:bed)?rooms? hmo|hmo (?:with|of) {N} (?:lettable )?(?:bed)?rooms",
    rf"{N} (?:x )?{DWELLINGS}",
)
LEASE_PATTERNS = (
    r"(\d{2,4})[- ]years? (?:remaining|left|unexpired|outstanding|on the lease)",
    r"lease of (\d{2,4}) years",
    r"(\d{2,4})[- ]year lease",
)
CONDITION_PATTERNS = (
    ("derelict", r"derelict|fire[- ]damaged|uninhabitable"),
    (
        "needs_modernisation",
        r"needs? (?:of )?(?:modernisation|refurbishment|updating)|unmodernised|in need of "
        r"(?:modernisation|refurbishment|updating|renovation)|renovation project|requires? "
        r"(?:modernisation|refurbishment|updating)|refurbishment project",
    ),
)
# (label, severity, pattern): severities as the screening guide grades them.
RED_FLAG_PATTERNS = (
    ("short lease", "major", r"short lease|lease extension required"),
    (
        "cash buyers only",
        "major",
        r"cash buyers? only|cash only|unmortgageable|not suitable for (?:a )?mortgage",
    ),
    (
        "non-standard construction",
        "major",
        r"non[- ]standard construction|\bprc\b|precast reinforced concrete|\bairey\b|\breema\b"
        r"|\bwoolaway\b|\borlit\b|\bbisf\b|steel[- ]framed?\b|wimpey no[- ]fines",
    ),
    ("subsidence", "major", r"subsidence|underpinn(?:ed|ing)|structural movement"),
    ("japanese knotweed", "major", r"knotweed"),
    ("flying freehold", "minor", r"flying freehold|creeping freehold"),
    ("sitting tenant", "major", r"sitting tenant|regulated tenancy|protected tenan(?:t|cy)"),
    ("modern method of auction", "minor", r"modern method of auction|reservation fee"),
    ("shared ownership", "kill", r"shared ownership|staircasing"),
    (
        "retirement property",
        "kill",
        r"retirement (?:home|flat|property|living|development)|over[- ](?:55|60)s?"
        r"|age[- ]restricted|assisted living",
    ),
    ("cladding", "major", r"cladding|\bews1\b"),
    ("escalating ground rent", "major", r"ground rent (?:which |that )?doubl\w*|doubling every"),
)
MOTIVATION_PATTERNS = (
    ("probate", r"probate|deceased estate|executor'?s? sale"),
    ("no onward chain", r"no onward chain|chain[- ]free"),
    ("repossession", r"repossess\w*|mortgagee in possession"),
    ("receivership", r"receivership|lpa receivers?|receiver'?s? sale"),
    ("quick sale", r"quick sale|must be sold|motivated (?:seller|vendor)|vendor (?:is )?motivated"),
    ("price reduced", r"price reduc\w+|reduced (?:price|by)|now reduced"),
    ("back on market", r"back on (?:the )?market|re-?listed"),
    ("offers invited", r"offers invited|all offers considered"),
)
# A negation earlier in the same clause ("no evidence of subsidence") cancels a phrase.
NEGATION = re.compile(r"\b(?:no|not|non|without|free (?:of|from)|isn't|never|nor)\b[^.,;:!?]*$")
NEGATION_WINDOW = 40


class OpenAIRequestError(Exception):
    """A request the real API would refuse, with the fields of OpenAI's error envelope."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


def openai_error(
    message: str, error_type: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error envelope: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def fault_body(status: int, route_path: str) -> tuple[bytes, str]:
    """OpenAI's wording of a rate limit or an outage, for the fault middleware."""
    if status == 429:
        envelope = openai_error(
            "Rate limit reached for requests on this sandbox key; retry after the delay given.",
            "requests",
            code="rate_limit_exceeded",
        )
    else:
        envelope = openai_error(
            f"The sandbox upstream failed with status {status} while handling the request.",
            "server_error",
        )
    return json.dumps(envelope).encode(), "application/json"


@dataclass(frozen=True, slots=True)
class Finding:
    """A phrase found in the prompt: what it means, the words that said it, how much it matters."""

    label: str
    evidence: str
    severity: str


@dataclass(frozen=True, slots=True)
class PromptReading:
    """What a careful reader takes from a listing's text, each field None when not stated."""

    units: int
    tenure: str | None
    lease_years: int | None
    condition: str
    bedrooms: int | None
    price: int | None
    annual_rent: int | None
    red_flags: tuple[Finding, ...]
    signals: tuple[Finding, ...]

    @property
    def summary(self) -> str:
        """One plain paragraph restating the reading."""
        tenure = (self.tenure or "tenure not stated").replace("_", " ")
        lease = f" with {self.lease_years} years left on the lease" if self.lease_years else ""
        parts = [
            f"{tenure.capitalize()}{lease}, {self.units} unit{'s' if self.units != 1 else ''}, "
            f"condition {self.condition.replace('_', ' ')}."
        ]
        if self.price:
            parts.append(f"Asking £{self.price:,}.")
        flags = ", ".join(flag.label for flag in self.red_flags)
        parts.append(f"Red flags: {flags}." if flags else "No red flags stated.")
        if self.signals:
            parts.append(f"Seller signals: {', '.join(s.label for s in self.signals)}.")
        return " ".join(parts)


def read_prompt(text: str) -> PromptReading:
    """Read units, tenure, lease, condition, price, rent and phrases off a listing's text."""
    lowered = text.lower()
    lease_years = _first_number(LEASE_PATTERNS, lowered)
    red_flags = _findings(RED_FLAG_PATTERNS, lowered)
    if lease_years is not None and lease_years < 80 and "short lease" not in _labels(red_flags):
        severity = "kill" if lease_years < 60 else "major"
        red_flags += (Finding("short lease", f"{lease_years} years", severity),)
    motivation = tuple((label, "opportunity", pattern) for label, pattern in MOTIVATION_PATTERNS)
    return PromptReading(
        units=_first_number(UNIT_PATTERNS, lowered) or 1,
        tenure=_tenure(lowered, lease_years),
        lease_years=lease_years,
        condition=next(
            (name for name, pattern in CONDITION_PATTERNS if re.search(pattern, lowered)), "good"
        ),
        bedrooms=_first_number((rf"{N}[- ]bed(?:room)?s?\b",), lowered),
        price=_price(lowered),
        annual_rent=_annual_rent(lowered),
        red_flags=red_flags,
        signals=_findings(motivation, lowered),
    )


def _number(token: str) -> int:
    return NUMBER_WORDS[token] if token in NUMBER_WORDS else int(token)


def _first_number(patterns: tuple[str, ...], text: str) -> int | None:
    """The number captured by the first pattern that matches, trying patterns in order."""
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            return _number(next(group for group in match.groups() if group))
    return None


def _tenure(text: str, lease_years: int | None) -> str | None:
    if "share of freehold" in text:
        return "share_of_freehold"
    if "commonhold" in text:
        return "commonhold"
    positions = {
        tenure: match.start()
        for tenure in ("freehold", "leasehold")
        if (match := re.search(rf"\b{tenure}\b", text))
    }
    if positions:
        return min(positions, key=positions.__getitem__)
    return "leasehold" if lease_years is not None else None


def _price(text: str) -> int | None:
    match = re.search(r"£\s?(\d[\d,]*(?:\.\d+)?)\s?(k|m)?\b", text)
    if not match:
        return None
    scale = {"k": 1_000, "m": 1_000_000}.get(match.group(2) or "", 1)
    return round(float(match.group(1).replace(",", "")) * scale)


def _annual_rent(text: str) -> int | None:
    monthly = ("pcm", "per calendar month", "per month", "a month")
    yearly = ("pa", "p.a.", "per annum", "a year", "per year")
    periods = "|".join(re.escape(period) for period in (*monthly, *yearly))
    match = re.search(rf"£\s?(\d[\d,]*)\s*({periods})(?![a-z])", text)
    if not match:
        return None
    amount = int(match.group(1).replace(",", ""))
    return amount * 12 if match.group(2) in monthly else amount


def _findings(table: tuple[tuple[str, str, str], ...], text: str) -> tuple[Finding, ...]:
    """The table's phrases present in the text and not negated just before."""
    found = []
    for label, severity, pattern in table:
        for match in re.finditer(pattern, text):
            before = text[max(0, match.start() - NEGATION_WINDOW) : match.start()]
            if not NEGATION.search(before):
                found.append(Finding(label, match.group(0), severity))
                break
    return tuple(found)


def _labels(findings: tuple[Finding, ...]) -> set[str]:
    return {finding.label for finding in findings}


def snake(name: str) -> str:
    """`leaseYearsRemaining` and `Lease years` alike become `lease_years_remaining`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


KNOWN_LABELS = tuple(snake(label) for label, *_ in (*RED_FLAG_PATTERNS, *MOTIVATION_PATTERNS))


def reading_for(name: str, reading: PromptReading) -> Any:
    """The reading's value for a schema field, recognised by its name; MISSING if unknown."""
    key = snake(name)
    if "red_flag" in key or key in ("flags", "risks", "risk_flags", "warnings", "concerns"):
        return list(reading.red_flags)
    if "motivat" in key or "seller_signal" in key or key in ("signals", "opportunities"):
        return list(reading.signals)
    label = next((label for label in KNOWN_LABELS if label in key), None)
    if label is not None:
        return label in {snake(f.label) for f in (*reading.red_flags, *reading.signals)}
    if _has_word(key, ("summary", "rationale", "reasoning", "explanation", "notes")):
        return reading.summary
    if _has_word(key, ("lease",)) and _has_word(key, ("year", "remaining", "length", "term")):
        return reading.lease_years
    for words, value in (
        (("tenure",), reading.tenure),
        (("condition", "refurb", "moderni"), reading.condition),
        (("unit", "flats", "dwellings"), reading.units),
        (("bedroom", "beds"), reading.bedrooms),
        (("rent",), reading.annual_rent),
        (("price", "guide", "asking"), reading.price),
        (("confidence",), 0.8),
    ):
        if _has_word(key, words):
            return value
    return MISSING


def _has_word(key: str, words: tuple[str, ...]) -> bool:
    """Whether a snake_case name has a part starting with one of the words ("rent" matches
    "rent_pa" but not "current_value")."""
    return any(part.startswith(word) for part in key.split("_") for word in words)


class SchemaFiller:
    """Builds a value that validates against a JSON schema, taking values from a reading.

    Handles the JSON Schema the SDK and strict structured outputs produce: objects, arrays,
    enums, const, anyOf/oneOf (nullable fields), $ref into $defs, allOf, numeric bounds and
    string lengths. A `pattern` on a string is not honoured.
    """

    def __init__(self, root: dict[str, Any], reading: PromptReading, day: dt.date) -> None:
        self.root = root
        self.reading = reading
        self.day = day

    def value(self, schema: dict[str, Any], candidate: Any = MISSING, depth: int = 0) -> Any:
        """A value for `schema`, using `candidate` when it fits."""
        schema = self.resolve(schema)
        if depth > MAX_SCHEMA_DEPTH:
            raise OpenAIRequestError(
                f"response_format schema nests deeper than {MAX_SCHEMA_DEPTH} levels",
                param="response_format",
            )
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.enum_value(schema["enum"], candidate)
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            return self.value(self.pick_variant(variants, candidate), candidate, depth + 1)
        types = schema.get("type", _implied_type(schema))
        if isinstance(types, list):
            if candidate is None and "null" in types:
                return None
            types = next((t for t in types if t != "null"), "null")
        return self.typed_value(types, schema, candidate, depth)

    def typed_value(self, kind: str, schema: dict[str, Any], candidate: Any, depth: int) -> Any:
        """A value of one JSON type."""
        if kind == "object":
            return self.object_value(schema, candidate, depth)
        if kind == "array":
            return self.array_value(schema, candidate, depth)
        if kind in ("integer", "number"):
            return _number_value(schema, candidate, integer=kind == "integer")
        if kind == "boolean":
            return _truthy(candidate)
        if kind == "null":
            return None
        return self.string_value(schema, candidate)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow `$ref` and merge `allOf`, keeping sibling keywords."""
        for _ in range(MAX_SCHEMA_DEPTH):
            if "$ref" in schema:
                rest = {key: value for key, value in schema.items() if key != "$ref"}
                schema = self.pointer(schema["$ref"]) | rest
            elif "allOf" in schema:
                merged = {key: value for key, value in schema.items() if key != "allOf"}
                for part in schema["allOf"]:
                    merged = _merge(merged, self.resolve(part))
                schema = merged
            else:
                return schema
        raise OpenAIRequestError("response_format schema has a $ref cycle", param="response_format")

    def pointer(self, ref: str) -> dict[str, Any]:
        """The schema a local `#/$defs/Name` reference points to."""
        if not ref.startswith("#"):
            raise OpenAIRequestError(
                f"response_format schema $ref {ref!r} is not local", param="response_format"
            )
        node: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), None)
            if not isinstance(node, dict):
                raise OpenAIRequestError(
                    f"response_format schema $ref {ref!r} points nowhere", param="response_format"
                )
        return node

    def pick_variant(self, variants: list[dict[str, Any]], candidate: Any) -> dict[str, Any]:
        """The anyOf branch for the candidate: null for a stated-unknown, else the first branch
        whose type suits the candidate, else the first non-null branch."""
        resolved = [self.resolve(variant) for variant in variants]
        null = next((v for v in resolved if v.get("type") == "null"), None)
        if candidate is None and null is not None:
            return null
        others = [v for v in resolved if v.get("type") != "null"] or resolved
        wanted = _json_type(candidate)
        return next((v for v in others if v.get("type", _implied_type(v)) in wanted), others[0])

    def object_value(self, schema: dict[str, Any], candidate: Any, depth: int) -> dict[str, Any]:
        """Every declared property, each from the reading (or from a finding for its parts)."""
        result = {}
        for name, sub in schema.get("properties", {}).items():
            if isinstance(candidate, Finding):
                part = _finding_part(candidate, name)
            else:
                part = reading_for(name, self.reading)
            result[name] = self.value(sub, part, depth + 1)
        return result

    def array_value(self, schema: dict[str, Any], candidate: Any, depth: int) -> list[Any]:
        """The candidate's items that fit, padded to minItems and cut to maxItems."""
        items = self.resolve(schema.get("items", {}))
        if isinstance(candidate, list):
            candidates = candidate
        else:
            candidates = [] if candidate is MISSING or candidate is None else [candidate]
        if "enum" in items:
            matched = (_match_enum(items["enum"], c) for c in candidates)
            values = list(dict.fromkeys(m for m in matched if m is not None))
        else:
            values = [self.value(items, c, depth + 1) for c in candidates]
        while len(values) < schema.get("minItems", 0):
            values.append(self.value(items, MISSING, depth + 1))
        return values[: schema.get("maxItems", len(values))]

    def string_value(self, schema: dict[str, Any], candidate: Any) -> str:
        """The candidate as text, or a neutral text for the field's format."""
        if isinstance(candidate, Finding):
            text = candidate.label
        elif isinstance(candidate, bool):
            text = "yes" if candidate else "no"
        elif isinstance(candidate, list):
            text = "; ".join(_as_text(item) for item in candidate) or "none"
        elif candidate is None:
            text = "unknown"
        elif candidate is MISSING:
            text = self.neutral_text(schema.get("format"))
        else:
            text = str(candidate)
        text = text.ljust(schema.get("minLength", 0), ".")
        return text[: schema.get("maxLength", len(text))]

    def neutral_text(self, string_format: str | None) -> str:
        """What a careful reader writes for something the listing does not say."""
        if string_format == "date":
            return self.day.isoformat()
        if string_format == "date-time":
            return f"{self.day.isoformat()}T12:00:00Z"
        if string_format in ("uri", "url"):
            return "https://example.invalid/"
        if string_format == "email":
            return "unknown@example.invalid"
        return "not stated"

    def enum_value(self, options: list[Any], candidate: Any) -> Any:
        """The option naming the candidate, else an "unknown"-like option, else the first."""
        matched = _match_enum(options, candidate)
        if matched is not None:
            return matched
        neutral = ("unknown", "not_stated", "none", "other", "n_a")
        return next((o for o in options if isinstance(o, str) and snake(o) in neutral), options[0])


def _implied_type(schema: dict[str, Any]) -> str:
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = base | extra
    if "properties" in base and "properties" in extra:
        merged["properties"] = base["properties"] | extra["properties"]
    if "required" in base and "required" in extra:
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged


def _json_type(candidate: Any) -> tuple[str, ...]:
    """The JSON types a candidate value can fill."""
    if isinstance(candidate, bool):
        return ("boolean",)
    if isinstance(candidate, int):
        return ("integer", "number")
    if isinstance(candidate, float):
        return ("number",)
    if isinstance(candidate, list):
        return ("array",)
    if isinstance(candidate, Finding):
        return ("string", "object")
    return ("string",)


def _match_enum(options: list[Any], candidate: Any) -> Any:
    """The option equal to the candidate, or whose words contain (or sit inside) it."""
    if candidate is MISSING or candidate is None:
        return None
    text = candidate.label if isinstance(candidate, Finding) else candidate
    if not isinstance(text, str):
        return next((o for o in options if o == text and type(o) is type(text)), None)
    wanted = snake(text)
    strings = [o for o in options if isinstance(o, str)]
    exact = next((o for o in strings if snake(o) == wanted), None)
    if exact is not None or len(wanted) < 3:
        return exact
    return next((o for o in strings if snake(o) in wanted or wanted in snake(o)), None)


def _finding_part(finding: Finding, name: str) -> Any:
    """Which part of a finding a property of a finding-object wants."""
    key = snake(name)
    if any(word in key for word in ("evidence", "quote", "span", "excerpt", "text", "source")):
        return finding.evidence
    if any(word in key for word in ("severity", "level", "impact")):
        return finding.severity
    if "confidence" in key:
        return 0.8
    return finding.label


def _number_value(schema: dict[str, Any], candidate: Any, *, integer: bool) -> int | float:
    """The candidate as a number inside the schema's bounds (the lowest allowed if none)."""
    step = 1 if integer else 0.5
    low = schema.get("minimum", schema.get("exclusiveMinimum", -math.inf))
    if "exclusiveMinimum" in schema and "minimum" not in schema:
        low += step
    high = schema.get("maximum", schema.get("exclusiveMaximum", math.inf))
    if "exclusiveMaximum" in schema and "maximum" not in schema:
        high -= step

    if isinstance(candidate, int | float):
        number = float(candidate)
    elif isinstance(candidate, list):
        number = float(len(candidate))
    elif isinstance(candidate, str) and re.fullmatch(r"-?\d+(\.\d+)?", candidate):
        number = float(candidate)
    else:
        number = max(low, 0.0) if high >= 0 else high
    number = min(max(number, low), high)
    return int(round(number)) if integer else number


def _truthy(candidate: Any) -> bool:
    if candidate is MISSING or candidate is None:
        return False
    if isinstance(candidate, str):
        return snake(candidate) not in ("", "good", "none", "unknown", "no")
    return bool(candidate)


def _as_text(item: Any) -> str:
    return item.label if isinstance(item, Finding) else str(item)


def message_text(content: Any) -> str:
    """A message's text, whether a plain string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def strict_schema_problem(schema: Any, path: str = "root") -> str | None:
    """Why a schema fails strict structured outputs (an object that allows extra keys or does
    not require all its properties), or None when it passes."""
    if not isinstance(schema, dict):
        return None
    properties = schema.get("properties")
    if schema.get("type") == "object" or properties is not None:
        if schema.get("additionalProperties") is not False:
            return f"the object at {path} must set additionalProperties to false"
        missing = sorted(set(properties or {}) - set(schema.get("required", [])))
        if missing:
            return f"the object at {path} must list every property in required; missing {missing}"
    children = [(f"{path}.{name}", sub) for name, sub in (properties or {}).items()]
    children += [(f"{path}[]", schema["items"])] if isinstance(schema.get("items"), dict) else []
    for keyword in ("anyOf", "oneOf", "allOf"):
        children += [(f"{path}.{keyword}[{i}]", s) for i, s in enumerate(schema.get(keyword, []))]
    for keyword in ("$defs", "definitions"):
        children += [(f"{keyword}.{n}", s) for n, s in schema.get(keyword, {}).items()]
    for child_path, child in children:
        problem = strict_schema_problem(child, child_path)
        if problem:
            return problem
    return None


def estimate_tokens(text: str) -> int:
    """Roughly what a tokenizer makes of English text: a token per four characters."""
    return max(1, math.ceil(len(text) / 4))


def chat_completion(body: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """The `chat.completion` object answering a request body, or OpenAIRequestError."""
    model, messages = _checked_model_and_messages(body)
    response_format = body.get("response_format") or {"type": "text"}
    schema = _checked_schema(response_format, messages)

    user_text = "\n".join(message_text(m.get("content")) for m in messages if m["role"] == "user")
    all_text = "\n".join(message_text(m.get("content")) for m in messages)
    reading = read_prompt(user_text or all_text)
    content = _answer(response_format, schema, reading, day)

    prompt_tokens = sum(estimate_tokens(message_text(m.get("content"))) + 4 for m in messages) + 3
    prompt_tokens += estimate_tokens(json.dumps(schema)) if schema else 0
    completion_tokens = estimate_tokens(content)
    finish_reason = "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and 0 < limit < completion_tokens:
        content, completion_tokens, finish_reason = content[: limit * 4], limit, "length"

    digest = hashlib.sha256(
        json.dumps([model, messages, response_format], sort_keys=True).encode()
    ).hexdigest()
    message = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    choice = {"message": message, "logprobs": None, "finish_reason": finish_reason}
    return {
        "id": f"chatcmpl-{digest[:29]}",
        "object": "chat.completion",
        "created": london_noon_epoch(day),
        "model": model,
        "choices": [{"index": i, **choice} for i in range(_choice_count(body))],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    }


def _checked_model_and_messages(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise OpenAIRequestError("you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise OpenAIRequestError("messages must be a non-empty array", param="messages")
    for index, item in enumerate(messages):
        if not isinstance(item, dict) or item.get("role") not in ROLES:
            raise OpenAIRequestError(
                f"messages[{index}] needs a role, one of {', '.join(ROLES)}",
                param=f"messages[{index}].role",
            )
    if body.get("stream"):
        raise OpenAIRequestError("the sandbox does not stream; send stream=false", "stream")
    return model, messages


def _choice_count(body: dict[str, Any]) -> int:
    count = body.get("n") or 1
    if not isinstance(count, int) or not 1 <= count <= 128:
        raise OpenAIRequestError(f"n must be a whole number from 1 to 128, not {count!r}", "n")
    return count


def _checked_schema(
    response_format: dict[str, Any], messages: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The requested JSON schema, after the checks the real API makes before answering."""
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        if not any("json" in message_text(m.get("content")).lower() for m in messages):
            raise OpenAIRequestError(
                "messages must mention 'json' when response_format is json_object",
                param="messages",
            )
        return None
    if kind != "json_schema":
        raise OpenAIRequestError(
            f"response_format type {kind!r} is not one of text, json_object, json_schema",
            param="response_format.type",
        )

    spec = response_format.get("json_schema") or {}
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise OpenAIRequestError(
            f"response_format.json_schema.name {name!r} must be 1-64 letters, digits, _ or -",
            param="response_format.json_schema.name",
        )
    schema = spec.get("schema")
    if not isinstance(schema, dict) or _implied_or_declared(schema) != "object":
        raise OpenAIRequestError(
            f"response_format schema {name!r} must be a JSON schema whose root is an object",
            param="response_format.json_schema.schema",
        )
    problem = strict_schema_problem(schema) if spec.get("strict") else None
    if problem:
        raise OpenAIRequestError(
            f"response_format schema {name!r} is not valid for strict mode: {problem}",
            param="response_format",
        )
    return schema


def _implied_or_declared(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    return declared if isinstance(declared, str) else _implied_type(schema)


def _answer(
    response_format: dict[str, Any],
    schema: dict[str, Any] | None,
    reading: PromptReading,
    day: dt.date,
) -> str:
    """The assistant's content: the schema filled in, a JSON reading, or the summary."""
    if schema is not None:
        return json.dumps(SchemaFiller(schema, reading, day).value(schema), ensure_ascii=False)
    if response_format.get("type") == "json_object":
        return json.dumps(
            {
                "units": reading.units,
                "tenure": reading.tenure,
                "lease_years_remaining": reading.lease_years,
                "condition": reading.condition,
                "red_flags": [flag.label for flag in reading.red_flags],
                "motivated_seller_signals": [signal.label for signal in reading.signals],
                "summary": reading.summary,
            },
            ensure_ascii=False,
        )
    return reading.summary


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """`/v1/chat/completions`, `/v1/models` and `/v1/models/{model}`, behind a Bearer key."""

    async def completions(request: Request) -> JSONResponse:
        if (refusal := _missing_key(request)) is not None:
            return refusal
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error_response(OpenAIRequestError("the request body is not a JSON object"))

        try:
            completion = chat_completion(body, ctx.market_date(request))
        except OpenAIRequestError as error:
            ctx.openai_requests.append({"id": None, "status": error.status, "body": body})
            return _error_response(error)
        ctx.openai_requests.append({"id": completion["id"], "status": 200, "body": body})
        headers = {"x-request-id": "req_" + completion["id"].removeprefix("chatcmpl-")}
        return JSONResponse(completion, headers=headers)

    async def models(request: Request) -> JSONResponse:
        if (refusal := _missing_key(request)) is not None:
            return refusal
        return JSONResponse({"object": "list", "data": [_model(name) for name in MODELS]})

    async def model(request: Request) -> JSONResponse:
        if (refusal := _missing_key(request)) is not None:
            return refusal
        name = request.path_params["model"]
        if name not in MODELS:
            message = f"The model {name!r} does not exist in the sandbox"
            return _error_response(OpenAIRequestError(message, "model", 404), "model_not_found")
        return JSONResponse(_model(name))

    return [
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{model}", model, methods=["GET"]),
    ]


def _missing_key(request: Request) -> JSONResponse | None:
    """OpenAI's 401 when the Authorization header carries no Bearer key."""
    key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if key:
        return None
    envelope = openai_error(
        "No API key was sent; pass it as 'Authorization: Bearer <key>'.",
        "invalid_request_error",
        code="invalid_api_key",
    )
    return JSONResponse(envelope, status_code=401)


def _error_response(error: OpenAIRequestError, code: str | None = None) -> JSONResponse:
    envelope = openai_error(error.message, "invalid_request_error", param=error.param, code=code)
    return JSONResponse(envelope, status_code=error.status)


def _model(name: str) -> dict[str, Any]:
    created = london_noon_epoch(dt.date(2024, 7, 18))
    return {"id": name, "object": "model", "created": created, "owned_by": "system"}
