"""Inburgering gateway: signed intake, consent-checked delivery, tamper-evident audit."""
