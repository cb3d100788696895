"""``edigw keys`` (the gateway's signing keys) and ``edigw verify`` (a signed document).

Contracts (issue #5):

* ``edigw keys generate`` makes the signing key if there is none; ``edigw keys list`` prints one
  line per key: key id, status (current/retired), validity, subject; ``edigw keys rotate`` retires
  the current key (its certificate stays in ``<keys>/archive/`` so that what it signed still
  verifies) and makes a new one. Running gateways pick the new key up when restarted.
* ``edigw verify FILE [--partner ID]``: exit 0 when the signature is valid (who signed it on
  stdout), exit 1 when it is not, with the reason code on stderr as ``CODE<TAB>sentence``.
  A document signed by the gateway (current or retired key) or by any ministry in the trust
  store is checked, with exactly the rules the gateway applies to ministry messages.
* ``edigw keys dev-sign --partner ID FILE``: sign FILE with the development key of a ministry
  (made on first run under the state directory): for trying the gateway out, never production.

Every command that prints takes ``--json`` (one object per line, issue #19), and ``-h``.

>>> from click.testing import CliRunner
>>> import tempfile
>>> env = {"EDIGW_STATE_DIR": tempfile.mkdtemp()}
>>> CliRunner().invoke(keys, ["generate"], env=env, obj={}).exit_code
0
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from gateway.interfaces.context import EXIT_REJECTED, EXIT_USAGE, app_of
from gateway.interfaces.operators.conventions import json_line, terminal_line

HELP = {"help_option_names": ["-h", "--help"]}
_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")


@click.group(context_settings=HELP)
def keys() -> None:
    """The gateway's signing keys: generate, list, rotate (old certificates stay for verification)."""


@keys.command()
@_JSON
@click.pass_context
def generate(ctx: click.Context, as_json: bool) -> None:
    """Make the signing key and certificate at the configured paths, unless they exist."""
    from cryptography import x509

    from gateway.security.signing import ensure_dev_keys, key_id

    settings = app_of(ctx).settings
    existed = settings.signing_key.exists() and settings.signing_cert.exists()
    ensure_dev_keys(settings.signing_key, settings.signing_cert)
    cert = x509.load_pem_x509_certificate(settings.signing_cert.read_bytes())
    state = "exists" if existed else "generated"
    if as_json:
        click.echo(
            json_line({"key_id": key_id(cert), "state": state, "key": str(settings.signing_key)})
        )
    else:
        click.echo(f"{key_id(cert)}\t{state}\t{settings.signing_key}")


@keys.command(name="list")
@_JSON
@click.pass_context
def list_keys(ctx: click.Context, as_json: bool) -> None:
    """One line per key: key id, current or retired, valid from, valid until, subject."""
    from cryptography import x509

    from gateway.security.signing import key_id
    from gateway.security.trust import archive_dir, load_certificates

    settings = app_of(ctx).settings
    rows: list[tuple[x509.Certificate, str]] = []
    if settings.signing_cert.exists():
        rows += [(c, "current") for c in load_certificates(settings.signing_cert.read_bytes())]
    archive = archive_dir(settings)
    if archive.is_dir():
        for path in sorted(archive.glob("*.cert.pem")):
            rows += [(c, "retired") for c in load_certificates(path.read_bytes())]
    if not rows:
        click.echo("no signing key yet (edigw keys generate)", err=True)
        sys.exit(EXIT_REJECTED)
    for cert, status in rows:
        if as_json:
            click.echo(
                json_line(
                    {
                        "key_id": key_id(cert),
                        "status": status,
                        "valid_from": cert.not_valid_before_utc.isoformat(),
                        "valid_until": cert.not_valid_after_utc.isoformat(),
                        "subject": cert.subject.rfc4514_string(),
                    }
                )
            )
            continue
        click.echo(
            terminal_line(
                f"{key_id(cert)}\t{status}\t{cert.not_valid_before_utc.date()}\t"
                f"{cert.not_valid_after_utc.date()}\t{cert.subject.rfc4514_string()}"
            )
        )


