"""Document types (formation, offer, company, métier): fields, Elasticsearch mapping and to_document()."""
from mappings import company, formation, metier, offer

#: Document types returned by a match, in the order results are listed by default.
MATCH_KINDS = ("formation", "offer", "company")
MODULES = {"formation": formation, "offer": offer, "company": company, "metier": metier}

__all__ = ["MATCH_KINDS", "MODULES", "company", "formation", "metier", "offer"]
