"""Finds ideas that say the same thing, in English, in Norwegian, or one in each.

The method (chosen by measuring it; see docs/benchmarks.md): each idea becomes a set of
features, the character trigrams of its words after stop words are dropped and Norwegian
product words are mapped to English ones; two ideas are as similar as the cosine of their
sets. An inverted index over the features keeps a lookup among many ideas fast.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Words that carry no idea of their own, in the two languages ideabot speaks.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "so",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "be",
        "been",
        "was",
        "were",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "their",
        "there",
        "here",
        "what",
        "which",
        "who",
        "when",
        "where",
        "why",
        "how",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "not",
        "no",
        "yes",
        "please",
        "want",
        "wish",
        "like",
        "would",
        "let",
        "make",
        "add",
        "more",
        "less",
        "also",
        "just",
        "very",
        "too",
        "really",
        "get",
        "give",
        "have",
        "has",
        "had",
        "app",
        "some",
        "any",
        "all",
        "each",
        "every",
        "than",
        "then",
        "so",
        "about",
        "into",
        "out",
        "up",
        "down",
        "og",
        "i",
        "på",
        "av",
        "til",
        "for",
        "med",
        "fra",
        "som",
        "er",
        "var",
        "være",
        "vært",
        "det",
        "den",
        "de",
        "dem",
        "deres",
        "der",
        "her",
        "hva",
        "hvem",
        "hvor",
        "hvorfor",
        "hvordan",
        "kan",
        "kunne",
        "vil",
        "ville",
        "skal",
        "skulle",
        "må",
        "gjør",
        "gjøre",
        "ikke",
        "nei",
        "ja",
        "takk",
        "gjerne",
        "la",
        "meg",
        "min",
        "mitt",
        "mine",
        "vi",
        "vår",
        "våre",
        "du",
        "deg",
        "din",
        "ditt",
        "dine",
        "han",
        "hun",
        "en",
        "et",
        "ei",
        "noe",
        "noen",
        "alle",
        "hver",
        "enn",
        "så",
        "om",
        "inn",
        "ut",
        "opp",
        "ned",
        "også",
        "bare",
        "veldig",
        "for",
        "mye",
        "appen",
    ]
)

# Norwegian product words and their English counterparts, so ideas match across languages.
# Written for ideabot's domain (shops, apps, accounts, payments); extend it as ideas come in.
NB_TO_EN = {
    "mørk": "dark",
    "mørkt": "dark",
    "mørke": "dark",
    "modus": "mode",
    "tema": "theme",
    "skrift": "font",
    "skriften": "font",
    "skriftstørrelse": "font size",
    "skriftstørrelsen": "font size",
    "tekst": "text",
    "teksten": "text",
    "større": "bigger",
    "liten": "small",
    "lys": "bright",
    "skjermen": "screen",
    "skjerm": "screen",
    "eksport": "export",
    "eksporter": "export",
    "last": "download",
    "laste": "download",
    "regneark": "spreadsheet",
    "transaksjoner": "transactions",
    "transaksjonene": "transactions",
    "importer": "import",
    "banken": "bank",
    "bankkontoen": "bank account",
    "koble": "connect",
    "automatisk": "automatically",
    "varsel": "notification",
    "varsler": "notifications",
    "bestilling": "order",
    "bestillingen": "order",
    "bestillinger": "orders",
    "bestillingene": "orders",
    "sendt": "shipped",
    "pakken": "package",
    "epost": "email",
    "eposter": "emails",
    "eposten": "email",
    "epostene": "emails",
    "nyhetsbrev": "newsletters",
    "reklame": "marketing",
    "færre": "fewer",
    "nett": "internet",
    "frakoblet": "offline",
    "flyet": "plane",
    "raskere": "faster",
    "oppstart": "startup",
    "starte": "start",
    "telefoner": "phones",
    "betaling": "payment",
    "betalingsmåte": "payment method",
    "faktura": "invoice",
    "fakturaen": "invoice",
    "fakturaer": "invoices",
    "regnskapet": "accounting",
    "innlogging": "login",
    "tofaktorautentisering": "two factor authentication",
    "totrinnsbekreftelse": "two factor",
    "autentiseringsapp": "authenticator",
    "kontoen": "account",
    "konto": "account",
    "passord": "password",
    "passordet": "password",
    "tilbakestille": "reset",
    "glemt": "forgotten",
    "enklere": "easier",
    "vanskelig": "hard",
    "synkroniser": "sync",
    "kalender": "calendar",
    "kalenderen": "calendar",
    "avtaler": "appointments",
    "oppdateringer": "updates",
    "kanalen": "channel",
    "integrasjon": "integration",
    "søk": "search",
    "søke": "search",
    "ordrehistorikken": "order history",
    "gamle": "old",
    "finne": "find",
    "filtrer": "filter",
    "prisfilter": "price filter",
    "pris": "price",
    "produkter": "products",
    "butikken": "shop",
    "gavekort": "gift card",
    "venn": "friend",
    "kjøpe": "buy",
    "selg": "sell",
    "ønskeliste": "wishlist",
    "lagre": "save",
    "varer": "items",
    "liste": "list",
    "senere": "later",
    "familien": "family",
    "familiekontoer": "family accounts",
    "barna": "kids",
    "abonnementet": "subscription",
    "slette": "delete",
    "dataene": "data",
    "knapp": "button",
    "kundeservice": "customer service",
    "kundestøtte": "support",
    "direktechat": "live chat",
    "snakke": "talk",
    "åpningstider": "opening hours",
    "lengre": "longer",
    "helgene": "weekends",
    "lørdager": "saturdays",
    "levering": "delivery",
    "leveransen": "delivery",
    "kaffe": "coffee",
    "måned": "month",
    "gjentakende": "recurring",
    "spor": "track",
    "kart": "map",
    "budet": "courier",
    "skjermleser": "screen reader",
    "brukbar": "work",
    "støtte": "support",
    "blinde": "blind",
    "brukere": "users",
    "engelsk": "english",
    "oversett": "translate",
    "nettsiden": "website",
    "hjemskjermen": "home screen",
    "saldoen": "balance",
    "tallene": "numbers",
    "siste": "latest",
    "regningen": "bill",
    "venner": "friends",
    "kostnaden": "cost",
    "flere": "several",
    "kvittering": "receipt",
    "kvitteringen": "receipt",
    "kjøp": "purchase",
    "studentrabatt": "student discount",
    "rabatt": "discount",
    "studenter": "students",
    "lavere": "cheaper",
    "priser": "prices",
}


def _words(text: str, glossary: Mapping[str, str]) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    words: list[str] = []
    for word in _WORD.findall(folded.replace("-", "")):
        if word in STOP_WORDS:
            continue
        words.extend(glossary.get(word, word).split())
    return words


def features(text: str, glossary: Mapping[str, str] | None = None) -> frozenset[str]:
    """The idea's features: trigrams of its meaningful words (Norwegian mapped to English)."""
    grams: set[str] = set()
    for word in _words(text, NB_TO_EN if glossary is None else glossary):
        padded = f" {word} "
        grams.update(padded[index : index + 3] for index in range(len(padded) - 2))
    return frozenset(grams)


