"""Vietnamese labels for the domain's closed vocabularies, in the order forms show them."""

from __future__ import annotations

from fieldkit.i18n import _
from fieldkit.models import Device, Outcome, Reason, Result, ReviewState, Role, Sex

ROLES = {
    Role.volunteer: _("Thành viên Tổ CNSCĐ"),
    Role.leader: _("Tổ trưởng"),
    Role.staff: _("Công chức xã"),
    Role.admin: _("Quản trị"),
    Role.province: _("Cán bộ tỉnh"),
    Role.province_admin: _("Quản trị tỉnh"),
}

OUTCOMES = {
    Outcome.met: _("Gặp"),
    Outcome.not_home: _("Vắng nhà"),
    Outcome.declined: _("Từ chối"),
    Outcome.moved: _("Chuyển đi"),
}

RESULTS = {
    Result.done: _("Xong"),
    Result.partial: _("Được một phần"),
    Result.failed: _("Chưa được"),
    Result.referred: _("Chuyển tiếp"),
}

REASONS = {
    Reason.no_smartphone: _("Không có điện thoại thông minh"),
    Reason.no_signal: _("Không có sóng / mạng"),
    Reason.forgot_password: _("Quên mật khẩu"),
    Reason.needs_police: _("Cần công an xác thực"),
    Reason.no_chip_id: _("Chưa có CCCD gắn chip"),
    Reason.no_sim: _("SIM không chính chủ"),
    Reason.system_error: _("Lỗi hệ thống"),
    Reason.not_interested: _("Người dân chưa muốn"),
    Reason.other: _("Lý do khác"),
}

DEVICES = {
    Device.own: _("Máy của người dân"),
    Device.family: _("Máy người nhà"),
    Device.volunteer: _("Máy tình nguyện viên"),
}

SEXES = {Sex.male: _("Nam"), Sex.female: _("Nữ")}

REVIEW_STATES = {
    ReviewState.pending: _("Chờ duyệt"),
    ReviewState.approved: _("Đã duyệt"),
    ReviewState.returned: _("Bị trả lại"),
    ReviewState.rejected: _("Bị từ chối"),
}

RELATIONS = [
    _("Chủ hộ"),
    _("Vợ"),
    _("Chồng"),
    _("Con"),
    _("Bố"),
    _("Mẹ"),
    _("Cháu"),
    _("Ông"),
    _("Bà"),
    _("Anh"),
    _("Chị"),
    _("Em"),
    _("Con dâu"),
    _("Con rể"),
    _("Khác"),
]


def reasons_of(values) -> list:
    """(label, count) of the failure reasons an indicators row holds (fieldkit.reporting.indicators'
    VillageIndicators), in the order the forms list the reasons."""
    return [
        (label, values.failure_reasons[reason])
        for reason, label in REASONS.items()
        if reason in values.failure_reasons
    ]
