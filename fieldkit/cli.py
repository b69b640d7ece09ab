"""The `fieldkit` console command: set up communes (one by one or a whole province), their
villages and members, province staff, sign-in links, the demo commune or province. Each
command owns its transaction.

One server may serve many communes (a province's, issue 14): every command that acts on one
commune takes `--commune CODE` through `commune_option` / `the_commune` below, and needs it
only when the database holds more than one commune."""

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


COMMUNE_HELP = "Mã xã (5 chữ số) mà lệnh làm việc với; không cần khi máy chủ chỉ có một xã."


def commune_option(command):
    """`--commune CODE` for a command that acts on one commune; resolve it with the_commune()."""
    return click.option("--commune", "commune_code", metavar="MÃ_XÃ", help=COMMUNE_HELP)(command)


def the_commune(session: Session, code: str | None) -> Commune:
    """The commune a console command acts on: the one with official code `code`, or — when no
    code is given — the only commune there is. A clear Vietnamese message otherwise."""
    if code is not None and code.strip():
        code = code.strip()
        commune = session.exec(select(Commune).where(Commune.code == code)).first()
        if commune is None:
            raise click.ClickException(
                f"Máy chủ chưa có xã mã {code}. Tạo xã trước: fieldkit init {code}"
            )
        return commune
    found = session.exec(select(Commune).order_by(Commune.code).limit(4)).all()
    if not found:
        raise click.ClickException("Chưa có xã nào. Chạy trước: fieldkit init <mã xã>")
    if len(found) > 1:
        total = session.exec(select(func.count()).select_from(Commune)).one()
        examples = ", ".join(f"{c.code} ({c.name})" for c in found[:3])
        raise click.ClickException(
            f"Máy chủ có {total} xã; chọn xã bằng --commune MÃ_XÃ, ví dụ {examples}."
        )
    return found[0]


@click.group()
def main() -> None:
    """Fieldkit: ứng dụng hiện trường của Tổ công nghệ số cộng đồng."""
    if isinstance(sys.stdout, io.TextIOWrapper):  # not when a test runner captures output
        sys.stdout.reconfigure(encoding="utf-8")


@main.command("migrate")
def migrate_command() -> None:
    """Create or update the database schema."""
    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    click.echo("Cơ sở dữ liệu đã cập nhật.")


@main.command()
@click.argument("codes", nargs=-1, metavar="[MÃ_XÃ]...")
@click.option(
    "--province",
    "province_code",
    metavar="MÃ_TỈNH",
    help="Tạo mọi xã của tỉnh này (mã 2 chữ số, danh mục sau 01/7/2025).",
)
def init(codes: tuple[str, ...], province_code: str | None) -> None:
    """Create communes from their official 5-digit codes (danh mục sau 01/7/2025), or every
    commune of a province with --province. Idempotent: a commune already there is kept."""
    if not codes and not province_code:
        raise click.UsageError("Cho biết mã xã (fieldkit init 15349) hoặc --province MÃ_TỈNH.")
    with _session() as session:
        if province_code:
            made = communes.init_province(session, province_code)
            new = sum(created for _, created in made)
            province = made[0][0].province_name if made else province_code
            click.echo(
                f"{province}: {len(made)} xã, phường — đã tạo {new}, đã có {len(made) - new}."
            )
        for code in codes:
            commune, created = communes.init_commune(session, code)
            word = "Đã tạo" if created else "Đã có"
            click.echo(f"{word}: {commune.name}, {commune.province_name} (mã {commune.code}).")


@main.group()
def village() -> None:
    """Villages (thôn, tổ dân phố) of the commune."""


@village.command("add")
@click.argument("name")
@commune_option
def village_add(name: str, commune_code: str | None) -> None:
    with _session() as session:
        commune = the_commune(session, commune_code)
        added = communes.add_village(session, commune, name)
        click.echo(f"Đã thêm {added.name} vào {commune.name} (mã {added.id}).")


@main.group()
def member() -> None:
    """People who use Fieldkit."""


