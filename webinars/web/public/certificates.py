"""A registrant's certificate (PDF), and the public page that says a certificate is genuine."""

from __future__ import annotations

from flask import Response, render_template

from ...registrations import certificates
from ..headers import PRIVATE
from . import bp


@bp.get("/registrations/<token>/certificate.pdf")
def certificate_pdf(token: str):
    """The certificate of a registrant who earned one; 404 until they have."""
    certificate = certificates.for_registration(token)
    return Response(certificates.pdf(certificate), content_type="application/pdf", headers={
        "Content-Disposition": "inline; filename=certificate.pdf", **PRIVATE})


@bp.get("/certificates/<code>")
def certificate(code: str):
    """Name, event and date of the certificate with this code; a plain 404 for any other."""
    found = certificates.by_code(code)
    return render_template("public/certificate.html", certificate=found), 200, {
        "X-Robots-Tag": "noindex", "Cache-Control": "no-store"}
