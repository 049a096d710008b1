"""Experience pool: pydantic models, DuckDB store, embedders and stepwise recall (no MCP, no LLM)."""

from seer.pool.accumulate import Capacity
from seer.pool.ann import AnnSettings
from seer.pool.embedders import (
    MINILM_ID,
    Embedder,
    EmbeddingCache,
    HashEmbedder,
    SentenceTransformerEmbedder,
    embedder_from_id,
    load_embedder,
    packaged_minilm_path,
)
from seer.pool.experience_pool import ANN_THRESHOLD, ExperiencePool, pool_path
from seer.pool.intent import TOOLQA_INTENTS, IntentClassifier
from seer.pool.interop import InteropError, export_file, import_file, parse_jsonl, parse_library
from seer.pool.models import (
    Experience,
    PoolError,
    PoolLockedError,
    PoolStats,
    RecalledExperience,
    RecallRequest,
    RecordOutcome,
    RecordRequest,
    Step,
)
from seer.pool.recall import intent_match, similarity, tool_coverage
from seer.pool.render import parse_step, render_demo, render_step, render_steps
from seer.pool.store import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "ANN_THRESHOLD",
    "AnnSettings",
    "MIGRATIONS",
    "MINILM_ID",
    "SCHEMA_VERSION",
    "Capacity",
    "Embedder",
    "EmbeddingCache",
    "Experience",
    "ExperiencePool",
    "HashEmbedder",
    "IntentClassifier",
    "InteropError",
    "PoolError",
    "PoolLockedError",
    "PoolStats",
    "RecallRequest",
    "RecalledExperience",
    "RecordOutcome",
    "RecordRequest",
    "SentenceTransformerEmbedder",
    "Step",
    "TOOLQA_INTENTS",
    "embedder_from_id",
    "export_file",
    "import_file",
    "intent_match",
    "load_embedder",
    "packaged_minilm_path",
    "parse_jsonl",
    "parse_library",
    "parse_step",
    "pool_path",
    "render_demo",
    "render_step",
    "render_steps",
    "similarity",
    "tool_coverage",
]
