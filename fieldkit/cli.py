"""The `fieldkit` console command: set up a commune, its villages and members, sign-in links,
the demo commune. Each command owns its transaction."""

from __future__ import annotations

import io
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from sqlmodel import Session, func, select

from fieldkit import communes, members, migrate, privacy
from fieldkit.config import Settings
from fieldkit.db import make_engine, new_session
from fieldkit.errors import DomainError, Invalid
from fieldkit.models import Commune, Household, Member, Role, Village, utcnow
from fieldkit.vocab import ROLES


@contextmanager
def _session():
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except Invalid as invalid:
        session.rollback()
        raise click.ClickException(" ".join(invalid.errors.values())) from None
    except DomainError as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    finally:
        session.close()
        engine.dispose()


def _the_commune(session: Session) -> Commune:
    found = session.exec(select(Commune)).all()
    if not found:
        raise click.ClickException("Chưa có xã nào. Chạy trước: fieldkit init <mã xã>")
    if len(found) > 1:
        raise click.ClickException("Có nhiều xã; lệnh này chưa hỗ trợ chọn xã.")
    return found[0]


@click.group()
def main() -> None:
    """Fieldkit: ứng dụng hiện trường của Tổ công nghệ số cộng đồng."""
    sys.stdout.reconfigure(encoding="utf-8")


@main.command("migrate")
def migrate_command() -> None:
    """Create or update the database schema."""
    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    click.echo("Cơ sở dữ liệu đã cập nhật.")


@main.command()
@click.argument("code")
def init(code: str) -> None:
    """Create the commune from its official 5-digit code (danh mục sau 01/7/2025)."""
    with _session() as session:
        commune, created = communes.init_commune(session, code)
        word = "Đã tạo" if created else "Đã có"
        click.echo(f"{word}: {commune.name}, {commune.province_name} (mã {commune.code}).")


@main.group()
def village() -> None:
    """Villages (thôn, tổ dân phố) of the commune."""


@village.command("add")
@click.argument("name")
def village_add(name: str) -> None:
    with _session() as session:
        added = communes.add_village(session, _the_commune(session), name)
        click.echo(f"Đã thêm {added.name} (mã {added.id}).")


@main.group()
def member() -> None:
    """People who use Fieldkit."""


@member.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="volunteer")
@click.option("--village", "village_name", help="Tên thôn (bắt buộc với thành viên, tổ trưởng)")
@click.option("--phone")
def member_add(name: str, role: str, village_name: str | None, phone: str | None) -> None:
    with _session() as session:
        commune = _the_commune(session)
        place = None
        if village_name:
            place = session.exec(
                select(Village).where(
                    Village.commune_id == commune.id, Village.name == village_name
                )
            ).first()
            if place is None:
                raise click.ClickException(f"Không có thôn {village_name!r}.")
        added = members.add_member(
            session, commune_id=commune.id, name=name, role=Role(role), village=place, phone=phone
        )
        click.echo(f"Đã thêm {added.name} — {ROLES[added.role]} (mã {added.id}).")


def sign_in_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/signin/{token}"


def _print_link(session: Session, settings: Settings, person: Member, *, qr: bool) -> None:
    token = members.create_sign_in_link(session, person, now=utcnow())
    url = sign_in_url(settings, token)
    click.echo(f"{person.name} — {ROLES[person.role]}:")
    click.echo(f"  {url}")
    if qr:
        import qrcode

        code = qrcode.QRCode(border=1)
        code.add_data(url)
        out = io.StringIO()
        code.print_ascii(out=out, invert=True)
        click.echo(out.getvalue())


@main.command()
@click.argument("who")
@click.option("--no-qr", is_flag=True, help="Chỉ in liên kết, không in mã QR.")
def invite(who: str, no_qr: bool) -> None:
    """Print a one-time sign-in link (24 h) for a member, given by id or phone, with a QR."""
    settings = Settings.from_env()
    with _session() as session:
        person = members.find_member(session, who)
        _print_link(session, settings, person, qr=not no_qr)
        click.echo("Liên kết dùng được một lần, trong 24 giờ.")


@main.command()
@click.option("--households", default=1520, show_default=True, type=click.IntRange(10, 200_000))
@click.option("--seed", default=2025, show_default=True)
@click.option("--if-empty", is_flag=True, help="Không làm gì nếu đã có dữ liệu.")
@click.option("--links", is_flag=True, help="In liên kết đăng nhập cho 3 người dùng mẫu.")
def demo(households: int, seed: int, if_empty: bool, links: bool) -> None:
    """Build the demo commune (modelled on xã Vĩnh Hưng, Vĩnh Lộc, Thanh Hóa)."""
    from fieldkit import demo as demo_data

    settings = Settings.from_env()
    with _session() as session:
        existing = session.exec(select(func.count()).select_from(Household)).one()
        if existing and if_empty:
            click.echo(f"Đã có dữ liệu ({existing} hộ); bỏ qua tạo xã mẫu.")
        elif existing:
            raise click.ClickException(
                "Cơ sở dữ liệu đã có dữ liệu; xã mẫu chỉ tạo trên CSDL trống."
            )
        else:
            summary = demo_data.build(
                session,
                commune_code=settings.demo_commune_code,
                households=households,
                seed=seed,
                now=utcnow(),
            )
            click.echo(summary)
        if links:
            click.echo("\nLiên kết đăng nhập (dùng một lần, trong 24 giờ):")
            for person in demo_data.demo_people(session):
                _print_link(session, settings, person, qr=False)


