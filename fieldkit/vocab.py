"""Vietnamese labels for the domain's closed vocabularies, in the order forms show them."""

from __future__ import annotations

from fieldkit.models import Device, Outcome, Reason, Result, ReviewState, Role, Sex

ROLES = {
    Role.volunteer: "Thành viên Tổ CNSCĐ",
    Role.leader: "Tổ trưởng",
    Role.staff: "Công chức xã",
    Role.admin: "Quản trị",
    Role.province: "Cán bộ tỉnh",
    Role.province_admin: "Quản trị tỉnh",
}

OUTCOMES = {
    Outcome.met: "Gặp",
    Outcome.not_home: "Vắng nhà",
    Outcome.declined: "Từ chối",
    Outcome.moved: "Chuyển đi",
}

RESULTS = {
    Result.done: "Xong",
    Result.partial: "Được một phần",
    Result.failed: "Chưa được",
    Result.referred: "Chuyển tiếp",
}

REASONS = {
    Reason.no_smartphone: "Không có điện thoại thông minh",
    Reason.no_signal: "Không có sóng / mạng",
    Reason.forgot_password: "Quên mật khẩu",
    Reason.needs_police: "Cần công an xác thực",
    Reason.no_chip_id: "Chưa có CCCD gắn chip",
    Reason.no_sim: "SIM không chính chủ",
    Reason.system_error: "Lỗi hệ thống",
    Reason.not_interested: "Người dân chưa muốn",
    Reason.other: "Lý do khác",
}

DEVICES = {
    Device.own: "Máy của người dân",
    Device.family: "Máy người nhà",
    Device.volunteer: "Máy tình nguyện viên",
}

SEXES = {Sex.male: "Nam", Sex.female: "Nữ"}

REVIEW_STATES = {
    ReviewState.pending: "Chờ duyệt",
    ReviewState.approved: "Đã duyệt",
    ReviewState.returned: "Bị trả lại",
    ReviewState.rejected: "Bị từ chối",
}

RELATIONS = [
    "Chủ hộ",
    "Vợ",
    "Chồng",
    "Con",
    "Bố",
    "Mẹ",
    "Cháu",
    "Ông",
    "Bà",
    "Anh",
    "Chị",
    "Em",
    "Con dâu",
    "Con rể",
    "Khác",
]


def reasons_of(values) -> list:
    """(label, count) of the failure reasons an indicators row holds (fieldkit.indicators'
    VillageIndicators), in the order the forms list the reasons."""
    return [
        (label, values.failure_reasons[reason])
        for reason, label in REASONS.items()
        if reason in values.failure_reasons
    ]
