"""Document types the engines index (formation, offer, company): fields, Elasticsearch mapping and to_document()."""
from mappings import company, formation, offer

MODULES = {"formation": formation, "offer": offer, "company": company}

__all__ = ["MODULES", "company", "formation", "offer"]
