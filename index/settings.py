"""Settings: the one place that reads the environment and `.env`.

Every field is listed, with a comment, in `.env.example`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from attache.errors import MAX_QUESTION_CHARS

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Runtime configuration, from `ATTACHE_*` variables or a `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="ATTACHE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,  # "ATTACHE_X=" leaves X at its default
    )

    # Documents and storage
    docs_dir: Path = Path("seeds")
    data_dir: Path = Path(".attache")
    chroma_url: str | None = None
    max_file_mb: float = Field(default=20.0, gt=0)
    # Limits on one file's extraction: seconds (in a worker process) and characters of text
    extract_seconds: float = Field(default=30.0, gt=0)
    max_text_chars: int = Field(default=5_000_000, ge=1000)

    # Chunking, in tiktoken cl100k_base tokens
    chunk_size: int = Field(default=200, ge=32, le=2048)
    chunk_overlap: int = Field(default=40, ge=0)

    # Embeddings
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_url: str | None = None
    embed_api_key: SecretStr | None = None
    embed_batch_size: int = Field(default=32, ge=1, le=1024)
    embed_threads: int = Field(default=0, ge=0)

    # How often (seconds) a reader checks whether the writer switched versions
    refresh_seconds: float = Field(default=2.0, ge=0)

    # Answer only when the calibrated confidence reaches this (else refuse)
    # None: the operating point fitted with the model (retrieval/calibration/model.json)
    min_confidence: float | None = Field(default=None, ge=0, le=1)

    # Optional LLM (any OpenAI-compatible chat endpoint); unset: extractive answers only
    llm_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(default=20.0, gt=0)
    llm_max_reply_chars: int = Field(default=2000, ge=100, le=100_000)

    # The question log (questions.sqlite3 in the data folder)
    log_questions: bool = True
    log_days: int = Field(default=90, ge=1, le=36500)

    # Discord
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "discord_token")
    )
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    discord_channel_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    discord_admin_role_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    discord_admin_role: str | None = None  # older setting: still read, only if it is an id
    discord_cooldown_seconds: float = Field(default=5.0, ge=0)
    discord_max_question_chars: int = Field(default=500, ge=10, le=MAX_QUESTION_CHARS)
    discord_max_in_flight: int = Field(default=8, ge=1, le=256)
    discord_max_per_user: int = Field(default=1, ge=1, le=256)

    # Fetching articles and feeds (attache add, attache feeds, /add)
    fetch_allow_private: bool = False
    fetch_timeout: float = Field(default=20.0, gt=0)
    fetch_max_mb: float = Field(default=10.0, gt=0)
    fetch_host_interval: float = Field(default=1.0, ge=0)

    @field_validator("chroma_url", "embed_url", "llm_url", "llm_api_key", "embed_api_key",
                     "discord_admin_role", "discord_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("discord_guild_ids", "discord_channel_ids", "discord_admin_role_ids",
                     mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, value: int, info) -> int:  # type: ignore[no-untyped-def]
        size = info.data.get("chunk_size")
        if size is not None and value >= size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return value

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def fetch_max_bytes(self) -> int:
        return int(self.fetch_max_mb * 1024 * 1024)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and `.env`, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
