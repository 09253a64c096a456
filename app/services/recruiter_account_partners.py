"""The companies a CFA account publishes offers for (its partner companies), each checked by SIRET."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.services.recruiter_account_base import AccountBase, company_columns
from app.services.recruiter_account_errors import NotAllowed
from app.store import cfa_partner_companies, write_tx


class AccountPartners(AccountBase):
    """A CFA account's partner companies: added by SIRET (checked like a company account's), listed by name."""

    def add_partner_company(self, cfa: dict[str, Any], siret_text: str, email: str = "",
                            phone: str = "") -> dict[str, Any]:
        """Record a company a CFA account publishes for, its SIRET checked like a company account's."""
        if cfa["kind"] != "cfa":
            raise NotAllowed("Seul un compte CFA gère des entreprises partenaires.", code="forbidden")
        company = self.company(siret_text, "entreprise")
        now = self.clock.now()
        with write_tx(self.store) as conn:
            row = conn.execute(sa.select(cfa_partner_companies).where(
                cfa_partner_companies.c.cfa_account_id == cfa["id"],
                cfa_partner_companies.c.siret == company.siret)).mappings().first()
            if row is not None:
                return dict(row)
            partner_id = conn.execute(sa.insert(cfa_partner_companies).values(
                cfa_account_id=cfa["id"], email=email.strip().lower(), phone=phone.strip(), created_at=now,
                **company_columns(company)).returning(cfa_partner_companies.c.id)).scalar_one()
            return dict(conn.execute(sa.select(cfa_partner_companies)
                                     .where(cfa_partner_companies.c.id == partner_id)).mappings().one())

    def partner_companies(self, cfa: dict[str, Any]) -> list[dict[str, Any]]:
        """The partner companies of a CFA account, by name."""
        with self.store.connect() as conn:
            rows = conn.execute(sa.select(cfa_partner_companies).where(
                cfa_partner_companies.c.cfa_account_id == cfa["id"])
                .order_by(cfa_partner_companies.c.company_name)).mappings().all()
        return [dict(row) for row in rows]
