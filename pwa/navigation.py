"""The signed-in member's ways around the app: the five tabs of the phone's tab bar and the
"Thêm" list of everything else their role may open. Used by base.html (tabs) and the menu
blueprint (entries); kept here so no blueprint needs another."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request, url_for
from flask_babel import gettext as _

from fieldkit import policy, review
from fieldkit.models import Member
from pwa import db


def returned_count() -> int:
    """How many of the member's records were sent back ("Bị trả lại"); 0 off the field.
    Counted once per request: every page's tab bar shows it, and the offline pack renders a
    village's pages in one request."""
    member = g.get("member")
    if member is None or not policy.is_field_member(member):
        return 0
    if "returned_count" not in g:
        g.returned_count = review.returned_count(db.session(), member)
    return g.returned_count


@dataclass(frozen=True)
class Entry:
    label: str
    hint: str
    url: str


def entries(member: Member) -> list[Entry]:
    """The places a member may go that the tab bar does not show, most used first. Each is
    listed by the policy rule that opens it, then the tabs' places are left out."""
    if policy.is_province_wide(member):
        items = [
            Entry(_("Toàn tỉnh"), _("Các xã cạnh nhau, số liệu tuần"), url_for("province.index")),
            Entry(
                _("Chỉ tiêu của tỉnh"),
                _("Chỉ tiêu giao cho từng xã"),
                url_for("province.targets_index"),
            ),
        ]
        if policy.can_manage_province_members(member):
            items.append(
                Entry(
                    _("Cán bộ tỉnh"), _("Mời, cho thôi tham gia"), url_for("province.members_index")
                )
            )
        items.append(
            Entry(_("Tài khoản"), _("Khóa truy cập, thông báo, ngôn ngữ"), url_for("account.index"))
        )
        in_tabs = {tab.url for tab in _tabs(member, returned=0)}
        return [item for item in items if item.url not in in_tabs]
    commune = policy.is_commune_wide(member)
    items = []
    if policy.is_field_member(member):
        items.append(
            Entry(_("Bị trả lại"), _("Hồ sơ xã trả lại để sửa"), url_for("review.returned"))
        )
        items.append(
            Entry(
                _("Hộp thư đi"),
                _("Những gì đang chờ gửi, cần xử lý"),
                url_for("offline.outbox_page"),
            )
        )
    if policy.can_manage_members(member):
        items.append(
            Entry(_("Thành viên"), _("Mời, cấp mã, cho thôi tham gia"), url_for("members.index"))
        )
    items.append(
        Entry(
            _("Hướng dẫn dịch vụ"),
            _("Thẻ hướng dẫn từng bước cho người dân"),
            url_for("guides.index"),
        )
    )
    if policy.can_assign(member):
        items.append(
            Entry(_("Phân công hộ"), _("Giao hộ cho thành viên"), url_for("assignments.index"))
        )
    items.append(
        Entry(
            _("Việc cần quay lại"), _("Hẹn quay lại, chờ công an mức 2"), url_for("followups.index")
        )
    )
    items.append(Entry(_("Chỉ tiêu"), _("Chỉ tiêu theo thôn và cả xã"), url_for("targets.index")))
    if member.village_id is not None and policy.can_print_stickers(member):
        items.append(
            Entry(
                _("In mã dán cửa"),
                _("Nhãn QR dán cửa cho các hộ của thôn"),
                url_for("stickers.village_sheet", village_id=member.village_id),
            )
        )
    if policy.can_import(member):
        items.append(
            Entry(
                _("Đưa dữ liệu vào"),
                _("Danh sách hộ, nhân khẩu, danh sách tổ từ Excel"),
                url_for("imports.index"),
            )
        )
    if commune:
        items.append(Entry(_("Nhật ký"), _("Ai đã làm gì, khi nào"), url_for("audit.index")))
        items.append(
            Entry(_("Dữ liệu cá nhân"), _("Thời hạn lưu giữ"), url_for("privacy.settings"))
        )
    items.append(
        Entry(_("Tài khoản"), _("Khóa truy cập, thông báo, ngôn ngữ"), url_for("account.index"))
    )
    in_tabs = {tab.url for tab in _tabs(member, returned=0)}
    return [item for item in items if item.url not in in_tabs]


@dataclass(frozen=True)
class Tab:
    label: str
    url: str
    blueprints: tuple[str, ...]
    active: bool = False
    badge: int = 0
    badge_label: str = ""
    # Pages that make this tab current when its blueprint is shared with other tabs.
    endpoints: tuple[str, ...] = ()


def _tabs(member: Member, returned: int) -> list[Tab]:
    """People in the field: their households, follow-ups and village first, then the
    assignments if they give households out (leaders), else the guide cards. Commune staff:
    the overview, the review inbox, household look-up and the team."""
    if policy.is_field_member(member):
        households = Tab(
            _("Hộ dân"),
            url_for("households.index"),
            ("households", "visits"),
            badge=returned,
            badge_label=_("%(returned)s hồ sơ bị trả lại", returned=returned),
        )
        followups = Tab(_("Lịch hẹn"), url_for("followups.index"), ("followups",))
        village = Tab(_("Thôn"), url_for("villages.index"), ("villages",))
        if policy.can_assign(member):
            assignments = Tab(_("Phân công"), url_for("assignments.index"), ("assignments",))
            tabs = [households, followups, village, assignments]
        else:
            guides = Tab(_("Hướng dẫn"), url_for("guides.index"), ("guides",))
            tabs = [households, followups, guides, village]
    elif policy.is_province_wide(member):
        tabs = [
            Tab(
                _("Toàn tỉnh"),
                url_for("province.index"),
                (),
                endpoints=("province.index", "province.week", "province.commune"),
            ),
            Tab(
                _("Chỉ tiêu"),
                url_for("province.targets_index"),
                (),
                endpoints=("province.targets_index", "province.targets_save"),
            ),
        ]
        if policy.can_manage_province_members(member):
            tabs.append(
                Tab(
                    _("Cán bộ"),
                    url_for("province.members_index"),
                    (),
                    endpoints=(
                        "province.members_index",
                        "province.members_add",
                        "province.members_invite",
                        "province.members_deactivate",
                    ),
                )
            )
        tabs.append(Tab(_("Tài khoản"), url_for("account.index"), ("account",)))
    else:
        tabs = [
            Tab(_("Tổng quan"), url_for("villages.index"), ("villages",)),
            Tab(_("Duyệt"), url_for("review.index"), ("review",)),
            Tab(_("Tra cứu hộ"), url_for("households.index"), ("households", "visits")),
            Tab(_("Thành viên"), url_for("members.index"), ("members",)),
        ]
    return tabs + [Tab(_("Thêm"), url_for("menu.index"), ())]


def tabs() -> list[Tab]:
    """The tab bar of the signed-in member, the current one marked; "Thêm" is current for
    every page no other tab names."""
    member = g.member
    items = _tabs(member, returned_count())
    current = next(
        (
            tab
            for tab in items
            if request.endpoint in tab.endpoints or request.blueprint in tab.blueprints
        ),
        items[-1],
    )
    return [
        Tab(
            tab.label,
            tab.url,
            tab.blueprints,
            tab is current,
            tab.badge,
            tab.badge_label,
            tab.endpoints,
        )
        for tab in items
    ]
