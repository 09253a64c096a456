"""Text normalisation shared by the métier index and its queries: folding, stop words, light French stemming."""
from __future__ import annotations

import re

from app.referentials.communes import fold as _fold_accents

__all__ = ["MAX_QUERY_CHARS", "MAX_QUERY_TOKENS", "SOFT_WORDS", "STOPWORDS", "fold", "stem", "tokens"]

# The API accepts 200 characters; anything longer is cut before work is done on it.
MAX_QUERY_CHARS = 200
# A job title rarely has more than 8 meaningful words; a pasted paragraph must not cost 100 lookups.
MAX_QUERY_TOKENS = 12

# Ligatures that Unicode decomposition leaves whole: without this "Œnologue" would fold to "nologue"
# and "Manœuvre" to "manuvre".
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})


def fold(text: str) -> str:
    """Lower-case, ligatures spelt out, accents stripped, punctuation turned into single spaces."""
    return _fold_accents(text.translate(_LIGATURES))


# Function words: they carry no job meaning in a label or in a query.
STOPWORDS = frozenset(fold(w) for w in """
a à au aux avec c ce ces cet cette chez d dans de des du en et l la le les leur leurs ma mes mon ou où par
pour qu que qui s sa se ses sur ta tes ton un une y n ne pas plus tres très
je j tu il elle on nous vous ils elles moi m t
""".split())

# Words of intent sentences ("je veux travailler avec ..."), apprenticeship vocabulary, diploma
# levels (the level is a separate filter of the match API) and gender markers of job ads ("H/F").
# They stay in queries with a small weight rather than being dropped, because some are also real
# parts of job titles ("Chargé de formation", "Responsable de poste").
SOFT_WORDS = frozenset(fold(w) for w in """
veux voudrais voudrai aimerais aimerai aime adore souhaite souhaiterais cherche recherche trouver
travailler travaille bosser faire fais devenir etre être apprendre bien bon bonne
metier metiers métier métiers emploi emplois job jobs taf boulot poste postes travail
alternance alternant alternante apprentissage apprenti apprentie apprentis stage stagiaire contrat
cdi cdd interimaire h f hf fh
bac cap bts but dut licence master niveau diplome diplôme formation formations pro professionnel
secteur domaine genre type quelque chose truc
""".split())

# Longest first so that "euse" wins over "se" and "trice" over "ice".
_SUFFIXES = (
    ("trices", "teur"), ("trice", "teur"), ("euses", "eur"), ("euse", "eur"), ("iennes", "ien"),
    ("ienne", "ien"), ("ieres", "ier"), ("iere", "ier"), ("eres", "er"), ("ere", "er"), ("antes", "ant"),
    ("ante", "ant"), ("entes", "ent"), ("ente", "ent"), ("elles", "el"), ("elle", "el"), ("ettes", "et"),
    ("ette", "et"), ("ives", "if"), ("ive", "if"), ("ffes", "f"), ("ffe", "f"), ("aux", "al"),
    ("ales", "al"), ("ale", "al"), ("nnes", "n"), ("nne", "n"), ("ees", "e"), ("ee", "e"),
    ("tes", "t"), ("te", "t"), ("des", "d"), ("de", "d"),
)
# The bare "-te"/"-de" endings ("avocate", "marchande") need a longer base, or "vente" would become "vent".
_SHORT_BASE_SUFFIXES = frozenset({"tes", "te", "des", "de"})
_WORD_RE = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """A light stem that makes feminine and plural forms meet the masculine singular.

    Job titles come in pairs ("Boulanger / Boulangère", "Conducteur / Conductrice") and people type
    either form, plural or not; a full French stemmer would also merge unrelated words
    ("commerce"/"commercial"), so only gender and number endings are removed.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        base = len(word) - len(suffix)
        if word.endswith(suffix) and base >= (4 if suffix in _SHORT_BASE_SUFFIXES else 2):
            return word[: -len(suffix)] + replacement
    if word.endswith(("s", "x")) and not word.endswith(("ss", "us", "is")) and len(word) > 4:
        return word[:-1]
    return word


def tokens(text: str, keep_stopwords: bool = False) -> list[str]:
    """Folded words of `text`, stop words removed unless asked to keep them."""
    words = _WORD_RE.findall(fold(text))
    return words if keep_stopwords else [w for w in words if w not in STOPWORDS]
