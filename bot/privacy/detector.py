"""Presidio set-up and the one place that imports presidio_analyzer.

Runs with no downloaded model: Presidio's pattern recognizers on a no-op NLP engine, the CRM's
known entities and the name detector (bot/privacy/names.py), all on the normalised view of the
text (bot/privacy/normalise.py), with spans mapped back to the original. A spaCy model named in
privacy.spacy_model adds NER when it is installed, beside the name detector; when it is not, the
detector starts anyway and says what it cannot find.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable

# tldextract (used by the e-mail recognizer) would fetch the public suffix list on first use and
# can hang where connections stall; an empty URL list makes it use its bundled snapshot. This must
# happen before presidio_analyzer imports it.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult  # noqa: E402
from presidio_analyzer import predefined_recognizers as pr  # noqa: E402
from presidio_analyzer.nlp_engine import NoOpNlpEngine, SpacyNlpEngine  # noqa: E402

from bot.config import PrivacySection  # noqa: E402
from bot.privacy.known import KnownEntityIndex  # noqa: E402
from bot.privacy.recognizers import (  # noqa: E402
    CardRecognizer,
    LineEmailRecognizer,
    LineIpRecognizer,
    LinePhoneRecognizer,
    LoosePhoneRecognizer,
    iban_recognizer,
)
from bot.privacy.names import NameDetector, keep_word  # noqa: E402
from bot.privacy.normalise import normalise  # noqa: E402
from bot.privacy.spans import PLACEHOLDER, TYPE_PRIORITY, DetectionError, Span, resolve  # noqa: E402

log = logging.getLogger(__name__)

_NAME_TYPES = frozenset({"PERSON", "ORGANIZATION"})

_RECOGNIZERS: dict[str, Callable[[PrivacySection], object]] = {
    "EMAIL_ADDRESS": lambda s: LineEmailRecognizer(),
    "PHONE_NUMBER": lambda s: LinePhoneRecognizer(supported_regions=list(s.phone_regions)),
    "CREDIT_CARD": lambda s: CardRecognizer(),
    "IBAN_CODE": lambda s: iban_recognizer(),
    "IP_ADDRESS": lambda s: LineIpRecognizer(),
    "US_SSN": lambda s: pr.UsSsnRecognizer(),
    "UK_NHS": lambda s: pr.NhsRecognizer(),
    "UK_NINO": lambda s: pr.UkNinoRecognizer(),
    "ES_NIF": lambda s: pr.EsNifRecognizer(),
    "IT_FISCAL_CODE": lambda s: pr.ItFiscalCodeRecognizer(),
}


class Detector:
    """Finds personal data in text and returns non-overlapping spans."""

    def __init__(self, settings: PrivacySection, known: Callable[[], KnownEntityIndex] | None = None) -> None:
        self._settings = settings
        self._known = known if settings.known_entities else None
        self._names = NameDetector() if settings.name_lexicon else None
        self._allow = {a.casefold() for a in settings.allow_list}
        self.warnings: list[str] = []
        registry = RecognizerRegistry(supported_languages=["en"])
        self._entities = [*settings.entities, *settings.national_ids]
        for entity in self._entities:
            if entity == "PHONE_NUMBER":
                registry.add_recognizer(LoosePhoneRecognizer())
                if not settings.phone_regions:
                    continue  # Presidio's phonenumbers-based recognizer is off
            registry.add_recognizer(_RECOGNIZERS[entity](settings))
        nlp_engine = self._nlp_engine(registry)
        # Without an NLP model there are no tokens, so context enhancement changes no score: the
        # recognizers are called directly, skipping what analyze() adds around them per call (a
        # spaCy Doc, a deep copy of every result, recognizer look-ups by entity).
        direct = isinstance(nlp_engine, NoOpNlpEngine)
        self._engine = None if direct else AnalyzerEngine(registry=registry, nlp_engine=nlp_engine,
                                                          supported_languages=["en"])
        self._recognizers = registry.get_recognizers(language="en", entities=self._entities) if self._entities else []
        self._artifacts = nlp_engine.process_text("", "en") if direct else None

    def _nlp_engine(self, registry: RecognizerRegistry) -> object:
        model = self._settings.spacy_model
        if model and importlib.util.find_spec(model) is not None:
            registry.add_recognizer(pr.SpacyRecognizer(supported_entities=["PERSON", "ORGANIZATION"]))
            self._entities += ["PERSON", "ORGANIZATION"]
            engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
            engine.load()
            return engine
        if model:
            self.warnings.append(
                f'privacy.spacy_model "{model}" is not installed: person names outside the CRM are found '
                "by the name detector only, and organisation names outside the CRM are not detected"
            )
        engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
        engine.load()
        return engine

    def warm(self) -> None:
        """Compile the recognizers' patterns now rather than on the first user's message."""
        self.detect("Warm-up: Jane Doe, jane@example.com, +44 20 7946 0958, 4111 1111 1111 1111.")

    def detect(self, text: str) -> list[Span]:
        """Personal data in text; raises DetectionError if any detector fails.

        Detection runs on the normalised view of text (bot/privacy/normalise.py); the spans
        returned are offsets into text itself."""
        try:
            view = normalise(text)
            seen = view.text
            spans = [Span(r.start, r.end, r.entity_type, r.score, "presidio") for r in self._analyze(seen)]
            if self._known is not None:
                spans += self._known().find(seen)
            if self._names is not None:
                spans += self._names.find(seen)
        except Exception as exc:  # noqa: BLE001 - any failure must stop the model call
            raise DetectionError(f"personal-data detection failed ({type(exc).__name__})") from exc
        own = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(seen) if m.group(1).upper() in TYPE_PRIORITY]
        spans = [
            s for s in spans
            if seen[s.start:s.end].casefold() not in self._allow
            and not any(s.start < e and b < s.end for b, e in own)
            and not (s.entity_type in _NAME_TYPES and keep_word(seen, s.start, s.end))
        ]
        kept = resolve(spans)
        if view.starts is None:
            return kept
        return [Span(*view.original(s.start, s.end), s.entity_type, s.score, s.source, s.ref) for s in kept]

    def _analyze(self, text: str) -> list[RecognizerResult]:
        """Presidio's detections scoring at least the threshold, duplicates removed (as analyze() does)."""
        if not self._entities:
            return []  # an empty entity list means "every entity" to Presidio
        threshold = self._settings.score_threshold
        if self._engine is not None:  # an NLP model: context words can change scores
            return self._engine.analyze(text, language="en", entities=self._entities, score_threshold=threshold)
        found = [r for recognizer in self._recognizers
                 for r in recognizer.analyze(text=text, entities=self._entities, nlp_artifacts=self._artifacts)]
        return EntityRecognizer.remove_duplicates([r for r in found if r.score >= threshold])
