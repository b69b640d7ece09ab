"""The service catalogue: what volunteers help residents with (DESIGN.md §2).

The starting set below is installed as rows by `fieldkit init`; from then on the catalogue is
data that commune staff edit, and code never relies on more than the codes of the VNeID ladder.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from fieldkit.models import Service

# code, full name, short name (for chips), official site
STARTING_SET: list[tuple[str, str, str, str | None]] = [
    ("vneid_level1", "Cài VNeID, đăng ký mức 1", "VNeID mức 1", "https://vneid.gov.vn"),
    ("vneid_activate", "Kích hoạt tài khoản VNeID", "Kích hoạt VNeID", "https://vneid.gov.vn"),
    ("vneid_level2", "Chuyển công an làm mức 2", "VNeID mức 2", "https://vneid.gov.vn"),
    ("vneid_recovery", "Lấy lại mật khẩu, đổi thiết bị", "Khôi phục VNeID", None),
    ("health_book", "Sổ sức khỏe điện tử", "Sổ sức khỏe", None),
    ("dvcqg_login", "Đăng nhập Cổng DVCQG", "Cổng DVCQG", "https://dichvucong.gov.vn"),
    ("online_procedure", "Nộp hồ sơ DVC trực tuyến", "Nộp hồ sơ", "https://dichvucong.gov.vn"),
    ("online_payment", "Thanh toán phí, lệ phí trực tuyến", "Thanh toán phí", None),
    (
        "payment_account",
        "Mở tài khoản ngân hàng, ví điện tử, mã QR nhận tiền",
        "Tài khoản thanh toán",
        None,
    ),
    ("vssid", "VssID", "VssID", "https://vssid.baohiemxahoi.gov.vn"),
    ("etax", "eTax Mobile", "eTax", "https://thuedientu.gdt.gov.vn"),
    ("province_app", "Ứng dụng công dân số của tỉnh", "App tỉnh", None),
    ("ecommerce", "Đưa nông sản, OCOP lên sàn TMĐT", "Sàn TMĐT", None),
    ("digital_signature", "Chữ ký số cá nhân", "Chữ ký số", None),
    (
        "digital_literacy",
        "Bình dân học vụ số",
        "Bình dân học vụ số",
        "https://binhdanhocvuso.gov.vn",
    ),
    ("online_safety", "An toàn số, phòng chống lừa đảo", "An toàn số", None),
    ("zalo_group", "Nhóm Zalo thôn", "Zalo thôn", None),
    ("other", "Khác", "Khác", None),
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