@member.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="volunteer")
@click.option("--village", "village_name", help="Tên thôn (bắt buộc với thành viên, tổ trưởng)")
@click.option("--phone")
@commune_option
@click.option(
    "--province",
    "province_code",
    metavar="MÃ_TỈNH",
    help="Tỉnh của cán bộ tỉnh (vai trò province hoặc province_admin).",
)
def member_add(
    name: str,
    role: str,
    village_name: str | None,
    phone: str | None,
    commune_code: str | None,
    province_code: str | None,
) -> None:
    from fieldkit import policy
    from fieldkit.reporting import province

    with _session() as session:
        if policy.belongs_to_province(Role(role)) or province_code:
            if commune_code or village_name:
                raise click.ClickException("Cán bộ tỉnh thuộc một tỉnh, không thuộc xã hay thôn.")
            added = province.add_member(
                session, province_code=province_code, name=name, role=Role(role), phone=phone
            )
            click.echo(
                f"Đã thêm {added.name} — {ROLES[added.role]}, tỉnh {added.province_code} "
                f"(mã {added.id})."
            )
            return
        commune = the_commune(session, commune_code)
        place = None
        if village_name:
            place = session.exec(
                select(Village).where(
                    Village.commune_id == commune.id, Village.name == village_name
                )
            ).first()
            if place is None:
                raise click.ClickException(f"Không có thôn {village_name!r}.")
        assert commune.id is not None  # a stored commune
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
@click.option(
    "--commune",
    "commune_code",
    metavar="MÃ_XÃ",
    help="Xã của người được mời, khi số điện thoại có ở nhiều xã.",
)
@click.option("--province", "province_code", metavar="MÃ_TỈNH", help="Mời cán bộ của tỉnh này.")
def invite(who: str, no_qr: bool, commune_code: str | None, province_code: str | None) -> None:
    """Print a one-time sign-in link (24 h) for a member, given by id or phone, with a QR.
    The first province admin gets hers here; she invites the other province staff."""
    settings = Settings.from_env()
    with _session() as session:
        commune = the_commune(session, commune_code) if commune_code else None
        person = members.find_member(
            session,
            who,
            commune_id=commune.id if commune else None,
            province_code=province_code,
        )
        _print_link(session, settings, person, qr=not no_qr)
        click.echo("Liên kết dùng được một lần, trong 24 giờ.")


@main.command()
@click.option(
    "--households",
    type=click.IntRange(10, 2_000_000),
    help="Số hộ (mặc định 1.520 cho xã mẫu, 1.000.000 cho tỉnh mẫu; xã tối đa 200.000).",
)
@click.option("--seed", default=2025, show_default=True)
@click.option("--if-empty", is_flag=True, help="Không làm gì nếu đã có dữ liệu.")
@click.option("--links", is_flag=True, help="In liên kết đăng nhập cho người dùng mẫu.")
@click.option(
    "--province",
    "province",
    is_flag=True,
    help="Tạo tỉnh mẫu để đo ở quy mô lớn: nhiều xã của tỉnh có xã mẫu, hai năm lượt thăm.",
)
@click.option(
    "--communes",
    "communes_count",
    default=100,
    show_default=True,
    type=click.IntRange(1, 200),
    help="Số xã của tỉnh mẫu.",
)
@click.option(
    "--commune",
    "commune_code",
    metavar="MÃ_XÃ",
    help="Mã xã dựng dữ liệu mẫu (mặc định FIELDKIT_DEMO_COMMUNE, 15349); với --province: xã "
    "đầu tiên, và tỉnh của nó.",
)
def demo(
    households: int | None,
    seed: int,
    if_empty: bool,
    links: bool,
    province: bool,
    communes_count: int,
    commune_code: str | None,
) -> None:
    """Build the demo commune (modelled on xã Vĩnh Hưng, Vĩnh Lộc, Thanh Hóa), or with
    --province a demo province of many communes (meant for PostgreSQL; commits after each
    commune)."""
    from fieldkit import admin_units
    from fieldkit import demo as demo_data

    settings = Settings.from_env()
    if not province and households is not None and households > 200_000:
        raise click.BadParameter("xã mẫu tối đa 200.000 hộ.", param_hint="--households")
    with _session() as session:
        existing = session.exec(select(func.count()).select_from(Household)).one()
        if existing and if_empty:
            click.echo(f"Đã có dữ liệu ({existing} hộ); bỏ qua tạo dữ liệu mẫu.")
        elif existing:
            raise click.ClickException(
                "Cơ sở dữ liệu đã có dữ liệu; dữ liệu mẫu chỉ tạo trên CSDL trống."
            )
        elif province:
            first = (commune_code or settings.demo_commune_code).strip()
            for line in demo_data.build_province(
                session,
                province_code=admin_units.lookup_commune(first).province_code,
                communes_count=communes_count,
                households=households or 1_000_000,
                seed=seed,
                now=utcnow(),
                first_commune=first,
            ):
                session.commit()
                click.echo(line)
        else:
            summary = demo_data.build(
                session,
                commune_code=(commune_code or settings.demo_commune_code).strip(),
                households=households or 1520,
                seed=seed,
                now=utcnow(),
            )
            click.echo(summary)
        if links:
            click.echo("\nLiên kết đăng nhập (dùng một lần, trong 24 giờ):")
            people = demo_data.demo_people(session)
            if province:
                people += demo_data.province_people(session)
            for person in people:
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
        commune = the_commune(session, commune_code)
        assert commune.id is not None  # a stored commune
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
        assert batch.id is not None  # imports.start flushes the batch
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
@commune_option
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
@commune_option
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
