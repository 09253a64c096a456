"""Names and addresses that read French: surnames, trade words, streets, company names, folded spellings."""
from __future__ import annotations

import random
import re
import unicodedata

from app.referentials import Commune

SURNAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
    "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
    "Faure", "Rousseau", "Blanc", "Guerin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin",
    "Mathieu", "Clement", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez",
    "Gerard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Roche", "Roy",
    "Noel", "Meyer", "Lucas", "Meunier", "Jean", "Perez", "Marchand", "Dufour", "Blanchard", "Marie", "Barbier",
    "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Fernandez", "Pierre", "Renard", "Arnaud",
    "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard",
    "Gaillard", "Philippe", "Leclercq", "Lacroix", "Fabre", "Dupuis", "Olivier", "Rodriguez", "Da Silva",
    "Hoarau", "Payet", "Grondin", "Rivière", "Jacques", "Louis", "Charles",
]
# A word that reads like the trade of a NAF division, for company names ("Boulangerie Martin").
TRADE_WORDS: dict[str, list[str]] = {
    "01": ["Ferme", "EARL", "GAEC", "Domaine"], "02": ["Exploitation forestière"], "03": ["Pêcheries"],
    "10": ["Boulangerie", "Pâtisserie", "Boucherie", "Charcuterie", "Fromagerie", "Biscuiterie"],
    "11": ["Brasserie artisanale", "Distillerie", "Domaine"], "13": ["Tissage"], "14": ["Atelier couture"],
    "16": ["Menuiserie", "Scierie"], "18": ["Imprimerie"], "20": ["Laboratoires"], "21": ["Laboratoires"],
    "22": ["Plasturgie"], "23": ["Verrerie", "Céramiques"], "25": ["Métallerie", "Chaudronnerie"],
    "26": ["Électronique"], "27": ["Électrotechnique"], "28": ["Mécanique de précision"],
    "29": ["Équipements automobiles"], "30": ["Constructions navales"], "31": ["Meubles"],
    "33": ["Maintenance industrielle"], "35": ["Énergies"], "38": ["Recyclage", "Environnement"],
    "41": ["Constructions", "Bâtiment"], "42": ["Travaux publics", "Terrassement"],
    "43": ["Électricité", "Plomberie", "Maçonnerie", "Peinture", "Couverture", "Charpente", "Chauffage"],
    "45": ["Garage", "Carrosserie", "Automobiles"], "46": ["Distribution", "Négoce"],
    "47": ["Épicerie", "Boutique", "Pharmacie", "Optique", "Fleurs", "Librairie", "Supermarché", "Bricolage"],
    "49": ["Transports"], "52": ["Logistique"], "53": ["Coursiers"], "55": ["Hôtel", "Camping"],
    "56": ["Restaurant", "Brasserie", "Café", "Pizzeria", "Traiteur", "Crêperie"], "58": ["Éditions"],
    "59": ["Productions"], "61": ["Télécom"], "62": ["Informatique", "Solutions numériques", "Digital"],
    "63": ["Data"], "64": ["Finance"], "65": ["Assurances"], "66": ["Courtage"],
    "68": ["Immobilier", "Agence immobilière"], "69": ["Cabinet comptable", "Cabinet juridique"],
    "70": ["Conseil"], "71": ["Bureau d'études", "Architectes"], "72": ["Recherche"],
    "73": ["Agence de communication"], "74": ["Studio photo", "Design"], "75": ["Clinique vétérinaire"],
    "77": ["Location"], "78": ["Intérim", "Emploi"], "79": ["Voyages"], "80": ["Sécurité"],
    "81": ["Propreté", "Nettoyage", "Paysages"], "82": ["Services"],
    "84": ["Mairie", "Communauté de communes"], "85": ["École", "Institut de formation"],
    "86": ["Clinique", "Cabinet médical", "Laboratoire d'analyses"], "87": ["EHPAD", "Résidence"],
    "88": ["Crèche", "Aide à domicile"], "90": ["Théâtre", "Compagnie"], "91": ["Médiathèque"],
    "93": ["Club sportif", "Salle de sport"], "94": ["Association"], "95": ["Réparation"],
    "96": ["Salon de coiffure", "Institut de beauté", "Pressing"],
}
GENERIC_WORDS = ["Établissements", "Société", "Groupe", "Entreprise", "Atelier", "Maison"]
LEGAL_FORMS = ["SARL", "SAS", "SASU", "EURL", "SA", "", "", ""]
STREETS = [
    "RUE DE LA REPUBLIQUE", "RUE VICTOR HUGO", "AVENUE JEAN JAURES", "RUE DU GENERAL DE GAULLE", "GRANDE RUE",
    "RUE PASTEUR", "PLACE DE LA MAIRIE", "RUE DE LA GARE", "ROUTE NATIONALE", "RUE DES ECOLES",
    "AVENUE DE LA LIBERATION", "RUE DU MOULIN", "ZONE ARTISANALE", "RUE JULES FERRY", "BOULEVARD GAMBETTA",
    "RUE DE L'EGLISE", "CHEMIN DES VIGNES", "RUE NATIONALE", "AVENUE DE VERDUN", "RUE DU COMMERCE",
    "RUE DES ARTISANS", "ZONE INDUSTRIELLE", "RUE ANATOLE FRANCE", "PLACE DU MARCHE", "RUE DU STADE",
]


def fold_upper(name: str) -> str:
    """Upper case without accents, as SIRENE and France Travail write commune names."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def slug(name: str) -> str:
    """Lower-case ASCII words joined by dashes, for example e-mail addresses and URLs."""
    return re.sub(r"[^a-z0-9]+", "-", fold_upper(name).lower()).strip("-")[:40]


def company_name(rng: random.Random, naf: str, division: str, commune: Commune) -> tuple[str, str]:
    """(trade name, legal name) that read like a French company of that activity."""
    word = rng.choice(TRADE_WORDS.get(division) or GENERIC_WORDS)
    surname = rng.choice(SURNAMES)
    pattern = rng.randrange(6)
    if pattern == 0:
        name = f"{word} de {commune.name}"
    elif pattern == 1:
        name = f"{word} {surname} et Fils"
    elif pattern == 2:
        name = f"{surname} {rng.choice(SURNAMES)}"
    elif pattern == 3:
        name = f"{word} {surname} {rng.choice('ABCDEFGHJLMNPRST')}."
    else:
        name = f"{word} {surname}"
    form = rng.choice(LEGAL_FORMS)
    legal = fold_upper(f"{form} {name}".strip() if pattern != 2 else f"{form} {surname} ET ASSOCIES".strip())
    return name, legal