def similarity(first: str, second: str, glossary: Mapping[str, str] | None = None) -> float:
    """How alike two ideas are, from 0 (nothing shared) to 1 (the same features)."""
    a, b = features(first, glossary), features(second, glossary)
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


@dataclass(frozen=True, slots=True)
class Match:
    """An existing idea and how alike it is to the one looked up."""

    idea_id: int
    score: float
    # Found through a wording the team confirmed as this idea's (a face), not its own text.
    through_face: bool = False


class SimilarityIndex:
    """An inverted index of ideas' features, for finding the most alike quickly."""

    def __init__(self) -> None:
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._sizes: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._sizes)

    def add(self, idea_id: int, text: str) -> None:
        """Index an idea (once; a second add of the same id is ignored)."""
        if idea_id in self._sizes:
            return
        grams = features(text)
        self._sizes[idea_id] = len(grams)
        for gram in grams:
            self._postings[gram].append(idea_id)

    def search(self, text: str, *, limit: int = 3, at_least: float = 0.0) -> list[Match]:
        """The ideas most alike ``text``, best first, scoring at least ``at_least``."""
        grams = features(text)
        if not grams:
            return []
        # Counter counts a chain of posting lists in C: most of a lookup's time is here.
        shared = Counter(
            itertools.chain.from_iterable(self._postings.get(gram, ()) for gram in grams)
        )
        size = len(grams)
        sizes = self._sizes
        # Two sets of sizes m and n share at most min(m, n) features: skip those that cannot
        # reach ``at_least`` before computing a square root for them.
        needed = at_least * math.sqrt(size)
        matches = []
        for idea_id, count in shared.items():
            if count >= needed * math.sqrt(sizes[idea_id]):
                matches.append(Match(idea_id, count / math.sqrt(size * sizes[idea_id])))
        matches.sort(key=lambda match: (-match.score, match.idea_id))
        return matches[:limit]
