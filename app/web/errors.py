"""French error pages for people: a 404, a 410 for closed offers, a 500 and a 503; the API keeps its JSON."""
from __future__ import annotations

from flask import Flask, render_template, request

#: Title and text of each error page.
PAGES = {
    400: ("Requête invalide", "La demande envoyée n'a pas pu être comprise."),
    404: ("Page non trouvée", "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée."),
    405: ("Action impossible", "Cette action n'est pas possible sur cette page."),
    410: ("Contenu plus disponible",
          "Cette offre n'est plus disponible : elle a expiré, a été pourvue ou annulée."),
    413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée (3 Mo)."),
    429: ("Trop de demandes", "Vous avez fait beaucoup de demandes en peu de temps : réessayez dans un instant."),
    500: ("Erreur inattendue",
          "Désolé, le service rencontre un problème, nous travaillons pour le résoudre le plus rapidement "
          "possible."),
    503: ("Service indisponible", "Le service est momentanément indisponible : réessayez dans quelques minutes."),
}
EXTENSION = "lba.html_errors"


def render_error_page(status: int):
    """The French error page for `status`, with a way back to the search."""
    title, text = PAGES.get(status, PAGES[500])
    template = "widget/error.html" if request.path.startswith("/widget") else "error.html"
    return render_template(template, status=status, title=title, text=text), status


def register_page_errors(app: Flask) -> None:
    """Make app.errors render these pages for every request outside /api/ and /healthz."""
    app.extensions[EXTENSION] = render_error_page
