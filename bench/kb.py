"""Knowledge-base figures: full index, search and one-file reindex over generated articles.

The articles are generated, not copied from kb/: 1,000 Markdown files with a title and 4-8
`##` sections of prose drawn from a few hundred business and support words. Each article is
about one topic and takes most of its words from that topic's slice of the vocabulary, the rest
from the whole vocabulary with Zipf-like weights, so a few words are everywhere and most are
rare, as in real prose. Queries are drawn the same way. How many sections the queries match is
measured and reported, because ranking cost grows with it.
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from adapters import fulltext
# _query_terms is private, but counting matches must read a query exactly as search() does.
from adapters.kb.local import KB_INDEX, LocalKnowledgeBase, _query_terms
from bench.common import log, percentile, quiet_gc, summarize, time_call
from bot.store import schema
from bot.store.engine import make_engine

VOCABULARY = """
account accounts admin administrator agent agents alert alerts analytics annual api app approval
archive assignment attachment audit authentication automation availability backup balance billing
block branch browser budget bug business calendar call campaign cancel cancellation capacity card
case certificate change channel charge chat checkout churn client cloud code collaboration
comment compliance configuration confirm connection connector contact contract cost coupon
credit credential currency customer customers dashboard data database deadline debit default
delivery demo deployment desk device digest discount domain download downtime draft duplicate
email encryption endpoint enterprise entitlement error escalation estimate event export feature
feedback field file filter firewall folder forecast form gateway goal group guide handover
header holiday hosting identity import incident integration invoice invoices ip issue key
knowledge label language latency lead leads license limit link list locale lock log login
macro mailbox maintenance manager mapping margin meeting merge message metric migration mobile
module monitor monthly network notification onboarding order organisation outage owner package
page partner password payment payments performance permission phone pipeline plan plans platform
policy portal premium price pricing priority privacy process product profile project promotion
proposal provider purchase quarter quota quote rate receipt record records recovery redirect
refund refunds region registration release reminder renewal report reporting request requests
reseller reset resolution response restore retention revenue review role routing rule sales
sandbox schedule schema scope script seat seats security segment server service session setting
settings setup signature single sso sign skill sla snapshot software spam stage status storage
subscription subscriptions support survey suspension sync system tag task tax team template
tenant territory test ticket tickets tier timeout timezone token tracking training transfer
trial trigger troubleshooting upgrade upload usage user users vendor verification version view
voice volume warranty webhook widget workflow workspace
add adjust allow apply approve assign check choose close configure contact create delete
disable enable escalate export find fix follow import install keep manage migrate monitor move
open prevent reach receive remove renew replace request resolve restore review rotate send
share start stop track update upgrade validate verify
automatic available critical daily custom external first free full internal late manual
multiple new old overdue partial pending primary public quick secure shared standard urgent
weekly yearly
""".split()
VOCABULARY = list(dict.fromkeys(VOCABULARY))  # a few words appear twice above; keep one of each

# Short function words between content words: prose, not keyword lists. The KB drops most of
# them from queries, but they are indexed and make the bodies the realistic size.
FILLERS = "the a to of and for with in on is your our this that when by or be can".split()
FOLDERS = ("billing", "sales", "support", "policies", "product", "integrations", "security", "onboarding")
HEADINGS = ("Overview", "Before you start", "Steps", "Troubleshooting", "Limits", "Examples",
            "Who can do this", "Related articles", "Frequently asked questions", "Pricing", "Notes")


class _Prose:
    """Deterministic sentences, paragraphs, articles and queries from VOCABULARY.

    Real articles are about something: each belongs to one of TOPICS topics (a fixed random
    slice of the vocabulary) and draws most of its words from it; the rest come from the whole
    vocabulary with Zipf-like weights (the "account", "customer" words found everywhere).
    Queries are about a topic too. Without topics every section would hold most of a few
    hundred words and a typical query would match a third or more of the knowledge base.
    """

    TOPICS = 35
    ARTICLE_TOPIC_SHARE = 0.8  # share of an article's words taken from its topic
    QUERY_TOPIC_SHARE = 0.8
    ZIPF = 0.8

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        words = VOCABULARY[:]
        # Which words are common is random but fixed by the seed, not alphabetical.
        self.rng.shuffle(words)
        self.words = words
        self.weights = [1 / (rank + 1) ** self.ZIPF for rank in range(len(words))]
        # Topics partition the vocabulary, so a topic word is rare outside its own topic.
        self.topics = [words[i::self.TOPICS] for i in range(self.TOPICS)]

    def pick(self, k: int, topic: int, share: float) -> list[str]:
        return [
            self.rng.choice(self.topics[topic]) if self.rng.random() < share
            else self.rng.choices(self.words, weights=self.weights)[0]
            for _ in range(k)
        ]

    def sentence(self, topic: int) -> str:
        out = []
        for word in self.pick(self.rng.randint(6, 14), topic, self.ARTICLE_TOPIC_SHARE):
            if self.rng.random() < 0.35:
                out.append(self.rng.choice(FILLERS))
            out.append(word)
        return out[0].capitalize() + " " + " ".join(out[1:]) + "."

    def paragraph(self, topic: int | None = None) -> str:
        topic = self.rng.randrange(self.TOPICS) if topic is None else topic
        return " ".join(self.sentence(topic) for _ in range(self.rng.randint(2, 5)))

    def article(self, index: int) -> tuple[str, str]:
        """(relative path, Markdown text) of article number index."""
        topic = self.rng.randrange(self.TOPICS)
        title_words = self.pick(self.rng.randint(3, 6), topic, 0.9)
        title = " ".join(title_words).capitalize()
        slug = "-".join(title_words)
        lines = [f"# {title}", "", self.paragraph(topic), ""]
        headings = self.rng.sample(HEADINGS, self.rng.randint(4, 8))
        for heading in headings:
            # Headings carry content words too, as real ones ("Refunds for annual plans") do.
            lines += [f"## {heading}: {' '.join(self.pick(self.rng.randint(1, 3), topic, 0.9))}", ""]
            for _ in range(self.rng.randint(1, 3)):
                lines += [self.paragraph(topic), ""]
        return f"{FOLDERS[index % len(FOLDERS)]}/{slug}-{index:04d}.md", "\n".join(lines)

    def query(self) -> str:
        topic = self.rng.randrange(self.TOPICS)
        # Distinct words: a user does not repeat a word in a question.
        n = self.rng.randint(2, 6)
        words: list[str] = []
        while len(words) < n:
            word = self.pick(1, topic, self.QUERY_TOPIC_SHARE)[0]
            if word not in words:
                words.append(word)
        return " ".join(words)


def generate_articles(root: Path, *, count: int, seed: int) -> dict[str, Any]:
    prose = _Prose(seed)
    total = 0
    for i in range(count):
        rel, body = prose.article(i)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        total += len(body.encode("utf-8"))
    return {"files": count, "bytes": total, "vocabulary_words": len(VOCABULARY), "topics": prose.TOPICS}


def make_queries(*, count: int, seed: int) -> list[str]:
    prose = _Prose(seed)
    return [prose.query() for _ in range(count)]


def full_index(kb: LocalKnowledgeBase) -> dict[str, Any]:
    ns, report = time_call(kb.reindex)
    if report.failed or report.updated or report.removed:
        raise RuntimeError(f"unexpected first index: {report}")
    return {"seconds": ns / 1e9, "files": len(report.added), "sections": report.sections}


def matching_sections(engine: Engine, queries: list[str]) -> list[int]:
    """How many sections each query matches (untimed): shows the queries do real ranking work."""
    with engine.connect() as conn:
        return [
            len(fulltext.search(conn, KB_INDEX, _query_terms(q), match_all=False, prefix=False, limit=10**9))
            for q in queries
        ]


def match_stats(counts: list[int], sections: int) -> dict[str, Any]:
    ordered = sorted(counts)
    return {
        "sections": sections,
        "median": statistics.median(ordered),
        "p90": percentile(ordered, 90),
        "min": ordered[0],
        "max": ordered[-1],
        "zero_hit_queries": sum(1 for c in counts if c == 0),
    }


def measure_search(kb: LocalKnowledgeBase, engine: Engine, queries: list[str], *, passes: int,
                   limit: int) -> dict[str, Any]:
    """Warm up with one untimed pass, then time every query `passes` times.

    Also times the index query alone (`fulltext.search`, what the database does) so the share
    spent in Python afterwards (loading sections, building snippets) is visible.
    """
    for q in queries:
        kb.search(q, limit=limit)
    samples: list[int] = []
    per_query: list[list[int]] = [[] for _ in queries]
    returned = []
    with quiet_gc():
        for _ in range(passes):
            for i, q in enumerate(queries):
                ns, hits = time_call(lambda q=q: kb.search(q, limit=limit))
                samples.append(ns)
                per_query[i].append(ns)
                returned.append(len(hits))
    index_only: list[int] = []
    with engine.connect() as conn, quiet_gc():
        for q in queries:
            terms = _query_terms(q)
            ns, _ = time_call(lambda terms=terms: fulltext.search(
                conn, KB_INDEX, terms, match_all=False, prefix=False, limit=limit))
            index_only.append(ns)
    return {
        "queries": len(queries), "passes": passes, "limit": limit, **summarize(samples),
        "answered_rate": sum(1 for n in returned if n) / len(returned),
        "index_query_only": summarize(index_only),
        "per_query_median_ms": [statistics.median(v) / 1e6 for v in per_query],
    }


BUCKETS = ((0.0, 0.10), (0.10, 0.25), (0.25, 0.50), (0.50, 1.01))


def by_matches(counts: list[int], sections: int, per_query_ms: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Median latency per backend of the queries grouped by the share of sections they match."""
    out = []
    for low, high in BUCKETS:
        idx = [i for i, c in enumerate(counts) if low <= c / sections < high]
        if idx:
            out.append({
                "share": f"{low:.0%}–{min(high, 1.0):.0%}", "queries": len(idx),
                **{name: statistics.median(ms[i] for i in idx) for name, ms in per_query_ms.items()},
            })
    return out


