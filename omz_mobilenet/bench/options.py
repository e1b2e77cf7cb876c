"""What a bench run is asked to do: one `BenchConfig` type for `bench`, `bench --tune` and the sweep
spec, and `BenchOptions` (a configuration plus the device, the time budget and the inputs).

`BenchConfig` is what the compiled model is asked to do (hint, batch, inference precision, streams,
requests, threads, pinning) and whether `--tune` searches those instead. The sweep spec's `bench:`
items are BenchConfigs as they are, and `key()` is the configuration part of a sweep cell's key:
fields left at None are not in it, so keys stay those of older databases.

`BenchOptions` is a BenchConfig (every configuration field, read as `opts.hint`, `opts.batch`, ...)
plus how it is measured: device, --time or --niter split over --rounds, warm-up, inputs, profile.
Values are checked by the shared validators (omz_mobilenet.validators), so a bad value gets the
same words from a flag as from a spec key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from omz_mobilenet import validators
from omz_mobilenet.errors import UsageError

HINTS = validators.HINTS
InferPrecision = Literal["f32", "bf16", "f16", "default"]  # "default": the device's own (bf16 on some CPUs)
Hint = Literal["latency", "throughput", "none"]
DEFAULT_TIME_S = 10.0
DEFAULT_ROUNDS = 3
# field -> the flag that sets it, so a refused value names what the user typed
FLAGS = {
    "infer_precision": "--infer-precision",
    "max_latency_ms": "--max-latency",
    "time_s": "--time",
    "dataset": "--inputs dataset",
}


def _checked(check: Any, value: Any) -> Any:
    """Run a shared validator inside pydantic: its refusal becomes a ValueError pydantic reports."""
    try:
        return check(value)
    except validators.BadValue as exc:
        raise ValueError(str(exc)) from None


class BenchConfig(BaseModel):
    """One bench configuration: what the compiled model is asked to do (None: the device chooses)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hint: Hint = "latency"
    batch: int = 1
    infer_precision: InferPrecision = "f32"
    nireq: Optional[int] = None  # None: the compiled model's OPTIMAL_NUMBER_OF_INFER_REQUESTS
    nstreams: Optional[int] = None
    nthreads: Optional[int] = None
    pinning: Optional[bool] = None  # ENABLE_CPU_PINNING; None: the device's default (pinned on Linux)
    tune: bool = False  # search hint/streams/requests/batch/precision (bench --tune) instead of fixing them
    max_latency_ms: Optional[float] = None  # --tune's latency limit (None: the lowest latency measured)

    @field_validator("hint", mode="before")
    @classmethod
    def _hint(cls, value: Any) -> Any:
        return _checked(validators.hint, value)

    @field_validator("batch", mode="before")
    @classmethod
    def _batch(cls, value: Any) -> Any:
        return _checked(validators.batch, value)

    @field_validator("infer_precision", mode="before")
    @classmethod
    def _infer_precision(cls, value: Any) -> Any:
        return "default" if value is None else value

    @field_validator("nireq", "nstreams", "nthreads", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        return None if value is None else _checked(validators.positive_int, value)

    @field_validator("max_latency_ms", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> Any:
        return None if value is None else _checked(validators.positive_float, value)

    @property
    def infer_hint(self) -> Optional[str]:
        """INFERENCE_PRECISION_HINT to set; None leaves the device's default."""
        return None if self.infer_precision == "default" else self.infer_precision

    def key(self) -> str:
        """Canonical JSON: the configuration part of a sweep cell's database key."""
        return json.dumps(self.model_dump(exclude_none=True), sort_keys=True, separators=(",", ":"))


class BenchOptions(BenchConfig):
    """A configuration and how to measure it. Construct with keywords; an invalid value raises
    pydantic's ValidationError (the bench command turns it into a usage error with `refusal`)."""

    device: str = "CPU"
    time_s: Optional[float] = DEFAULT_TIME_S
    niter: Optional[int] = None  # when set, overrides time_s
    rounds: int = DEFAULT_ROUNDS  # alternating rounds; each gets time_s / rounds (or niter / rounds)
    warmup: int = 10
    dataset: Optional[Path] = None  # None: random pixels
    profile: bool = False

    @field_validator("time_s", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return None if value is None else _checked(validators.seconds, value)

    @field_validator("niter", mode="before")
    @classmethod
    def _niter(cls, value: Any) -> Any:
        return None if value is None else _checked(validators.positive_int, value)

    @field_validator("rounds", mode="before")
    @classmethod
    def _rounds(cls, value: Any) -> Any:
        return _checked(validators.positive_int, value)

    @field_validator("warmup", mode="before")
    @classmethod
    def _warmup(cls, value: Any) -> Any:
        return _checked(validators.non_negative_int, value)

    @model_validator(mode="after")
    def _budget(self) -> BenchOptions:
        if self.niter is None and self.time_s is None:
            raise ValueError("needs --time or --niter")
        return self

    @classmethod
    def of(cls, config: BenchConfig, **how: Any) -> BenchOptions:
        """`config` measured as `how` says (device=, time_s=, rounds=, ...)."""
        return cls(**config.model_dump(), **how)

    def validate(self) -> BenchOptions:  # type: ignore[override]
        """Checked on construction already; kept so `BenchOptions(...).validate()` reads as before."""
        return self

    @property
    def config(self) -> BenchConfig:
        return BenchConfig(**self.model_dump(include=set(BenchConfig.model_fields)))

    def with_config(self, config: BenchConfig) -> BenchOptions:
        return self.model_copy(update=config.model_dump())

    def but(self, **changes: Any) -> BenchOptions:
        """A copy with `changes`, checked again (dataclasses.replace for this frozen model)."""
        return type(self)(**{**self.model_dump(), **changes})

    @property
    def input_policy(self) -> str:
        return f"dataset {self.dataset}" if self.dataset else "random"

    @property
    def infer_precision_label(self) -> str:
        """How records name the inference precision asked for."""
        return self.infer_hint or "device default"


def round_options(opts: BenchOptions, rounds: int, round_index: int = 0) -> BenchOptions:
    """One round's share of --time or --niter, so N rounds together take exactly what was asked
    (--niter's remainder goes to the first rounds; every round measures at least once)."""
    if opts.niter is not None:
        share = opts.niter // rounds + (1 if round_index < opts.niter % rounds else 0)
        return opts.model_copy(update={"niter": max(1, share)})
    return opts.model_copy(update={"time_s": (opts.time_s or DEFAULT_TIME_S) / rounds})


def refusal(exc: ValidationError) -> UsageError:
    """The first refused value as one line naming its flag, in the words argparse gives the same value
    (`argument --batch: must be at least 1 (got '0')`), so options built in code read like flags."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    flag = FLAGS.get(field, f"--{field.replace('_', '-')}") if field else "bench"
    message = str(error.get("ctx", {}).get("error") or error["msg"])
    return UsageError(f"argument {flag}: {message}")