@main.command()
@click.option("--dry-run", is_flag=True, help="Chỉ liệt kê, không xóa.")
def retention(dry_run: bool) -> None:
    """Erase the personal data of households idle longer than their commune's retention
    period (set by commune staff); their counts stay. Run it daily (cron, systemd timer)."""
    with _session() as session:
        erased = privacy.apply_retention(session, now=utcnow(), dry_run=dry_run)
        if dry_run:
            click.echo(f"Sẽ xóa dữ liệu cá nhân của {len(erased)} hộ quá thời hạn lưu.")
        else:
            click.echo(f"Đã xóa dữ liệu cá nhân của {len(erased)} hộ quá thời hạn lưu.")


@main.command("push-worker")
@click.option("--once", is_flag=True, help="Gửi những gì đến hạn rồi thoát.")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5, 600),
    help="Số giây nghỉ giữa hai lần xem hàng đợi.",
)
def push_worker(once: bool, interval: float) -> None:
    """Send the queued push notifications (Web Push, VAPID). Runs until stopped; --once
    drains what is due and exits. On SQLite run one worker; on PostgreSQL several may run."""
    import time

    from fieldkit import push

    settings = Settings.from_env()
    vapid = push.load_vapid(settings.instance_path, subject=settings.vapid_subject)
    engine = make_engine(settings.database_url)
    try:
        while True:
            with new_session(engine) as session:
                report = push.drain(session, vapid=vapid, now=utcnow())
            if once:
                click.echo(str(report))
                return
            if report.sent or report.retried or report.given_up:
                click.echo(str(report))
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()


@main.command("push-followups")
def push_followups() -> None:
    """Queue today's reminder for each volunteer with follow-ups due today (Vietnam date).
    Run it once each morning (cron, systemd timer); running it twice queues once."""
    from fieldkit import push

    with _session() as session:
        queued = push.queue_follow_ups(session, now=utcnow())
        click.echo(f"Đã xếp {queued} lời nhắc hẹn quay lại hôm nay.")


# --- backups (issue 13): SQLite online backup and restore; PostgreSQL uses pg_dump -------------


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the app keeps running (a consistent snapshot:
    every acknowledged visit). For PostgreSQL use pg_dump (README, Production)."""
    from fieldkit import backup

    settings = Settings.from_env()
    try:
        report = backup.backup(settings.database_url, path)
    except backup.BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"Đã sao lưu: {report}")


@main.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Thay cả khi CSDL đang có dữ liệu.")
def restore_command(path: Path, force: bool) -> None:
    """Replace the SQLite database with the backup at PATH. Stop the app first; refuses a
    database that holds data unless --force. Then run `fieldkit migrate`."""
    from fieldkit import backup

    settings = Settings.from_env()
    try:
        report = backup.restore(settings.database_url, path, force=force)
    except backup.BackupRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"Đã khôi phục: {report}")
    click.echo("Tiếp theo: fieldkit migrate, rồi khởi động lại ứng dụng.")


# --- Importing lists (issue 15) ----------------------------------------------------------------


def _commune_for(session: Session, code: str | None) -> Commune:
    """The commune a command acts on: --commune CODE, or the only one there is."""
    if code:
        found = session.exec(select(Commune).where(Commune.code == code.strip())).first()
        if found is None:
            raise click.ClickException(f"Không có xã nào mang mã {code}.")
        return found
    communes_found = session.exec(select(Commune)).all()
    if len(communes_found) == 1:
        return communes_found[0]
    if not communes_found:
        raise click.ClickException("Chưa có xã nào. Chạy trước: fieldkit init <mã xã>")
    raise click.ClickException("Có nhiều xã: thêm --commune <mã xã>.")


@main.group("import")
def import_group() -> None:
    """Bring a commune's lists in from Excel (.xlsx) or CSV: households, the team."""


def _print_preview(preview: dict) -> None:
    for column in preview.get("dropped") or []:
        click.echo(f"Bỏ cột “{column['header']}”: {column['why']}")
    for problem in preview.get("problems") or []:
        click.echo(f"Lỗi: {problem}")
    if preview.get("grouping"):
        click.echo(preview["grouping"])
    for note in preview.get("notes") or []:
        click.echo(f"Lưu ý: {note}")
    for village in preview.get("new_villages") or []:
        word = "sẽ tạo" if village["create"] else "chưa có (thêm --create-villages để tạo)"
        click.echo(f"Thôn “{village['name']}” ({village['households']} hộ): {word}.")
    for line, reason in preview.get("refused") or []:
        click.echo(f"Dòng {line}: {reason}")
    hidden = (preview.get("refused_total") or 0) - len(preview.get("refused") or [])
    if hidden > 0:
        click.echo(f"… và {hidden} dòng bị từ chối khác.")