@keys.command()
@_JSON
@click.pass_context
def rotate(ctx: click.Context, as_json: bool) -> None:
    """Retire the current key (its certificate is archived) and make a new one; print both ids."""
    from cryptography import x509

    from gateway.security.signing import ensure_dev_keys, key_id
    from gateway.security.trust import archive_dir

    app = app_of(ctx)
    settings = app.settings
    key_path, cert_path = settings.signing_key, settings.signing_cert
    if not (key_path.exists() and cert_path.exists()):
        click.echo("no current key to rotate (edigw keys generate)", err=True)
        sys.exit(EXIT_REJECTED)
    old = x509.load_pem_x509_certificate(cert_path.read_bytes())
    old_id = key_id(old)
    archive = archive_dir(settings)
    archive.mkdir(parents=True, exist_ok=True)
    stamp = app.clock().strftime("%Y%m%dT%H%M%SZ")
    shutil.copyfile(cert_path, archive / f"{stamp}-{old_id}.cert.pem")
    # The retired private key is destroyed: it must never sign again, and verification needs
    # only the certificate.
    key_path.unlink()
    cert_path.unlink()
    ensure_dev_keys(key_path, cert_path)
    new_id = key_id(x509.load_pem_x509_certificate(cert_path.read_bytes()))
    if as_json:
        click.echo(json_line({"retired": old_id, "current": new_id}))
    else:
        click.echo(f"retired\t{old_id}\ncurrent\t{new_id}")


@keys.command(name="dev-sign")
@click.option("--partner", "partner_id", required=True, help="A ministry partner id.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def dev_sign(ctx: click.Context, partner_id: str, out: Path | None, file: Path) -> None:
    """Sign FILE as a ministry with its DEVELOPMENT key (only when [trust] dir is unset)."""
    from gateway.domain.xmlsafe import UnsafeXmlError, parse
    from gateway.security.trust import trust_settings

    app = app_of(ctx)
    settings = app.settings
    ts = trust_settings(settings)
    partner = settings.partners.get(partner_id)
    if partner is None or partner.role != "ministry":
        click.echo(f"{partner_id!r} is not a ministry partner", err=True)
        sys.exit(EXIT_USAGE)
    if not ts.development:
        click.echo("dev-sign works with development anchors only ([trust] dir is set)", err=True)
        sys.exit(EXIT_USAGE)
    try:
        root = parse(file.read_bytes())
    except UnsafeXmlError as exc:
        click.echo(f"{exc.reason}\t{exc.sentence}", err=True)
        sys.exit(EXIT_REJECTED)
    pki = app.dev_pki()
    if pki is None or partner_id not in pki.identities:
        click.echo(f"{partner_id} has an installed anchor but no development key", err=True)
        sys.exit(EXIT_USAGE)
    signed = pki.sign(partner_id, root)
    if out is None:
        sys.stdout.buffer.write(signed)
    else:
        out.write_bytes(signed)
        click.echo(str(out))


@click.command(context_settings=HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--partner", "partner_id", default=None, help="Require this signer (partner id or 'gateway')."
)
@_JSON
@click.pass_context
def verify(ctx: click.Context, file: Path, partner_id: str | None, as_json: bool) -> None:
    """Check FILE's signature against the trust store: exit 0 valid, 1 invalid (reason on stderr)."""
    from gateway.security.trust import TrustError, signer_summary

    store = app_of(ctx).verifying_trust()
    try:
        verified = store.verify(file.read_bytes(), partner_id)
    except TrustError as exc:
        if as_json:
            click.echo(json_line({"valid": False, "reason": exc.reason, "sentence": exc.sentence}))
        click.echo(terminal_line(f"{exc.reason}\t{exc.sentence}"), err=True)
        sys.exit(EXIT_REJECTED)
    summary = signer_summary(verified.certificate)
    if as_json:
        click.echo(
            json_line(
                {
                    "valid": True,
                    "partner": verified.partner,
                    "subject": summary["subject"],
                    "sha256": summary["sha256"],
                }
            )
        )
        return
    click.echo(
        terminal_line(
            f"valid\t{verified.partner}\t{summary['subject']}\tsha256:{summary['sha256']}"
        )
    )


def register(main: click.Group) -> None:
    """Add ``keys`` and ``verify`` to the ``edigw`` group."""
    main.add_command(keys)
    main.add_command(verify)
