"""How a client's name goes into a greeting: capitalised, civility spelled out, and no
personal greeting for a company ("Dear Acme Inc," reads wrong: "Hello," does not)."""

from __future__ import annotations

from core.text import fold

# Legal forms that say "this is a company" (folded, without the full stop).
_COMPANY_FORMS = {
    "inc", "ltd", "llc", "llp", "plc", "corp", "corporation", "co", "company", "limited",
    "gmbh", "ag", "bv", "nv", "srl", "spa", "sa", "sas", "sasu", "sarl", "eurl", "sci", "scop",
    "oy", "ab", "as", "pty", "kk",
}  # fmt: skip
# French civilities are written out in a greeting; English ones are kept as they are.
_CIVILITIES = {
    "mme": "Madame",
    "m": "Monsieur",
    "mlle": "Mademoiselle",
    "mr": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "dr": "Dr",
    "pr": "Pr",
}
# Particles stay lowercase inside a name ("Anne de la Tour", "Ludwig van Beethoven").
_PARTICLES = {"de", "du", "des", "la", "le", "d", "van", "von", "der", "den", "di", "da"}


def is_company(name: str) -> bool:
    return any(fold(word) in _COMPANY_FORMS for word in _words(name)[1:])


def _words(name: str) -> list[str]:
    # Split on ordinary spaces only: a no-break space the user typed stays where it is.
    return [w for w in name.split(" ") if w]


def greeting_name(name: str) -> str | None:
    """The name as a greeting says it, or None when a neutral greeting fits (a company)."""
    words = _words(name)
    if not words or is_company(name):
        return None
    civility = _CIVILITIES.get(fold(words[0]).replace(" ", ""))
    # "M" alone is an initial, not "Monsieur": only "M." is.
    if civility and len(words) > 1 and (fold(words[0]) != "m" or words[0].endswith(".")):
        words = [civility, *words[1:]]
    rest = words[1:] if civility and words[0] == civility else words
    if all(w == w.lower() for w in rest):
        # Typed all lowercase: capitalise. Mixed case ("McKenzie", "deBois") is as meant.
        rest = [_capitalise(w, first=(i == 0 and rest is words)) for i, w in enumerate(rest)]
    return " ".join([*words[: len(words) - len(rest)], *rest])


def _capitalise(word: str, *, first: bool) -> str:
    if not first and word in _PARTICLES:
        return word
    for sep in ("-", "'", "’"):
        if sep in word:
            head, _, tail = word.partition(sep)
            if sep != "-" and head in _PARTICLES:  # d'Arc, l'Hermite
                return f"{head}{sep}{_capitalise(tail, first=True)}"
            return f"{_capitalise(head, first=first)}{sep}{_capitalise(tail, first=True)}"
    return word[:1].upper() + word[1:]


# Civilities left out when two spellings of one client are compared ("Mme Dupont", "Dupont").
_MATCH_CIVILITIES = {*_CIVILITIES, "madame", "monsieur", "mademoiselle", "miss", "mister"}


def match_key(name: str) -> str:
    """The key two spellings of one client share, for finding them in the journal: case,
    accents, spacing, hyphens and punctuation folded, a leading civility and trailing legal
    forms dropped ("Mme Anne-Marie Dupont" and "anne marie DUPONT", "ACME, Inc." and "Acme").
    "" when nothing is left to compare."""
    words = fold(name).replace("-", " ").split()
    if len(words) > 1 and words[0] in _MATCH_CIVILITIES:
        words = words[1:]
    while len(words) > 1 and words[-1] in _COMPANY_FORMS:
        words = words[:-1]
    return " ".join(words)