def _run_import(
    kind: str,
    path: str,
    *,
    commune_code: str | None,
    village_name: str | None,
    dry_run: bool,
    create_villages: bool = False,
    skip_refused: bool = False,
    links: bool = False,
) -> int:
    from pathlib import Path

    from fieldkit import imports, roster
    from fieldkit.models import ImportKind

    settings = Settings.from_env()
    refused = 0
    with _session() as session:
        commune = _commune_for(session, commune_code)
        importer = imports.Importer.console(commune.id)
        village_id = None
        if village_name:
            village = imports.Villages(communes.villages_of(session, commune.id)).find(village_name)
            if village is None:
                raise click.ClickException(f"Không có thôn {village_name!r}.")
            village_id = village.id
        now = utcnow()
        batch = imports.start(
            session,
            importer,
            kind=ImportKind(kind),
            file_name=Path(path).name,
            data=Path(path).read_bytes(),
            now=now,
            village_id=village_id,
        )
        if create_villages and batch.preview.get("new_villages"):
            keys = [village["key"] for village in batch.preview["new_villages"]]
            imports.configure(session, batch, importer, create_villages=keys, now=now)
        preview = batch.preview
        _print_preview(preview)
        counts = preview.get("counts") or {}
        refused = counts.get("rows_refused", 0) + len(preview.get("problems") or [])
        click.echo(_counts_line(counts, done=False))
        if dry_run or preview.get("problems") or (refused and not skip_refused):
            session.rollback()  # nothing is written, not even the batch
            if not dry_run and refused:
                click.echo(
                    "Chưa đưa vào: có dòng bị từ chối. Sửa tệp rồi chạy lại, hoặc thêm "
                    "--skip-refused để đưa vào các dòng còn lại."
                )
            return 1 if refused else 0
        imports.claim(session, batch, now=now)
        batch = imports.run(session, batch.id, importer, now=now)
        click.echo(_counts_line(batch.counts, done=True))
        if links and kind == "team":
            for person in roster.new_members(session, batch):
                _print_link(session, settings, person, qr=False)
    return 1 if refused else 0


def _counts_line(counts: dict, *, done: bool) -> str:
    if "members_new" in counts:
        parts = [
            f"{counts.get('members_new', 0)} người mới",
            f"{counts.get('members_updated', 0)} cập nhật",
            f"{counts.get('members_unchanged', 0)} không đổi",
        ]
    else:
        parts = [
            f"{counts.get('households_new', 0)} hộ mới",
            f"{counts.get('households_updated', 0)} hộ cập nhật",
            f"{counts.get('households_unchanged', 0)} hộ không đổi",
            f"{counts.get('residents_new', 0)} nhân khẩu mới",
        ]
    parts.append(f"{counts.get('rows_refused', 0)} dòng bị từ chối")
    return ("Đã đưa vào: " if done else "Xem trước: ") + ", ".join(parts) + "."


@import_group.command("households")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--commune", "commune_code", help="Mã xã (khi máy chủ có nhiều xã).")
@click.option("--village", "village_name", help="Thôn của các hộ khi tệp không có cột Thôn.")
@click.option("--dry-run", is_flag=True, help="Chỉ xem trước, không ghi gì.")
@click.option("--create-villages", is_flag=True, help="Tạo các thôn tệp có mà xã chưa có.")
@click.option("--skip-refused", is_flag=True, help="Đưa vào các dòng hợp lệ, bỏ dòng bị từ chối.")
@click.pass_context
def import_households(
    ctx, file, commune_code, village_name, dry_run, create_villages, skip_refused
):
    """Households and residents (one row per household, or per person). Exit code 0 when the
    file imports (or would import) cleanly, 1 when rows are refused."""
    ctx.exit(
        _run_import(
            "households",
            file,
            commune_code=commune_code,
            village_name=village_name,
            dry_run=dry_run,
            create_villages=create_villages,
            skip_refused=skip_refused,
        )
    )


@import_group.command("team")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--commune", "commune_code", help="Mã xã (khi máy chủ có nhiều xã).")
@click.option("--village", "village_name", help="Thôn của mọi người khi tệp không có cột Thôn.")
@click.option("--dry-run", is_flag=True, help="Chỉ xem trước, không ghi gì.")
@click.option("--skip-refused", is_flag=True, help="Đưa vào các dòng hợp lệ, bỏ dòng bị từ chối.")
@click.option("--links", is_flag=True, help="In liên kết mời (24 giờ) cho người mới.")
@click.pass_context
def import_team(ctx, file, commune_code, village_name, dry_run, skip_refused, links):
    """The team roster (name, phone, role, village), matched by phone. Exit codes as for
    households."""
    ctx.exit(
        _run_import(
            "team",
            file,
            commune_code=commune_code,
            village_name=village_name,
            dry_run=dry_run,
            skip_refused=skip_refused,
            links=links,
        )
    )
