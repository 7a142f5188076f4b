"""Builds the object graph from Settings once; nothing here is global."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from adapters.crm.base import CrmAdapter
from adapters.crm.local.adapter import LocalCrm
from adapters.kb.base import KnowledgeBase
from adapters.kb.local import LocalKnowledgeBase
from bot.config import Settings
from bot.privacy.gateway import Gateway
from bot.privacy.known import KnownEntitySource
from bot.store.engine import make_engine

if TYPE_CHECKING:
    from bot.privacy.detector import Detector


@dataclass(frozen=True)
class Components:
    settings: Settings
    engine: Engine
    crm: CrmAdapter
    kb: KnowledgeBase


def build_engine(settings: Settings) -> Engine:
    return make_engine(
        settings.database_url,
        busy_timeout_ms=settings.database.busy_timeout_ms,
        pool_size=settings.database.pool_size,
    )


def build_gateway(settings: Settings, crm: CrmAdapter) -> tuple[Gateway, Detector, KnownEntitySource]:
    """The privacy gateway with its detector and the CRM's known entities (loaded and warmed)."""
    from bot.privacy.detector import Detector  # Presidio takes about a second to import

    known = KnownEntitySource(crm.directory, company_names=settings.privacy.company_names)
    if settings.privacy.known_entities:
        known.refresh()
    detector = Detector(settings.privacy, known)
    detector.warm()
    return Gateway(detector), detector, known


def build(settings: Settings, engine: Engine | None = None) -> Components:
    """Create the engine (unless given), the CRM adapter and the knowledge base."""
    engine = engine or build_engine(settings)
    crm = LocalCrm(engine)
    kb = LocalKnowledgeBase(
        engine,
        settings.kb_path,
        extensions=settings.kb.extensions,
        max_file_bytes=settings.kb.max_file_bytes,
    )
    return Components(settings=settings, engine=engine, crm=crm, kb=kb)
