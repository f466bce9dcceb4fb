"""What a model's tokens cost, so each listing's reading and each run carry a price in dollars.

Prices are USD per million tokens, input (prompt) and output (completion), standard tier, as
published on https://openai.com/api/pricing/ (figures as of August 2025, not re-checked since:
this project has no network access when it is built). OpenAI changes them; a deployment that
cares sets `price_input_per_million` / `price_output_per_million` on `ListingReader` (env
PROPERTY_PIPELINE_OPENAI_PRICE_INPUT / _OUTPUT), which win over this table. Cached-input
discounts and the Batch API are not modelled, so the estimate errs high.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million prompt tokens and per million completion tokens."""

    input_per_million: float
    output_per_million: float


PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5": ModelPrice(1.25, 10.00),
}


def price_for(
    model: str,
    input_per_million: float | None = None,
    output_per_million: float | None = None,
) -> ModelPrice | None:
    """The price of `model`: the overrides when both are given, else the table entry for the
    model or for the family a dated snapshot belongs to ("gpt-4o-mini-2024-07-18" is
    "gpt-4o-mini"); None when the model is unknown and no override is set."""
    if (input_per_million is None) != (output_per_million is None):
        raise ValueError(
            f"price override for {model!r} needs both input and output USD per million tokens,"
            f" got input={input_per_million!r}, output={output_per_million!r}"
        )
    if input_per_million is not None and output_per_million is not None:
        if input_per_million < 0 or output_per_million < 0:
            raise ValueError(f"price override for {model!r} must not be negative")
        return ModelPrice(input_per_million, output_per_million)
    if model in PRICES:
        return PRICES[model]
    families = sorted((name for name in PRICES if model.startswith(f"{name}-")), key=len)
    return PRICES[families[-1]] if families else None


def cost_usd(price: ModelPrice | None, prompt_tokens: int, completion_tokens: int) -> float | None:
    """The dollars `prompt_tokens` in and `completion_tokens` out cost; None without a price."""
    if price is None:
        return None
    dollars = (
        prompt_tokens * price.input_per_million + completion_tokens * price.output_per_million
    ) / TOKENS_PER_PRICE_UNIT
    return round(dollars, 8)
