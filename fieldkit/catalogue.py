"""The service catalogue: what volunteers help residents with (DESIGN.md §2).

The starting set below is installed as rows by `fieldkit init`; from then on the catalogue is
data that commune staff edit, and code never relies on more than the codes of the VNeID ladder.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from fieldkit.i18n import _
from fieldkit.models import Service

# code, full name, short name (for chips), official site
STARTING_SET: list[tuple[str, str, str, str | None]] = [
    ("vneid_level1", _("Cài VNeID, đăng ký mức 1"), _("VNeID mức 1"), "https://vneid.gov.vn"),
    (
        "vneid_activate",
        _("Kích hoạt tài khoản VNeID"),
        _("Kích hoạt VNeID"),
        "https://vneid.gov.vn",
    ),
    ("vneid_level2", _("Chuyển công an làm mức 2"), _("VNeID mức 2"), "https://vneid.gov.vn"),
    ("vneid_recovery", _("Lấy lại mật khẩu, đổi thiết bị"), _("Khôi phục VNeID"), None),
    ("health_book", _("Sổ sức khỏe điện tử"), _("Sổ sức khỏe"), None),
    ("dvcqg_login", _("Đăng nhập Cổng DVCQG"), _("Cổng DVCQG"), "https://dichvucong.gov.vn"),
    (
        "online_procedure",
        _("Nộp hồ sơ DVC trực tuyến"),
        _("Nộp hồ sơ"),
        "https://dichvucong.gov.vn",
    ),
    ("online_payment", _("Thanh toán phí, lệ phí trực tuyến"), _("Thanh toán phí"), None),
    (
        "payment_account",
        _("Mở tài khoản ngân hàng, ví điện tử, mã QR nhận tiền"),
        _("Tài khoản thanh toán"),
        None,
    ),
    ("vssid", "VssID", "VssID", "https://vssid.baohiemxahoi.gov.vn"),
    ("etax", "eTax Mobile", "eTax", "https://thuedientu.gdt.gov.vn"),
    ("province_app", _("Ứng dụng công dân số của tỉnh"), _("App tỉnh"), None),
    ("ecommerce", _("Đưa nông sản, OCOP lên sàn TMĐT"), _("Sàn TMĐT"), None),
    ("digital_signature", _("Chữ ký số cá nhân"), _("Chữ ký số"), None),
    (
        "digital_literacy",
        _("Bình dân học vụ số"),
        _("Bình dân học vụ số"),
        "https://binhdanhocvuso.gov.vn",
    ),
    ("online_safety", _("An toàn số, phòng chống lừa đảo"), _("An toàn số"), None),
    ("zalo_group", _("Nhóm Zalo thôn"), _("Zalo thôn"), None),
    ("other", _("Khác"), _("Khác"), None),
]


def install_starting_set(session: Session) -> int:
    """Add the starting services that are missing; never overwrite staff edits.
    Idempotent. Returns how many were added. Caller commits."""
    known = set(session.exec(select(Service.code)).all())
    added = 0
    for order, (code, name, short_name, url) in enumerate(STARTING_SET):
        if code in known:
            continue
        session.add(
            Service(
                code=code, name=name, short_name=short_name, sort_order=order * 10, official_url=url
            )
        )
        added += 1
    return added


def active_services(session: Session) -> list[Service]:
    return list(
        session.exec(
            select(Service)
            .where(Service.active)
            .order_by(col(Service.sort_order), col(Service.code))
        ).all()
    )