def change_file(path: Path, prose: _Prose) -> None:
    """Append a paragraph: a new size and mtime, so reindex must read, parse and store it."""
    with path.open("a", encoding="utf-8") as f:
        f.write("\n" + prose.paragraph() + "\n")


def timed_reindex(kb: LocalKnowledgeBase, expect_updated: str | None) -> int:
    ns, report = time_call(kb.reindex)
    updated = tuple(report.updated)
    if (expect_updated is None and (updated or report.added)) or (
        expect_updated is not None and updated != (expect_updated,)
    ):
        raise RuntimeError(f"reindex did not see exactly the changed file {expect_updated}: {report}")
    return ns


def run(workdir: Path, backends: dict[str, str], *, articles: int, queries: int, passes: int,
        changes: int, limit: int, seed: int) -> dict[str, Any]:
    """All knowledge-base figures, each database indexing the same generated folder."""
    root = workdir / "kb-articles"
    corpus = generate_articles(root, count=articles, seed=seed)
    log(f"  generated {corpus['files']:,} articles ({corpus['bytes'] / 1e6:.1f} MB)")
    engines: dict[str, Engine] = {}
    kbs: dict[str, LocalKnowledgeBase] = {}
    out: dict[str, Any] = {"corpus": corpus, "backends": {}}
    try:
        for name, url in backends.items():
            engines[name] = engine = make_engine(url)
            schema.upgrade(engine)
            kbs[name] = kb = LocalKnowledgeBase(engine, root)
            index = full_index(kb)
            out["backends"][name] = {"full_index": index}
            log(f"  {name}: full index {index['seconds']:.1f} s, {index['sections']:,} sections")

        query_list = make_queries(count=queries, seed=seed + 1)
        first = next(iter(engines))
        sections = out["backends"][first]["full_index"]["sections"]
        counts = matching_sections(engines[first], query_list)
        out["query_matches"] = match_stats(counts, sections)
        for name, kb in kbs.items():
            result = measure_search(kb, engines[name], query_list, passes=passes, limit=limit)
            out["backends"][name]["search"] = result
            log(f"  {name}: search p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms "
                f"(index query alone p50 {result['index_query_only']['p50_ms']:.2f} ms)")
        out["latency_by_matches"] = by_matches(
            counts, sections, {name: out["backends"][name]["search"]["per_query_median_ms"] for name in kbs}
        )

        # An unchanged reindex is the floor of every reindex: walking and stat-ing every file
        # and loading every document row. Shown next to the one-file figure to explain it.
        for name, kb in kbs.items():
            floor = [timed_reindex(kb, None) for _ in range(10)]
            out["backends"][name]["reindex_unchanged"] = summarize(floor)

        rng = random.Random(seed + 2)
        files = sorted(p for p in root.rglob("*.md"))
        prose = _Prose(seed + 3)
        samples: dict[str, list[int]] = {name: [] for name in kbs}
        changed = rng.sample(files, changes)  # a different file each time
        with quiet_gc():
            for path in changed:
                change_file(path, prose)
                rel = path.relative_to(root).as_posix()
                for name, kb in kbs.items():
                    samples[name].append(timed_reindex(kb, rel))
        for name in kbs:
            out["backends"][name]["reindex_one"] = summarize(samples[name])
            s = out["backends"][name]["reindex_one"]
            log(f"  {name}: reindex one changed file p50 {s['p50_ms']:.1f} ms, max {s['max_ms']:.1f} ms")
    finally:
        for engine in engines.values():
            engine.dispose()
    return out
