"""Guide cards (issue 6 §5): for each service of the catalogue, a short step-by-step guide in
plain Vietnamese, shown large on the volunteer's phone to the resident, kept on the phone for
the day, with a QR code to the official site where there is one.

The starting text lives here; a commune's staff may reword any card (a `Guide` row for that
commune and service). Reset removes the commune's wording and the starting text shows again.
Steps are short sentences, one per line; a card holds at most MAX_STEPS of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import Session, select

from fieldkit import audit, catalogue, forms, policy
from fieldkit.errors import Invalid, NotFound
from fieldkit.models import Guide, Member, Service

MAX_STEPS = 12
MAX_STEP_LENGTH = 240
MAX_TITLE_LENGTH = 120

# Starting text: code → (title, steps). Written for a resident who has never done it, read
# aloud by a volunteer; no jargon, one action per step.
DEFAULTS: dict[str, tuple[str, list[str]]] = {
    "vneid_level1": (
        "Cài VNeID và đăng ký tài khoản mức 1",
        [
            "Mở CH Play (Android) hoặc App Store (iPhone), tìm “VNeID” của Bộ Công an và cài đặt.",
            "Mở VNeID, chọn “Đăng ký tài khoản định danh điện tử”.",
            "Nhập số định danh cá nhân (số căn cước) và số điện thoại đang dùng, chính chủ.",
            "Chụp mặt trước và mặt sau thẻ căn cước, rồi quay khuôn mặt"
            " theo hướng dẫn trên màn hình.",
            "Nhập mã OTP gửi về điện thoại. Người dân tự nhập — không đọc mã cho người khác.",
            "Chờ tin nhắn báo đã có tài khoản mức 1.",
        ],
    ),
    "vneid_activate": (
        "Kích hoạt tài khoản VNeID",
        [
            "Mở VNeID, chọn “Kích hoạt tài khoản định danh điện tử”.",
            "Nhập số định danh cá nhân và số điện thoại đã đăng ký.",
            "Nhập mã kích hoạt gửi về điện thoại.",
            "Người dân tự đặt mật khẩu và mã bảo vệ (passcode), tự ghi nhớ, không cho ai biết.",
            "Đăng nhập lại để kiểm tra tài khoản đã dùng được.",
        ],
    ),
    "vneid_level2": (
        "Làm tài khoản VNeID mức 2",
        [
            "Mang thẻ căn cước gắn chip đến công an xã (hoặc nơi công an hẹn).",
            "Mang theo điện thoại có số thuê bao chính chủ.",
            "Công an chụp ảnh chân dung, lấy vân tay và kích hoạt mức 2.",
            "Về nhà mở VNeID, đăng nhập, kiểm tra đã hiện “Mức 2”.",
        ],
    ),
    "vneid_recovery": (
        "Lấy lại mật khẩu VNeID, đổi thiết bị",
        [
            "Mở VNeID, chọn “Quên mật khẩu”.",
            "Nhập số định danh cá nhân và số điện thoại đã đăng ký.",
            "Xác thực khuôn mặt theo hướng dẫn trên màn hình.",
            "Nhập mã OTP gửi về điện thoại rồi người dân tự đặt mật khẩu mới.",
            "Đổi sang điện thoại mới: đăng nhập trên máy mới và xác nhận bằng OTP.",
        ],
    ),
    "health_book": (
        "Sổ sức khỏe điện tử trên VNeID",
        [
            "Mở VNeID và đăng nhập tài khoản mức 2.",
            "Chọn “Ví giấy tờ”, rồi “Sổ sức khỏe điện tử”.",
            "Kiểm tra thông tin khám chữa bệnh, tiêm chủng đã hiện đúng.",
            "Thông tin sai: báo trạm y tế xã để được sửa.",
        ],
    ),
    "dvcqg_login": (
        "Đăng nhập Cổng Dịch vụ công quốc gia",
        [
            "Mở trình duyệt, vào dichvucong.gov.vn (hoặc quét mã QR bên dưới).",
            "Chọn “Đăng nhập”, rồi “Tài khoản định danh điện tử (VNeID)”.",
            "Mở VNeID trên điện thoại, quét mã QR trên màn hình hoặc nhập tài khoản.",
            "Xác nhận đăng nhập trên VNeID. Trang Dịch vụ công hiện tên người dân là xong.",
        ],
    ),
    "online_procedure": (
        "Nộp hồ sơ dịch vụ công trực tuyến",
        [
            "Đăng nhập Cổng Dịch vụ công quốc gia bằng VNeID.",
            "Gõ tên thủ tục cần làm vào ô tìm kiếm (ví dụ: đăng ký khai sinh).",
            "Chọn đúng cơ quan giải quyết (xã hoặc tỉnh), bấm “Nộp trực tuyến”.",
            "Điền thông tin, tải ảnh giấy tờ theo yêu cầu, kiểm tra lại rồi bấm “Nộp hồ sơ”.",
            "Ghi lại mã hồ sơ để theo dõi; kết quả báo qua tin nhắn hoặc thư điện tử.",
        ],
    ),
    "online_payment": (
        "Thanh toán phí, lệ phí trực tuyến",
        [
            "Khi nộp hồ sơ, chọn “Thanh toán trực tuyến”.",
            "Chọn ngân hàng hoặc ví điện tử của người dân.",
            "Kiểm tra đúng số tiền, đúng cơ quan nhận.",
            "Người dân tự nhập mã OTP hoặc xác thực trên ứng dụng ngân hàng.",
            "Lưu biên lai điện tử.",
        ],
    ),
    "payment_account": (
        "Mở tài khoản ngân hàng, ví điện tử, mã QR nhận tiền",
        [
            "Cài ứng dụng chính thức của ngân hàng hoặc ví điện tử người dân chọn.",
            "Chọn “Mở tài khoản”, chụp thẻ căn cước và quay khuôn mặt.",
            "Người dân tự đặt mật khẩu, không nhờ ai đặt hộ, không cho ai biết.",
            "Vào mục “Mã QR” để lấy mã nhận tiền; có thể in ra dán ở quầy hàng.",
            "Nhớ: ngân hàng không bao giờ gọi điện xin mật khẩu hay mã OTP.",
        ],
    ),
    "vssid": (
        "Cài VssID – Bảo hiểm xã hội số",
        [
            "Cài ứng dụng “VssID” của Bảo hiểm xã hội Việt Nam.",
            "Chọn “Đăng nhập bằng tài khoản định danh điện tử” (VNeID).",
            "Xác nhận trên VNeID.",
            "Xem thẻ bảo hiểm y tế, quá trình đóng bảo hiểm ngay trên điện thoại.",
        ],
    ),
    "etax": (
        "Cài eTax Mobile – nộp thuế trên điện thoại",
        [
            "Cài ứng dụng “eTax Mobile” của Tổng cục Thuế.",
            "Đăng nhập bằng mã số thuế cá nhân (số định danh) hoặc bằng VNeID.",
            "Tra cứu khoản thuế, phí phải nộp (ví dụ thuế đất).",
            "Chọn ngân hàng để nộp; lưu chứng từ điện tử.",
        ],
    ),
    "province_app": (
        "Ứng dụng công dân số của tỉnh",
        [
            "Cài ứng dụng công dân số của tỉnh (hỏi cán bộ xã tên ứng dụng).",
            "Đăng nhập bằng tài khoản VNeID.",
            "Dùng để phản ánh kiến nghị, xem tin của xã, tra cứu hồ sơ.",
        ],
    ),
    "ecommerce": (
        "Đưa nông sản, sản phẩm OCOP lên sàn thương mại điện tử",
        [
            "Chụp ảnh sản phẩm rõ, đủ sáng; ghi giá, khối lượng, cách bảo quản.",
            "Chọn sàn phù hợp (Postmart, Voso, Shopee, TikTok Shop…) và đăng ký gian hàng.",
            "Nhập thông tin người bán, tài khoản ngân hàng nhận tiền.",
            "Đăng sản phẩm, hẹn cách giao hàng với bưu điện hoặc đơn vị vận chuyển.",
        ],
    ),
    "digital_signature": (
        "Chữ ký số cá nhân",
        [
            "Chọn nhà cung cấp chữ ký số được Bộ quản lý cấp phép.",
            "Đăng ký trên ứng dụng của nhà cung cấp, xác thực bằng căn cước và khuôn mặt.",
            "Người dân tự đặt mã PIN ký số, không cho ai biết.",
            "Dùng chữ ký số khi nộp hồ sơ trực tuyến có yêu cầu ký.",
        ],
    ),
    "digital_literacy": (
        "Học “Bình dân học vụ số”",
        [
            "Vào binhdanhocvuso.gov.vn (hoặc quét mã QR bên dưới).",
            "Đăng nhập bằng tài khoản VNeID.",
            "Chọn khóa học kỹ năng số cơ bản, học từng bài, làm bài kiểm tra ngắn.",
            "Học xong được cấp chứng nhận trên hệ thống.",
        ],
    ),
    "online_safety": (
        "An toàn trên mạng, phòng chống lừa đảo",
        [
            "Không bao giờ đọc mã OTP, mật khẩu cho bất kỳ ai,"
            " kể cả người xưng là công an, ngân hàng.",
            "Không bấm vào đường link lạ gửi qua tin nhắn, Zalo, Facebook.",
            "Chỉ cài ứng dụng từ CH Play hoặc App Store.",
            "Bị nghi lừa đảo: gọi ngay ngân hàng để khóa tài khoản và báo công an xã.",
        ],
    ),
    "zalo_group": (
        "Tham gia nhóm Zalo của thôn",
        [
            "Cài Zalo và đăng ký bằng số điện thoại của người dân.",
            "Quét mã QR nhóm Zalo thôn do tổ trưởng gửi.",
            "Bật thông báo để nhận tin của thôn, của xã.",
        ],
    ),
    "other": (
        "Hỗ trợ khác",
        [
            "Hỏi rõ người dân cần làm gì.",
            "Làm cùng người dân từng bước; người dân tự nhập mật khẩu, mã OTP.",
            "Việc chưa làm được: ghi lý do và hẹn ngày quay lại.",
        ],
    ),
}


@dataclass(frozen=True)
class Card:
    """What a guide card shows. `edited`: the commune reworded it."""

    service_code: str
    service_name: str
    title: str
    steps: list[str]
    official_url: str | None
    edited: bool


def _default(service: Service) -> tuple[str, list[str]]:
    return DEFAULTS.get(service.code, (service.name, DEFAULTS["other"][1]))


def _card(service: Service, guide: Guide | None) -> Card:
    if guide is None:
        title, steps = _default(service)
        return Card(service.code, service.name, title, list(steps), service.official_url, False)
    return Card(
        service.code, service.name, guide.title, split_steps(guide.steps), guide.official_url, True
    )


_CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def split_steps(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def cards(session: Session, *, commune_id: int) -> list[Card]:
    """A card for every active service of the catalogue, in catalogue order."""
    guides = {
        g.service_code: g
        for g in session.exec(select(Guide).where(Guide.commune_id == commune_id)).all()
    }
    return [
        _card(service, guides.get(service.code)) for service in catalogue.active_services(session)
    ]


def card(session: Session, *, commune_id: int, service_code: str) -> Card:
    # A code comes from a URL: anything but a catalogue-like code (PostgreSQL refuses NUL
    # even in a lookup) is simply no guide.
    if not _CODE.fullmatch(service_code or ""):
        raise NotFound("Không có hướng dẫn cho dịch vụ này.")
    service = session.get(Service, service_code)
    if service is None or not service.active:
        raise NotFound("Không có hướng dẫn cho dịch vụ này.")
    guide = session.exec(
        select(Guide).where(Guide.commune_id == commune_id, Guide.service_code == service_code)
    ).first()
    return _card(service, guide)


def _check_url(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or len(url) > 300:
        raise Invalid(
            {
                "official_url": "Địa chỉ trang chính thức phải bắt đầu bằng https:// "
                "(tối đa 300 ký tự), hoặc để trống."
            }
        )
    return url


def save(
    session: Session,
    *,
    member: Member,
    service_code: str,
    title: str,
    steps: str,
    official_url: str,
    now: datetime,
) -> Card:
    """Reword one card for the member's commune. All-or-nothing: Invalid (a message per
    field) changes nothing. Audited. Caller commits."""
    policy.require_can_edit_guides(member)
    assert member.commune_id is not None  # commune staff: province staff have none
    current = card(session, commune_id=member.commune_id, service_code=service_code)
    errors: dict[str, str] = {}
    typed = {}
    for field, value, label in (
        ("title", title, "tiêu đề"),
        ("steps", steps, "các bước"),
        ("official_url", official_url, "địa chỉ trang chính thức"),
    ):
        try:  # the text rule first (fieldkit.text.clean): no control characters, NFC
            typed[field] = forms.checked_text(value, field=field, label=label)
        except Invalid as invalid:
            errors.update(invalid.errors)
            typed[field] = ""
    title = typed["title"].strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        errors.setdefault("title", f"Nhập tiêu đề (tối đa {MAX_TITLE_LENGTH} ký tự).")
    lines = split_steps(typed["steps"])
    if not lines:
        errors.setdefault("steps", "Nhập ít nhất một bước, mỗi bước một dòng.")
    elif len(lines) > MAX_STEPS:
        errors.setdefault("steps", f"Tối đa {MAX_STEPS} bước; hãy gộp hoặc rút gọn.")
    elif any(len(line) > MAX_STEP_LENGTH for line in lines):
        errors.setdefault("steps", f"Mỗi bước tối đa {MAX_STEP_LENGTH} ký tự.")
    try:
        url = _check_url(typed["official_url"])
    except Invalid as invalid:
        errors.setdefault("official_url", invalid.errors["official_url"])
        url = None
    if errors:
        raise Invalid(errors)
    guide = session.exec(
        select(Guide).where(
            Guide.commune_id == member.commune_id, Guide.service_code == service_code
        )
    ).first()
    if guide is None:
        guide = Guide(
            commune_id=member.commune_id, service_code=service_code, title=title, steps=""
        )
    guide.title, guide.steps, guide.official_url = title, "\n".join(lines), url
    guide.updated_by_id, guide.updated_at = member.id, now
    session.add(guide)
    audit.record(
        session,
        action="guide_changed",
        actor=member,
        now=now,
        target_kind="service",
        details={"service": service_code, "was_edited": current.edited},
    )
    session.flush()
    return card(session, commune_id=member.commune_id, service_code=service_code)


def reset(session: Session, *, member: Member, service_code: str, now: datetime) -> Card:
    """Back to the starting text for the member's commune. Audited. Caller commits."""
    policy.require_can_edit_guides(member)
    assert member.commune_id is not None  # commune staff: province staff have none
    card(session, commune_id=member.commune_id, service_code=service_code)  # NotFound
    guide = session.exec(
        select(Guide).where(
            Guide.commune_id == member.commune_id, Guide.service_code == service_code
        )
    ).first()
    if guide is not None:
        session.delete(guide)
        audit.record(
            session,
            action="guide_changed",
            actor=member,
            now=now,
            target_kind="service",
            details={"service": service_code, "reset": True},
        )
        session.flush()
    return card(session, commune_id=member.commune_id, service_code=service_code)
